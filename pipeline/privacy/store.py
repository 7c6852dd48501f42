"""Persist the name index as hashes only: ``private.name_hashes(hash, kind, key_fingerprint)``.

The ``private`` schema is skipped by the PII audit (it holds hashes, not text). Rows are tagged with the
key fingerprint so a rotated key never silently matches against hashes made with the old one.
"""

from __future__ import annotations

import duckdb

from pipeline.privacy.names import NameIndex
from pipeline.privacy.pseudonym import key_fingerprint

NAME_HASHES_TABLE = "private.name_hashes"


def save_name_index(con: duckdb.DuckDBPyConnection, index: NameIndex) -> int:
    """Replace the stored hashes for this index's key with ``index``; returns the number of rows."""
    con.execute("CREATE SCHEMA IF NOT EXISTS private")
    con.execute(f"""CREATE TABLE IF NOT EXISTS {NAME_HASHES_TABLE} (
        hash VARCHAR NOT NULL, kind VARCHAR NOT NULL, key_fingerprint VARCHAR NOT NULL,
        PRIMARY KEY (hash, key_fingerprint))""")
    rows = [(h, kind, index.key_fingerprint) for h, kind in index.to_hashes()]
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(f"DELETE FROM {NAME_HASHES_TABLE} WHERE key_fingerprint = ?", [index.key_fingerprint])
        if rows:
            con.executemany(f"INSERT INTO {NAME_HASHES_TABLE} VALUES (?, ?, ?)", rows)
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    return len(rows)


def has_name_hashes(con: duckdb.DuckDBPyConnection) -> bool:
    return bool(con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_catalog = current_database() "
        "AND table_schema = 'private' AND table_name = 'name_hashes'").fetchone()[0])


def load_name_index(con: duckdb.DuckDBPyConnection, key: bytes) -> NameIndex | None:
    """The stored index for ``key``, or None when there is no table or no rows made with this key."""
    if not has_name_hashes(con):
        return None
    rows = con.execute(f"SELECT hash, kind FROM {NAME_HASHES_TABLE} WHERE key_fingerprint = ?",
                       [key_fingerprint(key)]).fetchall()
    return NameIndex.from_hashes(rows, key) if rows else None
