"""Retention: delete employee text older than ``retention_days`` (default 180), keep the aggregates.

Purged, daily by the ``stemning_retention`` DAG (or ``stemning retention``), with cutoff = now − window:
- ``raw.posts`` created before the cutoff and ``raw.reviews`` created (undated ones: loaded) before it;
  the staging views follow;
- their NLP rows (documents, sentences, themes: any table with a ``doc_id``/``source_key``/``post_key``
  of a purged post or review), and score-cache entries whose text no longer exists anywhere;
- rows held by a quality gate and quarantine rows (their excerpts are text) older than the cutoff,
  and the Data Docs' stored results older than the cutoff.
The roster is not text and is kept (headcounts need it).

Marts keep historic aggregates by **freezing**. Marts are rebuilt from staging, so purged weeks would
vanish and periods whose (rolling) windows reach across the cutoff would change. So, just before a
purge, every mart period that could depend on purged text (period start < cutoff + the mart's
look-back: its own period plus any rolling window or baseline) is copied to ``archive.<mart>``, and
``archive.frozen_marts`` records the watermark (``frozen_before``). Every marts rebuild then replaces
the periods before the watermark with the archived rows (:func:`rebuild_marts`): historic figures
never change, recent periods are recomputed as before. Frozen rows are a snapshot: data arriving late
for a frozen period, or later roster changes, no longer move it (nor the forward-looking attrition of
the last frozen months of ``retention_signals_monthly``). Each purge compares every dated mart row
before and after and reports any difference (``mart_rows_changed``; 0 expected). The ``undated``
review group has no period and is recomputed.
"""

from __future__ import annotations

import argparse
import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from pipeline.config import Settings
from pipeline.db import transaction
from pipeline.marts import MartsReport, build_marts

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FrozenMart:
    table: str           # marts.<table>
    period_column: str   # first day of the period (DATE)
    lookback: pd.DateOffset  # own period + the longest window reaching back from a period's start


# Windows as in sql/marts and pipeline/indicators/alerts.py (LOOKBACK_WEEKS).
FROZEN_MARTS = (
    FrozenMart("engagement_weekly", "week_start", pd.DateOffset(weeks=4)),        # 4-week rolling figures
    FrozenMart("theme_sentiment_weekly", "week_start", pd.DateOffset(weeks=5)),   # change vs previous 4 weeks
    FrozenMart("alerts", "week_start", pd.DateOffset(weeks=13)),                  # 12-week baseline
    FrozenMart("retention_signals_monthly", "month_start", pd.DateOffset(months=4)),  # 3-month baseline
    FrozenMart("onboarding_cohorts_monthly", "month_start", pd.DateOffset(months=1)),
    FrozenMart("employer_brand_monthly", "month_start", pd.DateOffset(months=1)),
)
KEY_COLUMNS = ("post_key", "source_key", "doc_id")


@dataclass
class RetentionReport:
    cutoff: datetime
    frozen_before: dict[str, date] = field(default_factory=dict)
    deleted: dict[str, int] = field(default_factory=dict)
    docs_results_pruned: int = 0
    mart_rows_changed: int = 0
    dry_run: bool = False

    @property
    def rows_deleted(self) -> int:
        return sum(self.deleted.values())

    def summary(self) -> str:
        verb = "would purge" if self.dry_run else "purged"
        lines = [f"retention: {verb} text from before {self.cutoff:%Y-%m-%d %H:%M} UTC: {self.rows_deleted} row(s)"]
        lines += [f"  {t}: {n}" for t, n in sorted(self.deleted.items()) if n]
        if self.frozen_before:
            lines.append("  marts frozen before: " + ", ".join(f"{m} {d}" for m, d in self.frozen_before.items()))
        if not self.dry_run:
            lines.append(f"  dated mart rows changed by the purge: {self.mart_rows_changed}")
        return "\n".join(lines)


def retention_cutoff(now: datetime, retention_days: int) -> datetime:
    if retention_days < 1:
        raise ValueError(f"STEMNING_RETENTION_DAYS must be >= 1 (got {retention_days})")
    return now.astimezone(UTC) - timedelta(days=retention_days)


def _exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return con.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
                       [schema, table]).fetchone()[0] > 0


def _columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> dict[str, str]:
    return dict(con.execute("SELECT column_name, data_type FROM information_schema.columns "
                            "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
                            [schema, table]).fetchall())


def _sync_archive(con: duckdb.DuckDBPyConnection, mart: str) -> None:
    """Create archive.<mart> like marts.<mart>, adding any columns the mart gained since."""
    if not _exists(con, "archive", mart):
        con.execute(f"CREATE TABLE archive.{mart} AS SELECT * FROM marts.{mart} LIMIT 0")
    live, kept = _columns(con, "marts", mart), _columns(con, "archive", mart)
    for col, dtype in live.items():
        if col not in kept:
            con.execute(f'ALTER TABLE archive.{mart} ADD COLUMN "{col}" {dtype}')


def freeze_marts(con: duckdb.DuckDBPyConnection, cutoff: datetime) -> dict[str, date]:
    """Archive every mart period that may depend on text from before ``cutoff`` and is not archived yet;
    move each mart's watermark forward. Returns {mart: frozen_before} for marts whose watermark moved."""
    moved: dict[str, date] = {}
    now = datetime.now(UTC)
    for m in FROZEN_MARTS:
        if not _exists(con, "marts", m.table):
            continue
        _sync_archive(con, m.table)
        before = (pd.Timestamp(cutoff.date()) + m.lookback).date()
        row = con.execute("SELECT frozen_before FROM archive.frozen_marts WHERE mart = ?", [m.table]).fetchone()
        previous = row[0] if row else date.min
        if before <= previous:
            continue
        con.execute(f"INSERT INTO archive.{m.table} BY NAME SELECT * FROM marts.{m.table} "
                    f"WHERE {m.period_column} >= ? AND {m.period_column} < ?", [previous, before])
        n = con.execute(f"SELECT count(*) FROM archive.{m.table}").fetchone()[0]
        con.execute("INSERT OR REPLACE INTO archive.frozen_marts VALUES (?, ?, ?, ?, ?)",
                    [m.table, m.period_column, before, n, now])
        moved[m.table] = before
    return moved


def apply_frozen_periods(con: duckdb.DuckDBPyConnection) -> int:
    """Replace the frozen periods of the rebuilt marts with their archived rows. Returns rows restored."""
    restored = 0
    with transaction(con):
        for table, column, before in con.execute(
            "SELECT mart, period_column, frozen_before FROM archive.frozen_marts ORDER BY mart"
        ).fetchall():
            if not (_exists(con, "archive", table) and _exists(con, "marts", table)):
                continue
            live = _columns(con, "marts", table)
            shared = ", ".join(f'"{c}"' for c in _columns(con, "archive", table) if c in live)
            con.execute(f'DELETE FROM marts."{table}" WHERE "{column}" < ?', [before])
            restored += con.execute(f'INSERT INTO marts."{table}" ({shared}) SELECT {shared} FROM archive."{table}"'
                                    ).fetchone()[0]
    return int(restored)


def rebuild_marts(con: duckdb.DuckDBPyConnection, settings: Settings) -> MartsReport:
    """``build_marts`` plus the frozen periods: what every marts rebuild should call."""
    report = build_marts(con, settings)
    apply_frozen_periods(con)
    return report


def _snapshot_marts(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """The marts' dated rows as Arrow tables (the undated review group has no period and is recomputed).
    Kept outside DuckDB: build_marts drops every temp table."""
    return {m.table: con.execute(f"SELECT * FROM marts.{m.table} WHERE {m.period_column} IS NOT NULL").fetch_arrow_table()
            for m in FROZEN_MARTS if _exists(con, "marts", m.table)}


def _changed_rows(con: duckdb.DuckDBPyConnection, before: dict[str, Any], after: dict[str, Any]) -> int:
    """Rows in one snapshot and not the other, summed over the marts."""
    changed = 0
    for table in before.keys() | after.keys():
        if table not in before or table not in after:
            changed += len(before.get(table) or after.get(table))
            continue
        con.register("retention_before", before[table])
        con.register("retention_after", after[table])
        changed += con.execute(
            "SELECT (SELECT count(*) FROM (FROM retention_before EXCEPT ALL FROM retention_after)) + "
            "(SELECT count(*) FROM (FROM retention_after EXCEPT ALL FROM retention_before))").fetchone()[0]
        con.unregister("retention_before")
        con.unregister("retention_after")
    return int(changed)


def _purge(con: duckdb.DuckDBPyConnection, report: RetentionReport) -> None:
    from pipeline.privacy.erase import _base_tables

    cutoff = report.cutoff
    expired_posts = {r[0] for r in con.execute(
        "SELECT DISTINCT post_key FROM raw.posts WHERE created_at < ?", [cutoff]).fetchall()}
    expired_reviews = {r[0] for r in con.execute(
        "SELECT DISTINCT review_key FROM raw.reviews WHERE coalesce(created_at, loaded_at) < ?",
        [cutoff]).fetchall()}
    deleted = report.deleted
    deleted["raw.posts"] = con.execute("DELETE FROM raw.posts WHERE created_at < ?", [cutoff]).fetchone()[0]
    deleted["raw.reviews"] = con.execute("DELETE FROM raw.reviews WHERE coalesce(created_at, loaded_at) < ?",
                                         [cutoff]).fetchone()[0]
    # A post or review expires only once no version of it is left.
    gone = sorted((expired_posts - {r[0] for r in con.execute("SELECT post_key FROM raw.posts").fetchall()})
                  | (expired_reviews - {r[0] for r in con.execute("SELECT review_key FROM raw.reviews").fetchall()}))
    doc_ids = {r[0] for r in con.execute(
        "SELECT doc_id FROM nlp.documents WHERE source_key IN (SELECT unnest(?))", [gone]).fetchall()}
    tables = _base_tables(con)
    for schema, table, columns in tables:
        if schema == "raw":
            continue
        for column, _ in columns:
            values = sorted(doc_ids) if column == "doc_id" else gone
            if column in KEY_COLUMNS and values:
                n = con.execute(f'DELETE FROM {schema}."{table}" WHERE "{column}" IN (SELECT unnest(?))',
                                [values]).fetchone()[0]
                deleted[f"{schema}.{table}"] = deleted.get(f"{schema}.{table}", 0) + n
    deleted["quality.held_rows"] = con.execute(
        "DELETE FROM quality.held_rows WHERE coalesce(created_at, held_at) < ?", [cutoff]).fetchone()[0]
    deleted["quarantine.rows"] = con.execute(
        "DELETE FROM quarantine.rows WHERE quarantined_at < ?", [cutoff]).fetchone()[0]
    # Score caches (no text, but a hash of it) of texts that exist nowhere any more.
    for schema, table, columns in tables:
        if any(c == "text_hash" for c, _ in columns) and (schema, table) != ("nlp", "documents"):
            n = con.execute(f"""DELETE FROM {schema}."{table}" WHERE text_hash NOT IN
                                (SELECT text_hash FROM staging.texts UNION SELECT text_hash FROM nlp.documents)""").fetchone()[0]
            deleted[f"{schema}.{table}"] = deleted.get(f"{schema}.{table}", 0) + n


def prune_docs_results(docs_dir: Path, cutoff: datetime) -> int:
    """Delete Data Docs result files (counts only, but history) older than the window; the next docs
    build drops their pages."""
    results = docs_dir / "_gx_results"
    if not results.is_dir():
        return 0
    pruned = 0
    for f in results.rglob("*.json"):
        if datetime.fromtimestamp(f.stat().st_mtime, UTC) < cutoff:
            f.unlink()
            pruned += 1
    return pruned


def purge_expired(con: duckdb.DuckDBPyConnection, settings: Settings, *, now: datetime | None = None,
                  dry_run: bool = False) -> RetentionReport:
    """Freeze closed mart periods, purge expired text, rebuild the marts; see the module docstring."""
    now = now or datetime.now(UTC)
    cutoff = retention_cutoff(now, settings.retention_days)
    report = RetentionReport(cutoff, dry_run=dry_run)
    if dry_run:
        con.execute("BEGIN")
        try:
            _purge(con, report)
        finally:
            con.execute("ROLLBACK")
        return report
    rebuild_marts(con, settings)  # freeze figures computed from the complete, current data
    before = _snapshot_marts(con)
    with transaction(con):
        report.frozen_before = freeze_marts(con, cutoff)
        _purge(con, report)
    rebuild_marts(con, settings)
    report.mart_rows_changed = _changed_rows(con, before, _snapshot_marts(con))
    if report.mart_rows_changed:
        log.warning("retention changed %d mart row(s) outside frozen periods", report.mart_rows_changed)
    from pipeline.quality.runner import docs_dir_for

    report.docs_results_pruned = prune_docs_results(docs_dir_for(settings), cutoff)
    return report


# --- CLI -----------------------------------------------------------------------------------------------


def register_cli(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "retention",
        help="purge employee text older than the retention window (marts keep their aggregates)",
        description=(
            "Deletes posts and reviews older than STEMNING_RETENTION_DAYS (whole weeks / months), their NLP "
            "rows and cached scores, and old quarantine/held rows. Mart periods are frozen before their text "
            "is purged, so historic dashboard figures do not change. The stemning_retention DAG runs this daily."
        ),
        epilog="Examples:\n  stemning retention --dry-run\n  stemning retention --days 365",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--days", type=int, help="retention window in days (default: STEMNING_RETENTION_DAYS)")
    p.add_argument("--dry-run", action="store_true", help="report what would be purged; change nothing")
    p.set_defaults(func=run_retention_cli)


def run_retention_cli(args: argparse.Namespace) -> int:
    from pipeline.config import get_settings
    from pipeline.db import connect

    settings = get_settings(db_path=getattr(args, "db", None), retention_days=args.days)
    with connect(settings.db_path) as con:
        report = purge_expired(con, settings, dry_run=args.dry_run)
    print(report.summary())
    return 0
