"""Right to erasure (GDPR Art. 17): `stemning erase --author ID` removes a person from every layer.

The ID is what the sources know the person by: the HR employee id, the e-mail address or the Slack user
id. It is pseudonymised exactly as ingestion does (``employee:<id>``, ``email:<address>``,
``slack:<user id>``; prefix the ID with one of those to pick one reading), then widened through the
roster (an employee's e-mail key finds their Slack posts, and the other way round). Ingestion keys a
Slack user by the export's e-mail when it has one, so for those users the Slack id alone finds nothing:
pass the employee id or e-mail (or several ``--author`` values for one person).

What is removed, in one transaction:
- every row whose person/post/document column holds one of their keys, in every table of every schema
  (``author_key``, ``employee_key``, ``email_key``, ``post_key``, ``source_key``, ``doc_id``): their
  posts (all versions), roster rows, NLP documents, sentences and themes, rows held by a quality gate;
- score-cache entries of their texts (``text_hash``) unless another remaining text has the same hash;
- quarantine rows attributable to them (same source file and position as one of their rows);
- the thread link from other people's replies to their posts (``parent_key`` becomes ``erased``):
  the replies themselves stay.
Then the marts are rebuilt (closed periods frozen by retention keep their anonymous aggregates, which
never show fewer than k people), and a scan of every text column of every table proves that none of
their keys, post keys, document ids or text hashes remain; if one does, the command fails.

A keyed hash of each erased pseudonym (its own sub-key, so the pseudonym itself is not kept) goes to
``private.erasure_tombstones``: rows of an erased person that arrive again in a later export are
dropped by :func:`enforce_erasures`, which the raw-layer validation runs before anything else.
Tombstones carry the key fingerprint; after a key rotation they cannot match new pseudonyms, so the
erasure requests must be re-run with the new key (keep the request log outside the warehouse).
Ingestion-quarantined rows carry no author id (their excerpts are redacted); they expire with retention.
Frozen mart periods (pipeline/retention.py) keep the anonymous aggregates the person contributed to.
"""

from __future__ import annotations

import argparse
import hmac
import logging
import re
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from pipeline.ingest.posts import author_key_for_email, author_key_for_employee
from pipeline.privacy.pseudonym import derive_key, key_fingerprint, pseudonymise

log = logging.getLogger(__name__)

TOMBSTONE_PURPOSE = "erasure-tombstone/v1"
ERASED_PARENT = "erased"
# Column name -> which of the person's value sets identifies a row to delete.
PERSON_COLUMNS = {"author_key": "keys", "employee_key": "keys", "email_key": "keys"}
POST_COLUMNS = {"post_key": "post_keys", "source_key": "post_keys", "doc_id": "doc_ids"}
SKIP_SCHEMAS = ("private",)  # keyed hashes only (name index, tombstones)


@dataclass
class ErasureReport:
    identifiers: int
    author_keys: list[str]
    post_keys: list[str] = field(default_factory=list)
    doc_ids: list[str] = field(default_factory=list)
    text_hashes: list[str] = field(default_factory=list)
    deleted: dict[str, int] = field(default_factory=dict)
    replies_unlinked: int = 0
    residue: dict[str, int] = field(default_factory=dict)
    dry_run: bool = False

    @property
    def rows_deleted(self) -> int:
        return sum(self.deleted.values())

    def summary(self) -> str:
        verb = "would delete" if self.dry_run else "deleted"
        lines = [f"erasure: {len(self.author_keys)} pseudonym(s), {len(self.post_keys)} post(s): "
                 f"{verb} {self.rows_deleted} row(s)"]
        lines += [f"  {table}: {n}" for table, n in sorted(self.deleted.items()) if n]
        if self.replies_unlinked:
            lines.append(f"  replies by others unlinked from erased posts: {self.replies_unlinked}")
        if not self.dry_run:
            lines.append("  verified: no trace left in any table" if not self.residue
                         else f"  RESIDUE FOUND: {self.residue}")
        return "\n".join(lines)


class ErasureIncompleteError(RuntimeError):
    pass


def author_keys_for(identifier: str, key: bytes) -> set[str]:
    """Every pseudonym ingestion may have given this person (see module docstring)."""
    ident = identifier.strip()
    kind, sep, rest = ident.partition(":")
    if sep and kind in ("employee", "email", "slack") and rest.strip():
        value = rest.strip()
        if kind == "employee":
            return {author_key_for_employee(value, key)}
        if kind == "email":
            return {author_key_for_email(value, key)}
        return {pseudonymise(f"slack:{value}", key)}
    if not ident:
        raise ValueError("empty author id: pass the employee id, e-mail address or Slack user id")
    keys = {author_key_for_employee(ident, key), pseudonymise(f"slack:{ident}", key)}
    if "@" in ident:
        keys.add(author_key_for_email(ident, key))
    return keys


def tombstone(author_key: str, key: bytes) -> str:
    return hmac.digest(derive_key(key, TOMBSTONE_PURPOSE), author_key.encode(), "sha256").hex()[:32]


def _values(con: duckdb.DuckDBPyConnection, sql: str, params: list[object]) -> set[str]:
    return {r[0] for r in con.execute(sql, params).fetchall() if r[0] is not None}


def _with_roster_links(con: duckdb.DuckDBPyConnection, keys: set[str]) -> set[str]:
    """Add the employee and e-mail keys the roster links to any of ``keys`` (also in held roster rows)."""
    rows = con.execute(
        """
        SELECT employee_key, email_key FROM raw.roster
        WHERE employee_key IN (SELECT unnest($1)) OR email_key IN (SELECT unnest($1))
        UNION ALL
        SELECT row_key, json_extract_string(row_json, '$.email_key') FROM quality.held_rows
        WHERE table_name = 'raw.roster'
          AND (row_key IN (SELECT unnest($1)) OR json_extract_string(row_json, '$.email_key') IN (SELECT unnest($1)))
        """,
        [sorted(keys)],
    ).fetchall()
    return keys | {v for row in rows for v in row if v}


def _base_tables(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, list[tuple[str, str]]]]:
    """(schema, table, [(column, type)]) of every base table outside ``SKIP_SCHEMAS``."""
    rows = con.execute(
        """
        SELECT c.table_schema, c.table_name, c.column_name, c.data_type
        FROM information_schema.columns c
        JOIN information_schema.tables t USING (table_catalog, table_schema, table_name)
        WHERE t.table_type = 'BASE TABLE' AND c.table_catalog = current_database()
        ORDER BY c.table_schema, c.table_name, c.ordinal_position
        """
    ).fetchall()
    tables: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for schema, table, column, dtype in rows:
        if schema not in SKIP_SCHEMAS:
            tables.setdefault((schema, table), []).append((column, dtype))
    return [(s, t, cols) for (s, t), cols in tables.items()]


def _collect(con: duckdb.DuckDBPyConnection, keys: set[str]) -> tuple[set[str], set[str], set[str]]:
    """The person's post keys, document ids and text hashes (all versions, held rows included)."""
    k = [sorted(keys)]
    post_keys = _values(con, "SELECT post_key FROM raw.posts WHERE author_key IN (SELECT unnest(?))", k)
    post_keys |= _values(con, "SELECT row_key FROM quality.held_rows WHERE table_name = 'raw.posts' "
                              "AND author_key IN (SELECT unnest(?))", k)
    p = [sorted(post_keys)]
    doc_ids = {f"{pk}#text" for pk in post_keys}
    doc_ids |= _values(con, "SELECT doc_id FROM nlp.documents WHERE doc_type = 'post' AND source_key IN (SELECT unnest(?))", p)
    hashes = _values(con, "SELECT sha256(text) FROM raw.posts WHERE post_key IN (SELECT unnest(?))", p)
    hashes |= _values(con, "SELECT text_hash FROM nlp.documents WHERE doc_id IN (SELECT unnest(?))", [sorted(doc_ids)])
    hashes |= _values(con, "SELECT sha256(json_extract_string(row_json, '$.text')) FROM quality.held_rows "
                           "WHERE table_name = 'raw.posts' AND row_key IN (SELECT unnest(?))", p)
    return post_keys, doc_ids, hashes


def _delete_where_in(con: duckdb.DuckDBPyConnection, table: str, column: str, values: set[str]) -> int:
    if not values:
        return 0
    return int(con.execute(f'DELETE FROM {table} WHERE "{column}" IN (SELECT unnest(?))', [sorted(values)]).fetchone()[0])


def _erase_in_transaction(con: duckdb.DuckDBPyConnection, keys: set[str], report: ErasureReport) -> None:
    post_keys, doc_ids, hashes = _collect(con, keys)
    report.post_keys, report.doc_ids = sorted(post_keys), sorted(doc_ids)
    sets = {"keys": keys, "post_keys": post_keys, "doc_ids": doc_ids}
    # Quarantine rows share (source file, position) with the person's raw or held rows.
    report.deleted["quarantine.rows"] = int(con.execute(
        """
        DELETE FROM quarantine.rows q USING (
            SELECT source_file, source_position FROM raw.posts WHERE author_key IN (SELECT unnest($1))
            UNION SELECT source_file, source_position FROM raw.roster WHERE employee_key IN (SELECT unnest($1))
            UNION SELECT source_file, source_position FROM quality.held_rows WHERE author_key IN (SELECT unnest($1))
        ) p
        WHERE q.source_file = p.source_file AND q.source_position = p.source_position
        """,
        [sorted(keys)],
    ).fetchone()[0])
    tables = _base_tables(con)
    for schema, table, columns in tables:
        name = f"{schema}.{table}"
        for column, _ in columns:
            which = PERSON_COLUMNS.get(column) or POST_COLUMNS.get(column)
            if which:
                n = _delete_where_in(con, name, column, sets[which])
                report.deleted[name] = report.deleted.get(name, 0) + n
    if post_keys:
        report.replies_unlinked = int(con.execute(
            "UPDATE raw.posts SET parent_key = ? WHERE parent_key IN (SELECT unnest(?))",
            [ERASED_PARENT, sorted(post_keys)],
        ).fetchone()[0])
        con.execute(
            "UPDATE quality.held_rows SET row_json = json_merge_patch(row_json, json_object('parent_key', ?))::VARCHAR "
            "WHERE table_name = 'raw.posts' AND json_extract_string(row_json, '$.parent_key') IN (SELECT unnest(?))",
            [ERASED_PARENT, sorted(post_keys)],
        )
    # Cached scores of their texts, unless an identical text of someone else still needs them.
    still_used = _values(con, "SELECT text_hash FROM staging.texts UNION SELECT text_hash FROM nlp.documents", [])
    erasable = hashes - still_used
    report.text_hashes = sorted(erasable)
    for schema, table, columns in tables:
        if any(c == "text_hash" for c, _ in columns):
            name = f"{schema}.{table}"
            report.deleted[name] = report.deleted.get(name, 0) + _delete_where_in(con, name, "text_hash", erasable)


def find_residue(con: duckdb.DuckDBPyConnection, values: set[str]) -> dict[str, int]:
    """Rows of any table (any schema but ``private``) whose text holds one of ``values``:
    {"schema.table.column": rows}. Long values (pseudonyms, hashes, Slack keys) are searched inside any
    text, list, struct or JSON column; short ones (post keys like ``csv:1``) must equal a text value."""
    if not values:
        return {}
    exact = sorted(v for v in values if len(v) < 24)
    pattern = "|".join(re.escape(v) for v in sorted(values) if len(v) >= 24)
    found: dict[str, int] = {}
    for schema, table, columns in _base_tables(con):
        for column, dtype in columns:
            scalar = dtype in ("VARCHAR", "JSON")
            if not (scalar or any(t in dtype for t in ("VARCHAR", "STRUCT", "MAP", "JSON"))):
                continue
            conds, params = [], []
            if exact and scalar:
                conds.append(f'"{column}"::VARCHAR IN (SELECT unnest(?))')
                params.append(exact)
            if pattern:
                conds.append(f'regexp_matches("{column}"::VARCHAR, ?)')
                params.append(pattern)
            if not conds:
                continue
            n = con.execute(f'SELECT count(*) FROM {schema}."{table}" WHERE ' + " OR ".join(conds), params).fetchone()[0]
            if n:
                found[f"{schema}.{table}.{column}"] = int(n)
    return found


def erase_keys(con: duckdb.DuckDBPyConnection, keys: set[str], key: bytes, *, identifiers: int = 1,
               dry_run: bool = False) -> ErasureReport:
    """Erase everything of the people behind ``keys`` (pseudonyms) and record their tombstones.
    Does not rebuild the marts (see :func:`erase_author`)."""
    keys = _with_roster_links(con, keys)
    report = ErasureReport(identifiers=identifiers, author_keys=sorted(keys), dry_run=dry_run)
    con.execute("BEGIN")
    try:
        _erase_in_transaction(con, keys, report)
        now = datetime.now(UTC)
        con.executemany("INSERT OR IGNORE INTO private.erasure_tombstones VALUES (?, ?, ?)",
                        [[tombstone(k, key), key_fingerprint(key), now] for k in sorted(keys)])
        if dry_run:
            con.execute("ROLLBACK")
            return report
        report.residue = find_residue(con, keys | set(report.post_keys) | set(report.doc_ids) | set(report.text_hashes))
        if report.residue:
            raise ErasureIncompleteError(
                f"erasure rolled back: traces remain in {', '.join(report.residue)}; a table stores the person "
                "under a column this module does not know — extend PERSON_COLUMNS/POST_COLUMNS")
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    return report


def erase_author(con: duckdb.DuckDBPyConnection, settings: object, identifiers: list[str], *,
                 key: bytes | None = None, dry_run: bool = False, rebuild_marts: bool = True) -> ErasureReport:
    """Erase the people known by ``identifiers`` (employee ids, e-mails, Slack ids) from every layer and
    rebuild the marts. ``settings`` is a :class:`pipeline.config.Settings`."""
    from pipeline.privacy.pseudonym import load_key

    key = key if key is not None else load_key(key_file=settings.key_file)  # type: ignore[attr-defined]
    keys: set[str] = set()
    for ident in identifiers:
        keys |= author_keys_for(ident, key)
    report = erase_keys(con, keys, key, identifiers=len(identifiers), dry_run=dry_run)
    if rebuild_marts and not dry_run and report.rows_deleted:
        from pipeline.retention import rebuild_marts as rebuild

        rebuild(con, settings)  # type: ignore[arg-type]
    return report


def enforce_erasures(con: duckdb.DuckDBPyConnection, key: bytes | None = None,
                     key_file: Path | None = None) -> ErasureReport | None:
    """Drop rows of erased people that arrived again (e.g. in a cumulative Slack export)."""
    if not con.execute("SELECT count(*) FROM private.erasure_tombstones").fetchone()[0]:
        return None
    if key is None:
        from pipeline.privacy.pseudonym import load_key

        key = load_key(key_file=key_file)
    fingerprint = key_fingerprint(key)
    other_keys = con.execute("SELECT count(*) FROM private.erasure_tombstones WHERE key_fingerprint <> ?",
                             [fingerprint]).fetchone()[0]
    if other_keys:
        log.warning("%d erasure tombstone(s) were made with another pseudonymisation key and cannot match rows "
                    "pseudonymised with the current one: re-run `stemning erase` for those people (key rotation)",
                    other_keys)
    tombs = _values(con, "SELECT tombstone FROM private.erasure_tombstones WHERE key_fingerprint = ?", [fingerprint])
    present = _values(con, "SELECT author_key FROM raw.posts UNION SELECT employee_key FROM raw.roster "
                           "UNION SELECT email_key FROM raw.roster UNION SELECT author_key FROM quality.held_rows", [])
    back = {k for k in present if tombstone(k, key) in tombs}
    if not back:
        return None
    report = erase_keys(con, back, key)
    log.warning("erasure enforced again: %d row(s) of %d erased person key(s) arrived again and were deleted",
                report.rows_deleted, len(back))
    return report


# --- CLI -----------------------------------------------------------------------------------------------


def register_cli(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "erase",
        help="right to erasure: remove a person's rows from every layer and rebuild the marts",
        description=(
            "Removes everything of one person: their posts (all versions), roster rows, NLP scores, "
            "sentences and themes, cached scores of their texts, quarantined and quality-held rows, and the "
            "thread links of others' replies to their posts (the replies stay). Rebuilds the marts, then "
            "scans every table to verify that no trace remains (exit 1 and nothing changed if one does). "
            "The person is remembered only as a keyed tombstone, so their rows are dropped again if a later "
            "export brings them back. ID = HR employee id, e-mail address or Slack user id; prefix it with "
            "employee:, email: or slack: to use only that reading."
        ),
        epilog=(
            "Examples:\n"
            "  stemning erase --author E1042\n"
            "  stemning erase --author mette.hansen@firma.dk --author U02ABCDEF\n"
            "  stemning erase --author slack:U02ABCDEF --dry-run"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--author", action="append", required=True, metavar="ID",
                   help="employee id, e-mail or Slack user id (repeat for several ids of one person)")
    p.add_argument("--dry-run", action="store_true", help="report what would be deleted; change nothing")
    p.set_defaults(func=run_erase_cli)


def run_erase_cli(args: argparse.Namespace) -> int:
    from pipeline.config import get_settings
    from pipeline.db import connect
    from pipeline.privacy.pseudonym import PseudonymKeyError

    settings = get_settings(db_path=getattr(args, "db", None))
    try:
        with connect(settings.db_path) as con:
            report = erase_author(con, settings, args.author, dry_run=args.dry_run)
    except (ErasureIncompleteError, PseudonymKeyError) as exc:
        print(f"stemning: error: {exc}", file=sys.stderr)
        return 1
    print(report.summary())
    if not report.rows_deleted:
        print("  no rows matched: check the id (nothing is stored for it; future rows of it will be dropped)")
    return 0
