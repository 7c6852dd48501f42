"""Known people's names, kept only as keyed hashes (``private.name_hashes``, see
pipeline/privacy/store.py), and the redactor that uses them. Names come from the roster and from Slack
``users.json``; each ingestion merges the new names into the stored index."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import duckdb

from pipeline.privacy.names import NameIndex
from pipeline.privacy.redact import Redactor
from pipeline.privacy.store import load_name_index, save_name_index

if TYPE_CHECKING:
    from pipeline.ingest.common import IngestContext


def merge_indexes(key: bytes, *indexes: NameIndex | None) -> NameIndex:
    rows = [row for index in indexes if index is not None for row in index.to_hashes()]
    return NameIndex.from_hashes(rows, key)


def build_redactor(con: duckdb.DuckDBPyConnection, key: bytes) -> Redactor:
    return Redactor(name_index=load_name_index(con, key))


def remember_names(ctx: IngestContext, names: Iterable[str]) -> None:
    """Persist keyed hashes of ``names`` and make the live redactor aware of them."""
    names = [n for n in names if n and n.strip()]
    if not names:
        return
    merged = merge_indexes(ctx.key, ctx.redactor.name_index, NameIndex.from_names(names, ctx.key))
    save_name_index(ctx.con, merged)
    ctx.redactor = Redactor(name_index=merged)
