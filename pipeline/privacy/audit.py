"""PII audit of stored text: ``stemning audit-pii`` fails a pipeline run when PII reached the warehouse.

It uses the redactor's own detectors (so it never flags what redaction deliberately keeps): e-mail, phone,
CPR, IBAN, bank account, Slack ``<@U…>`` mention, and, when a name index is available, known names. It scans
every text-like column (VARCHAR, JSON, and lists/structs of them, cast to text) of every table and view in
every schema except ``private`` and the catalog schemas. Reports never contain the PII itself: values are
masked ("m***@f***.dk", "******-**34") and identified by a keyed hash that is useless outside the report.
"""

from __future__ import annotations

import argparse
import hmac
import os
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import duckdb
from tqdm import tqdm

from pipeline.config import get_settings
from pipeline.privacy.names import NameIndex
from pipeline.privacy.patterns import (
    AUDIT_DETECTORS,
    CPR,
    EMAIL,
    MENTION,
    PERSON,
    cpr_confidence,
    find_structured,
)
from pipeline.privacy.pseudonym import PseudonymKeyError, derive_key, load_key
from pipeline.privacy.store import has_name_hashes, load_name_index

SKIPPED_SCHEMAS = ("private", "information_schema", "pg_catalog")
# A row can only hold pattern PII if it has a digit, an "@" or an obfuscated "(at)"; lets DuckDB skip the rest.
_PREFILTER = r"[0-9@]|[\[(][aA][tT][\])]"
_FETCH_ROWS = 10_000
_EMAIL_SPLIT_RE = re.compile(r"@|\s?[\[(]at[\])]\s?", re.IGNORECASE)
# Keyed hashes and digests the pipeline itself writes (pseudonyms ``p_<hex>``, content/text hashes): a run
# of digits inside one is not a CPR or phone number, so whole values of this shape are not scanned.
_DIGEST_RE = re.compile(r"(?:p_)?[0-9a-f]{16,128}")


class AuditError(RuntimeError):
    """A column could not be read (e.g. a broken view)."""


@dataclass(frozen=True, slots=True)
class Finding:
    kind: str  # EMAIL, PHONE, CPR, IBAN, ACCOUNT, MENTION, PERSON
    start: int
    end: int
    masked: str
    confidence: str = "high"


@dataclass(frozen=True, slots=True)
class ColumnFinding:
    schema: str
    table: str
    column: str
    kind: str
    rows: int  # rows of this column holding at least one hit of this kind
    example_masked: str
    example_hash: str  # keyed hash of one offending value: tells values apart within a report, reveals nothing

    @property
    def location(self) -> str:
        return f"{self.schema}.{self.table}.{self.column}"


def mask(kind: str, value: str) -> str:
    """A shape-preserving mask that shows at most two characters of the value."""
    if kind == EMAIL:
        parts = _EMAIL_SPLIT_RE.split(value, maxsplit=1)
        local, domain = (parts[0], parts[1]) if len(parts) == 2 else (value, "")
        host, _, tld = domain.rpartition(".")
        return f"{local[:1]}***@{host[:1]}***.{tld}" if host else f"{local[:1]}***@***"
    if kind == MENTION:
        return value[:3] + "***" + (">" if value.endswith(">") else "")
    if kind == PERSON:
        return value[:1] + "***"
    digits = sum(c.isdigit() for c in value)
    seen = 0
    out = []
    for c in value:
        if c.isdigit():
            seen += 1
            out.append(c if seen > digits - 2 else "*")
        else:
            out.append("*" if c.isalpha() else c)
    return "".join(out)


def scan_text(text: str, name_index: NameIndex | None = None) -> list[Finding]:
    """Pattern PII in ``text`` (plus known names when ``name_index`` is given); placeholders are not hits."""
    findings = []
    for start, end, kind in find_structured(text, AUDIT_DETECTORS):
        confidence = cpr_confidence(text, start, end) if kind == CPR else "high"
        findings.append(Finding(kind, start, end, mask(kind, text[start:end]), confidence))
    if name_index is not None:
        taken = [(f.start, f.end, f.kind) for f in findings]
        for start, end in name_index.find_spans(text, taken):
            findings.append(Finding(PERSON, start, end, mask(PERSON, text[start:end])))
    return sorted(findings, key=lambda f: f.start)


def text_columns(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str, str]]:
    """``(catalog, schema, table, column)`` of every text-like column outside the skipped schemas."""
    placeholders = ", ".join("?" for _ in SKIPPED_SCHEMAS)
    return con.execute(f"""
        SELECT table_catalog, table_schema, table_name, column_name
        FROM information_schema.columns
        WHERE table_catalog NOT IN ('system', 'temp') AND table_schema NOT IN ({placeholders})
          AND (data_type LIKE '%VARCHAR%' OR data_type LIKE '%JSON%')
        ORDER BY table_catalog, table_schema, table_name, ordinal_position""", list(SKIPPED_SCHEMAS)).fetchall()


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def audit_database(con: duckdb.DuckDBPyConnection, name_index: NameIndex | None = None, *,
                   key: bytes | None = None, progress: bool = False) -> list[ColumnFinding]:
    """Scan every text column; one :class:`ColumnFinding` per (column, kind) with hits.

    ``key`` makes example hashes stable across runs (a sub-key is derived, never the key itself); without it
    a random per-run salt is used. Raises :class:`AuditError` when a column cannot be read.
    """
    salt = derive_key(key, "audit-example/v1") if key is not None else os.urandom(32)
    findings: list[ColumnFinding] = []
    columns = text_columns(con)
    for catalog, schema, table, column in tqdm(columns, desc="audit-pii", unit="col", disable=not progress,
                                               file=sys.stderr):
        relation = ".".join(_quote(p) for p in (catalog, schema, table))
        value_sql = f"CAST({_quote(column)} AS VARCHAR)"
        where = f"{value_sql} IS NOT NULL"
        if name_index is None:
            where += f" AND regexp_matches({value_sql}, '{_PREFILTER}')"
        try:
            cursor = con.execute(f"SELECT {value_sql}, count(*) FROM {relation} WHERE {where} GROUP BY 1")
            per_kind = _scan_values(_batches(cursor), name_index)
        except duckdb.Error as exc:
            raise AuditError(f"cannot read {schema}.{table}.{column}: {exc}") from exc
        for kind, (rows, example) in sorted(per_kind.items()):
            example_hash = hmac.digest(salt, example.encode("utf-8"), "sha256").hex()[:12]
            findings.append(ColumnFinding(schema, table, column, kind, rows, mask(kind, example), example_hash))
    return findings


def _batches(cursor: duckdb.DuckDBPyConnection) -> Iterable[tuple[str, int]]:
    while rows := cursor.fetchmany(_FETCH_ROWS):
        yield from rows


def _scan_values(values: Iterable[tuple[str, int]], name_index: NameIndex | None) -> dict[str, tuple[int, str]]:
    """kind -> (rows with a hit, first offending substring)."""
    per_kind: dict[str, tuple[int, str]] = {}
    for value, count in values:
        if _DIGEST_RE.fullmatch(value):
            continue
        first_per_kind: dict[str, str] = {}
        for f in scan_text(value, name_index):
            first_per_kind.setdefault(f.kind, value[f.start:f.end])
        for kind, hit in first_per_kind.items():
            rows, example = per_kind.get(kind, (0, hit))
            # GROUP BY returns values in no fixed order: the smallest hit keeps the example stable across runs.
            per_kind[kind] = (rows + count, min(example, hit))
    return per_kind


# --- CLI ----------------------------------------------------------------------------------------------
_EPILOG = """\
examples:
  stemning audit-pii                        # audit the configured warehouse (STEMNING_DB)
  stemning --db warehouse/stemning.duckdb audit-pii
  stemning audit-pii --no-names             # patterns only, even if private.name_hashes exists

exit status: 0 = no PII found, 1 = PII found (summary printed), 2 = error (e.g. missing database).
Known names are checked when the table private.name_hashes exists and the pseudonymisation key is
available (STEMNING_PSEUDONYM_KEY, Airflow Variable stemning_pseudonym_key, or the key file).
"""


def register_cli(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "audit-pii", help="scan every text column of the warehouse for PII; exit 1 on any hit",
        description="Open the DuckDB warehouse read-only and scan every text column of every table and view "
                    "(except schema private) for e-mails, phone numbers, CPR numbers, IBAN/account numbers, "
                    "Slack mentions and known names. Values are shown masked, never in full.",
        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--no-names", action="store_true",
                        help="do not check known names (skip private.name_hashes)")
    parser.set_defaults(func=run_audit_pii)


def run_audit_pii(args: argparse.Namespace) -> int:
    db_arg = getattr(args, "db", None)
    db = Path(db_arg).expanduser() if db_arg else get_settings().db_path
    if not db.is_file():
        print(f"error: DuckDB file not found: {db} (run the pipeline first, or pass --db PATH)", file=sys.stderr)
        return 2
    try:
        con = duckdb.connect(str(db), read_only=True)
    except duckdb.Error as exc:
        print(f"error: cannot open {db} read-only: {exc}", file=sys.stderr)
        return 2
    try:
        key, name_index, names_note = names_for_audit(con, use_names=not getattr(args, "no_names", False))
        findings = audit_database(con, name_index, key=key, progress=True)
        n_columns = len(text_columns(con))
    except (duckdb.Error, AuditError) as exc:
        print(f"error: audit-pii failed: {exc}", file=sys.stderr)
        return 2
    finally:
        con.close()
    print(format_report(findings, n_columns, names_note))
    return 1 if findings else 0


def names_for_audit(con: duckdb.DuckDBPyConnection, use_names: bool
                     ) -> tuple[bytes | None, NameIndex | None, str]:
    try:
        key: bytes | None = load_key()
    except PseudonymKeyError:
        key = None
    if not use_names:
        return key, None, "names: not checked (--no-names)"
    if not has_name_hashes(con):
        return key, None, "names: not checked (no private.name_hashes table)"
    if key is None:
        return None, None, "names: not checked (no pseudonymisation key available)"
    index = load_name_index(con, key)
    if index is None:
        return key, None, "names: not checked (private.name_hashes has no rows for the current key)"
    return key, index, f"names: checked against {len(index)} hashes"


def format_report(findings: list[ColumnFinding], n_columns: int, names_note: str) -> str:
    if not findings:
        return f"audit-pii: no PII found in {n_columns} text columns ({names_note})"
    header = ("column", "kind", "rows", "example", "example hash")
    rows = [(f.location, f.kind, str(f.rows), f.example_masked, f.example_hash) for f in findings]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = [f"audit-pii: PII found in {len({f.location for f in findings})} of {n_columns} text columns "
             f"({names_note})", ""]
    for r in [header, tuple("-" * w for w in widths), *rows]:
        lines.append("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip())
    return "\n".join(lines)
