"""Entry points used by the CLI and the Airflow DAGs: ingest one path, or everything new in a landing
folder. Each file is one transaction; a file already ingested (same bytes) is a no-op."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb

from pipeline.config import Settings
from pipeline.db import transaction
from pipeline.ingest.common import (
    IngestContext,
    IngestReport,
    QuarantinedRow,
    UnsupportedInputError,
    already_ingested,
    file_hash,
)
from pipeline.ingest.names import build_redactor
from pipeline.ingest.posts import ingest_generic_posts, ingest_slack
from pipeline.ingest.reviews import ingest_reviews
from pipeline.ingest.roster import ingest_roster
from pipeline.privacy.pseudonym import load_key

KINDS = ("roster", "posts", "reviews")
FORMATS = {"posts": ("slack", "csv", "jsonl"), "reviews": ("csv", "jsonl"), "roster": ("csv",)}


@dataclass(frozen=True)
class IngestOptions:
    fmt: str | None = None
    mapping: dict[str, str] | None = None
    preset: str | None = None
    force: bool = False  # re-read a file even if its hash was ingested before (rows still dedupe)


def detect_format(kind: str, path: Path, fmt: str | None) -> str:
    if kind not in FORMATS:
        raise UnsupportedInputError(f"unknown source kind {kind!r}; expected one of {', '.join(KINDS)}")
    if fmt is None:
        if path.is_dir() or path.suffix.lower() == ".zip":
            fmt = "slack"
        elif path.suffix.lower() == ".csv":
            fmt = "csv"
        elif path.suffix.lower() in {".jsonl", ".ndjson"}:
            fmt = "jsonl"
        else:
            raise UnsupportedInputError(
                f"{path.name}: cannot tell the format from the name; expected one of "
                f"{', '.join(FORMATS[kind])} for {kind} (.csv, .jsonl, or a Slack export dir/.zip) — pass --format"
            )
    if fmt not in FORMATS[kind]:
        raise UnsupportedInputError(f"{path.name}: format {fmt!r} is not supported for {kind}; expected {', '.join(FORMATS[kind])}")
    return fmt


def make_context(con: duckdb.DuckDBPyConnection, settings: Settings) -> IngestContext:
    key = load_key(key_file=settings.key_file)
    return IngestContext(
        con=con,
        key=key,
        redactor=build_redactor(con, key),
        now=datetime.now(UTC),
        max_future_skew=timedelta(hours=settings.max_future_skew_hours),
    )


def ingest_path(
    con: duckdb.DuckDBPyConnection, settings: Settings, kind: str, path: Path, options: IngestOptions = IngestOptions()
) -> IngestReport:
    path = Path(path)
    if not path.exists():
        raise UnsupportedInputError(f"{path}: no such file or directory")
    fmt = detect_format(kind, path, options.fmt)
    fhash = file_hash(path)
    report = IngestReport(kind, fmt, str(path), fhash)
    if not options.force and already_ingested(con, fhash):
        report.already_ingested = True
        return report
    ctx = make_context(con, settings)
    if kind == "roster":
        ingest_roster(ctx, path, report)
    elif kind == "reviews":
        ingest_reviews(ctx, path, fmt, report, options.mapping, options.preset)
    elif fmt == "slack":
        ingest_slack(ctx, path, report)
    else:
        ingest_generic_posts(ctx, path, fmt, report)
    return report


def landing_candidates(landing: Path, kind: str) -> list[Path]:
    """Files (and Slack export folders) waiting in <landing>/<kind>/, oldest name first."""
    folder = landing / kind
    if not folder.is_dir():
        return []
    items = []
    for p in sorted(folder.iterdir()):
        if p.name.startswith((".", "_")):
            continue
        if p.is_dir() and kind == "posts" and (p / "users.json").exists() or p.is_file() and p.suffix.lower() in {".csv", ".jsonl", ".ndjson", ".zip"}:
            items.append(p)
    return items


def ingest_landing(con: duckdb.DuckDBPyConnection, settings: Settings, kind: str) -> list[IngestReport]:
    """Ingest every new file of ``kind`` in the landing folder. A file that fails as a whole (e.g. a
    missing header) is recorded in quarantine and does not block the others."""
    reports = []
    for path in landing_candidates(settings.landing_dir, kind):
        try:
            reports.append(ingest_path(con, settings, kind, path))
        except UnsupportedInputError as exc:
            reports.append(quarantine_whole_file(con, kind, path, str(exc)))
    return reports


def quarantine_whole_file(con: duckdb.DuckDBPyConnection, kind: str, path: Path, reason: str) -> IngestReport:
    fhash = file_hash(path)
    report = IngestReport(kind, "unknown", str(path), fhash, rows_seen=1)
    if already_ingested(con, fhash):
        report.already_ingested = True
        return report
    now = datetime.now(UTC)
    with transaction(con):
        con.execute(
            "INSERT OR IGNORE INTO quarantine.rows VALUES (?, ?, ?, 'file', ?, NULL, ?)",
            [kind, str(path), fhash, f"unsupported_file: {reason}", now],
        )
        con.execute(
            "INSERT OR REPLACE INTO meta.ingested_files VALUES (?, ?, 'unknown', ?, 1, 0, 0, 0, 1, ?)",
            [fhash, kind, str(path), now],
        )
    report.quarantined.append(QuarantinedRow("file", f"unsupported_file: {reason}", None))
    return report
