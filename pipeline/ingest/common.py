"""Shared ingestion machinery: reading files safely, quarantining bad rows, idempotent writes.

Contract of every ingester: each input row ends up in exactly one bucket — loaded (new in raw),
unchanged (already in raw with the same content hash), skipped (intentionally ignored, e.g. Slack join
messages) or quarantined (with a reason). ``IngestReport.check_conservation`` enforces
``seen == loaded + unchanged + skipped + quarantined`` before anything is committed.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from pipeline.db import registered, transaction
from pipeline.privacy.redact import Redactor

MAX_TEXT_CHARS = 20_000
EXCERPT_CHARS = 200


class UnsupportedInputError(ValueError):
    """The input as a whole is not what the ingester expects (one-line, actionable message)."""


@dataclass
class QuarantinedRow:
    position: str
    reason: str
    excerpt: str | None


@dataclass
class IngestReport:
    source_kind: str
    source_format: str
    source_file: str
    file_hash: str
    rows_seen: int = 0
    rows_loaded: int = 0
    rows_unchanged: int = 0
    rows_skipped: int = 0
    quarantined: list[QuarantinedRow] = field(default_factory=list)
    already_ingested: bool = False

    @property
    def rows_quarantined(self) -> int:
        return len(self.quarantined)

    def reasons(self) -> Counter[str]:
        return Counter(q.reason.split(":")[0] for q in self.quarantined)

    def check_conservation(self) -> None:
        accounted = self.rows_loaded + self.rows_unchanged + self.rows_skipped + self.rows_quarantined
        if accounted != self.rows_seen:
            raise AssertionError(
                f"row conservation violated for {self.source_file}: seen {self.rows_seen}, "
                f"accounted {accounted} (loaded {self.rows_loaded}, unchanged {self.rows_unchanged}, "
                f"skipped {self.rows_skipped}, quarantined {self.rows_quarantined})"
            )

    def summary(self) -> str:
        if self.already_ingested:
            return f"{self.source_file}: already ingested (same file hash), nothing to do"
        text = (
            f"{self.source_file}: {self.rows_seen} rows -> {self.rows_loaded} new, {self.rows_unchanged} unchanged, "
            f"{self.rows_skipped} skipped, {self.rows_quarantined} quarantined"
        )
        if self.quarantined:
            text += " (" + ", ".join(f"{r}: {n}" for r, n in self.reasons().most_common()) + ")"
        return text


@dataclass
class IngestContext:
    """What an ingester needs: the open warehouse, the pseudonymisation key and a redactor."""

    con: duckdb.DuckDBPyConnection
    key: bytes
    redactor: Redactor
    now: datetime
    max_future_skew: timedelta

    def content_hash(self, record: dict[str, Any]) -> str:
        # Keyed, so a hash of raw fields cannot be matched against a guessed input.
        payload = json.dumps(record, sort_keys=True, default=str, ensure_ascii=False).encode()
        return hmac.new(self.key, payload, hashlib.sha256).hexdigest()[:32]

    def redact(self, text: str | None) -> tuple[str | None, int]:
        if text is None:
            return None, 0
        result = self.redactor.redact(text)
        return result.text, sum(result.counts.values())

    def excerpt(self, text: str | None) -> str | None:
        if not text:
            return None
        return self.redactor.redact(_clean_surrogates(text)[:EXCERPT_CHARS]).text


def file_hash(path: Path) -> str:
    """sha256 of a file, or of a directory's files (relative names + contents, sorted)."""
    h = hashlib.sha256()
    if path.is_dir():
        for f in sorted(p for p in path.rglob("*") if p.is_file()):
            h.update(str(f.relative_to(path)).encode())
            h.update(hashlib.sha256(f.read_bytes()).digest())
    else:
        with path.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()


def decode(data: bytes) -> str:
    """UTF-8 (BOM tolerated). Undecodable bytes survive as surrogates so the affected *rows* can be
    quarantined individually instead of losing the whole file."""
    return data.decode("utf-8-sig", errors="surrogateescape")


def has_bad_encoding(value: str) -> bool:
    return any("\udc80" <= ch <= "\udcff" for ch in value)


def _clean_surrogates(value: str) -> str:
    return value.encode("utf-8", errors="surrogateescape").decode("latin-1") if has_bad_encoding(value) else value


ENCODING_REASON = "bad_encoding: not valid UTF-8 (looks like Latin-1/Windows-1252); re-export the file as UTF-8"


def read_csv_rows(path: Path, required: set[str]) -> Iterator[tuple[str, dict[str, str] | None, str | None]]:
    """Yield (position, row, problem). Header problems are file-level: UnsupportedInputError."""
    text = decode(path.read_bytes())
    if not text.strip():
        raise UnsupportedInputError(f"{path.name}: empty file; expected a CSV header with columns {sorted(required)}")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = required - set(header)
    if missing:
        raise UnsupportedInputError(
            f"{path.name}: missing required column(s) {sorted(missing)}; found {header}. "
            "Rename the columns or pass a column mapping (see README, 'Input formats')."
        )
    reader.fieldnames = header
    for row in reader:
        line = f"line {reader.line_num}"
        if None in row:  # more fields than the header
            yield line, None, f"malformed_row: {len(header) + len(row[None])} fields, header has {len(header)}"
            continue
        values = {k: (v if v is not None else "") for k, v in row.items()}
        if any(has_bad_encoding(v) for v in values.values()):
            yield line, values, ENCODING_REASON
            continue
        if any(v is None for v in row.values()):
            yield line, values, f"malformed_row: fewer fields than the header's {len(header)}"
            continue
        yield line, values, None


def read_jsonl_rows(path: Path) -> Iterator[tuple[str, dict[str, Any] | None, str | None]]:
    text = decode(path.read_bytes())
    if not text.strip():
        raise UnsupportedInputError(f"{path.name}: empty file; expected one JSON object per line")
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        pos = f"line {n}"
        if has_bad_encoding(line):
            yield pos, {"_raw": line}, ENCODING_REASON
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            yield pos, {"_raw": line}, f"invalid_json: {exc.msg} at column {exc.colno}"
            continue
        if not isinstance(obj, dict):
            yield pos, {"_raw": line}, f"invalid_json: expected an object, got {type(obj).__name__}"
            continue
        yield pos, {k: ("" if v is None else v) for k, v in obj.items()}, None


def parse_timestamp(value: Any) -> datetime:
    """ISO-8601 (naive = UTC) or Unix epoch seconds. Raises ValueError with a clear message."""
    if isinstance(value, int | float) or (isinstance(value, str) and value.replace(".", "", 1).isdigit()):
        return datetime.fromtimestamp(float(value), tz=UTC)
    s = str(value).strip()
    if not s:
        raise ValueError("missing timestamp")
    try:
        ts = datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"unparseable timestamp {s[:40]!r} (expected ISO-8601, e.g. 2026-03-02T09:15:00+01:00)") from None
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


def parse_date(value: Any) -> date | None:
    s = str(value or "").strip()
    if not s:
        return None
    try:
        return date.fromisoformat(s[:10])
    except ValueError:
        raise ValueError(f"unparseable date {s[:40]!r} (expected YYYY-MM-DD)") from None


def check_not_future(ctx: IngestContext, ts: datetime) -> str | None:
    if ts > ctx.now + ctx.max_future_skew:
        return f"future_timestamp: {ts.isoformat()} is after the load time {ctx.now.isoformat(timespec='seconds')}"
    return None


def write_batch(
    ctx: IngestContext,
    report: IngestReport,
    table: str,
    key_columns: tuple[str, str],
    rows: list[dict[str, Any]],
) -> None:
    """Insert new rows (by natural key + content hash), record quarantine and the file, atomically."""
    con = ctx.con
    with transaction(con):
        if rows:
            with registered(con, "incoming", pd.DataFrame(rows)):
                k, h = key_columns
                existing = con.execute(
                    f"SELECT count(*) FROM incoming i JOIN {table} t ON t.{k} = i.{k} AND t.{h} = i.{h}"
                ).fetchone()[0]
                con.execute(f"INSERT OR IGNORE INTO {table} BY NAME SELECT * FROM incoming")
            report.rows_unchanged += existing
            report.rows_loaded += len(rows) - existing
        report.check_conservation()
        if report.quarantined:
            qdf = pd.DataFrame(
                {
                    "source_kind": report.source_kind,
                    "source_file": report.source_file,
                    "file_hash": report.file_hash,
                    "source_position": [q.position for q in report.quarantined],
                    "reason": [q.reason for q in report.quarantined],
                    "excerpt": [q.excerpt for q in report.quarantined],
                    "quarantined_at": ctx.now,
                }
            )
            with registered(con, "incoming_q", qdf):
                con.execute("INSERT OR IGNORE INTO quarantine.rows BY NAME SELECT * FROM incoming_q")
        con.execute(
            "INSERT OR REPLACE INTO meta.ingested_files VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                report.file_hash, report.source_kind, report.source_format, report.source_file,
                report.rows_seen, report.rows_loaded, report.rows_unchanged, report.rows_skipped,
                report.rows_quarantined, ctx.now,
            ],
        )


def already_ingested(con: duckdb.DuckDBPyConnection, fhash: str) -> bool:
    return con.execute("SELECT 1 FROM meta.ingested_files WHERE file_hash = ?", [fhash]).fetchone() is not None
