"""Known people's names, kept only as keyed hashes in ``private.name_hashes``, and the redactor that
uses them. Names come from the roster and from Slack ``users.json``."""

from __future__ import annotations

from collections.abc import Iterable

import duckdb

from pipeline.privacy.redact import NameIndex, Redactor


def load_name_index(con: duckdb.DuckDBPyConnection, key: bytes, extra_names: Iterable[str] = ()) -> NameIndex:
    stored = con.execute("SELECT name_hash, kind FROM private.name_hashes").fetchall()
    index = NameIndex.from_hashes(stored, key)
    extra = list(extra_names)
    if extra:
        index = index.merged(NameIndex.from_names(extra, key))
    return index


def build_redactor(con: duckdb.DuckDBPyConnection, key: bytes, extra_names: Iterable[str] = ()) -> Redactor:
    return Redactor(name_index=load_name_index(con, key, extra_names))


def remember_names(ctx, names: Iterable[str]) -> None:  # noqa: ANN001 - IngestContext (import cycle)
    """Persist keyed hashes of ``names`` and make the live redactor aware of them."""
    names = list(names)
    if not names:
        return
    index = NameIndex.from_names(names, ctx.key)
    rows = index.to_hashes()
    ctx.con.executemany("INSERT OR IGNORE INTO private.name_hashes VALUES (?, ?)", rows)
    ctx.redactor = Redactor(name_index=ctx.redactor.name_index.merged(index))
