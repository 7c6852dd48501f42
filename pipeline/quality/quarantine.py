"""Row-level quality failures: move the failing raw rows out of ``raw.*`` into quarantine.

A failing row is deleted from its raw table (so staging, NLP and marts never see it, with no change to
their SQL), recorded in ``quarantine.rows`` with the failed expectation(s) as the reason, and kept whole
in ``quality.held_rows`` so a wrong expectation can be undone with :func:`release_held_rows`. All in one
transaction; re-running is a no-op for rows already held (they are no longer in raw).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

import duckdb
import pandas as pd


@dataclass(frozen=True)
class RawTable:
    kind: str            # quarantine.rows.source_kind
    key: str             # natural key column (with content_hash it is the primary key)
    author: str | None   # pseudonym column, for erasure
    created: str | None  # SQL (alias t) of the row's age, for retention
    excerpt_sql: str     # first 200 characters of what quarantine may show (already redacted)


RAW_TABLES = {
    "raw.posts": RawTable("posts", "post_key", "author_key", "t.created_at", "left(t.text, 200)"),
    "raw.reviews": RawTable("reviews", "review_key", None, "coalesce(t.created_at, t.loaded_at)",
                            "left(coalesce(t.text, t.pros, t.cons, t.title), 200)"),
    # Roster rows are all personal data: like ingestion, the excerpt shows only the org unit.
    "raw.roster": RawTable("roster", "employee_key", "employee_key", None,
                           "'department=' || t.department || ', team=' || t.team"),
}
REASON_PREFIX = "expectation_failed: "


def hold_failing_rows(
    con: duckdb.DuckDBPyConnection,
    table: str,
    rows: pd.DataFrame,
    run_id: str,
    now: datetime,
) -> int:
    """Move ``rows`` (columns: <key>, content_hash, reason) out of ``table``. Returns rows moved."""
    spec = RAW_TABLES[table]
    if rows.empty:
        return 0
    incoming = rows.rename(columns={spec.key: "row_key"})[["row_key", "content_hash", "reason"]]
    author = f"t.{spec.author}" if spec.author else "NULL"
    created = spec.created or "NULL"
    con.execute("BEGIN")
    try:
        con.register("failing_rows", incoming)
        matched = f"""
            FROM {table} t JOIN failing_rows f ON f.row_key = t.{spec.key} AND f.content_hash = t.content_hash
        """
        con.execute(
            f"""
            INSERT OR IGNORE INTO quarantine.rows BY NAME
            SELECT ? AS source_kind, t.source_file,
                   coalesce(m.file_hash, 'unknown') AS file_hash, t.source_position, f.reason,
                   {spec.excerpt_sql} AS excerpt, ?::TIMESTAMPTZ AS quarantined_at
            {matched}
            LEFT JOIN meta.ingested_files m ON m.source_file = t.source_file AND m.loaded_at = t.loaded_at
            """,
            [spec.kind, now],
        )
        con.execute(
            f"""
            INSERT OR IGNORE INTO quality.held_rows BY NAME
            SELECT ? AS table_name, f.row_key, t.content_hash, {author} AS author_key,
                   {created} AS created_at, t.source_file, t.source_position, f.reason,
                   to_json(t)::VARCHAR AS row_json, ? AS run_id, ?::TIMESTAMPTZ AS held_at
            {matched}
            """,
            [table, run_id, now],
        )
        moved = con.execute(
            f"DELETE FROM {table} t USING failing_rows f "
            f"WHERE f.row_key = t.{spec.key} AND f.content_hash = t.content_hash"
        ).fetchone()[0]
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    finally:
        con.unregister("failing_rows")
    return int(moved)


def release_held_rows(con: duckdb.DuckDBPyConnection, table: str, reason_contains: str | None = None) -> int:
    """Put held rows back into their raw table (after an expectation was found to be wrong) and drop
    their quarantine entries. Optionally only rows whose reason contains ``reason_contains``."""
    if table not in RAW_TABLES:
        raise ValueError(f"unknown raw table {table!r}; expected one of {', '.join(RAW_TABLES)}")
    where = "table_name = ?" + (" AND contains(reason, ?)" if reason_contains else "")
    params: list[object] = [table] + ([reason_contains] if reason_contains else [])
    held = con.execute(f"SELECT row_key, content_hash, source_file, source_position, reason, row_json "
                       f"FROM quality.held_rows WHERE {where}", params).fetchall()
    if not held:
        return 0
    restored = pd.DataFrame([json.loads(r[5]) for r in held])
    con.execute("BEGIN")
    try:
        con.register("restored_rows", restored)
        con.execute(f"INSERT OR IGNORE INTO {table} BY NAME SELECT * FROM restored_rows")
        con.unregister("restored_rows")
        for row_key, content_hash, source_file, position, reason, _ in held:
            con.execute("DELETE FROM quarantine.rows WHERE source_file = ? AND source_position = ? AND reason = ?",
                        [source_file, position, reason])
            con.execute("DELETE FROM quality.held_rows WHERE table_name = ? AND row_key = ? AND content_hash = ?",
                        [table, row_key, content_hash])
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    return len(held)
