"""Run a layer's expectation suites against the warehouse, act on the results, store them.

For each suite: run its DuckDB query, validate the DataFrame with great-expectations, then
- ``quarantine`` failures: move the failing raw rows out (pipeline/quality/quarantine.py);
- ``fail`` failures: after storing every result of the layer, raise :class:`QualityGateError`;
- ``warn`` failures: only recorded.
Results go to ``quality.validation_results`` / ``quality.validation_runs`` and the GX Data Docs under
``<warehouse folder>/data_docs``. Layers run in the order given; a failing layer stops the rest.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from pipeline.config import Settings
from pipeline.db import registered, transaction
from pipeline.quality.quarantine import RAW_TABLES, REASON_PREFIX, hold_failing_rows
from pipeline.quality.suites import LAYERS, SuiteSpec, load_layer

log = logging.getLogger(__name__)

# Timestamps before this are parse errors (epoch 0, two-digit years), not posts.
MIN_PLAUSIBLE_TIMESTAMP = pd.Timestamp("2000-01-01", tz="UTC")
MIN_PLAUSIBLE_HIRE_DATE = pd.Timestamp("1950-01-01")
# Planned hires appear in HR exports before their first day.
MAX_HIRE_DATE_AHEAD = timedelta(days=366)
OBSERVED_MAX_CHARS = 2000


class QualityGateError(RuntimeError):
    """A batch-level (``fail``) expectation failed; the message names the suite(s) and expectation(s)."""


@dataclass
class ResultRow:
    suite: str
    table_name: str
    expectation_index: int
    expectation: str
    expectation_type: str
    kwargs: str
    on_failure: str
    success: bool
    element_count: int | None
    unexpected_count: int | None
    unexpected_percent: float | None
    observed_value: str | None
    rows_quarantined: int
    exception: str | None


@dataclass
class LayerReport:
    run_id: str
    layer: str
    results: list[ResultRow] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    rows_quarantined: int = 0

    @property
    def failures(self) -> list[ResultRow]:
        return [r for r in self.results if not r.success and r.on_failure == "fail"]

    @property
    def warnings(self) -> list[ResultRow]:
        return [r for r in self.results if not r.success and r.on_failure == "warn"]

    @property
    def success(self) -> bool:
        return not self.failures

    def summary(self) -> str:
        text = (f"{self.layer}: {len(self.results)} expectations, {len(self.failures)} failed, "
                f"{len(self.warnings)} warnings, {self.rows_quarantined} rows quarantined")
        if self.skipped:
            text += f" (skipped, table missing: {', '.join(self.skipped)})"
        return text


def run_parameters(settings: Settings, now: datetime) -> dict[str, Any]:
    """Values for the suites' {"$PARAMETER": name} placeholders."""
    from pipeline.ingest.common import MAX_TEXT_CHARS

    today = pd.Timestamp(now.date())
    return {
        "min_timestamp": MIN_PLAUSIBLE_TIMESTAMP,
        "max_timestamp": pd.Timestamp(now) + pd.Timedelta(hours=settings.max_future_skew_hours),
        "min_hire_date": MIN_PLAUSIBLE_HIRE_DATE,
        "max_hire_date": today + pd.Timedelta(MAX_HIRE_DATE_AHEAD),
        "max_text_chars": MAX_TEXT_CHARS,
        "min_group_size": settings.min_group_size,
        "min_group_size_text": settings.min_group_size_text,
    }


def docs_dir_for(settings: Settings) -> Path:
    return settings.db_path.parent / "data_docs"


def new_run_id(now: datetime) -> str:
    return f"{now.strftime('%Y%m%dT%H%M%SZ')}-{uuid.uuid4().hex[:8]}"


def _table_exists(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    schema, name = table.split(".")
    return con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?", [schema, name]
    ).fetchone()[0] > 0


def _json(value: Any) -> str | None:
    if value is None:
        return None
    text = json.dumps(value, default=str, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= OBSERVED_MAX_CHARS else text[: OBSERVED_MAX_CHARS - 1] + "…"


def _validate_suite(con: duckdb.DuckDBPyConnection, spec: SuiteSpec, params: dict[str, Any], run_id: str,
                    engine: Any, now: datetime) -> tuple[list[ResultRow], int]:
    df = con.execute(spec.query).df()
    outcomes = engine.validate(spec, df, params, run_id=run_id)
    failing: dict[int, list[str]] = {}
    rows: list[ResultRow] = []
    for o in outcomes:
        e = spec.expectations[o.index]
        on_failure = e.on_failure
        if o.exception is not None:
            on_failure = "fail"  # a suite that cannot be evaluated is a broken gate, never a pass
        elif on_failure == "quarantine" and not o.success:
            if not o.failing_positions:
                on_failure = "fail"  # an aggregate expectation cannot name rows to quarantine
            for pos in o.failing_positions:
                failing.setdefault(pos, []).append(e.label)
        rows.append(ResultRow(
            suite=spec.name, table_name=spec.table, expectation_index=o.index, expectation=e.label,
            expectation_type=e.type, kwargs=_json(o.kwargs) or "{}", on_failure=on_failure, success=o.success,
            element_count=o.element_count, unexpected_count=o.unexpected_count,
            unexpected_percent=o.unexpected_percent, observed_value=_json(o.observed_value),
            rows_quarantined=len(o.failing_positions) if on_failure == "quarantine" else 0,
            exception=o.exception,
        ))
    moved = 0
    if failing:
        key = RAW_TABLES[spec.table].key
        positions = sorted(failing)
        bad = df.iloc[positions][[key, "content_hash"]].copy()
        bad["reason"] = [REASON_PREFIX + "; ".join(failing[p]) for p in positions]
        moved = hold_failing_rows(con, spec.table, bad, run_id, now)
        log.warning("%s: %d rows moved to quarantine (%s)", spec.name, moved,
                    ", ".join(sorted({label for labels in failing.values() for label in labels})))
    return rows, moved


def validate_layer(con: duckdb.DuckDBPyConnection, layer: str, settings: Settings, *, run_id: str,
                   engine: Any, now: datetime | None = None) -> LayerReport:
    """Validate every suite of ``layer``, quarantine failing raw rows, store the results. Does not raise
    on failures (see :func:`validate_layers`)."""
    started = datetime.now(UTC)
    now = now or started
    params = run_parameters(settings, now)
    report = LayerReport(run_id, layer)
    for spec in load_layer(layer):
        if not _table_exists(con, spec.table):
            report.skipped.append(spec.name)
            continue
        rows, moved = _validate_suite(con, spec, params, run_id, engine, now)
        report.results.extend(rows)
        report.rows_quarantined += moved
    store_report(con, report, engine.version, started)
    return report


def store_report(con: duckdb.DuckDBPyConnection, report: LayerReport, gx_version: str, started: datetime) -> None:
    finished = datetime.now(UTC)
    df = pd.DataFrame([r.__dict__ for r in report.results], columns=list(ResultRow.__dataclass_fields__))
    df.insert(0, "run_id", report.run_id)
    df.insert(2, "layer", report.layer)
    df["validated_at"] = finished
    with transaction(con):
        if not df.empty:
            with registered(con, "new_results", df):
                con.execute("INSERT OR REPLACE INTO quality.validation_results BY NAME SELECT * FROM new_results")
        con.execute(
            "INSERT OR REPLACE INTO quality.validation_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [report.run_id, report.layer, report.success, len(report.results), len(report.failures),
             len(report.warnings), report.rows_quarantined, gx_version, started, finished],
        )


def failure_message(report: LayerReport, docs_index: Path | None) -> str:
    parts = []
    for r in report.failures[:5]:
        detail = (f"raised {r.exception}" if r.exception else
                  f"{r.unexpected_count} of {r.element_count} rows unexpected" if r.unexpected_count is not None
                  else f"observed {r.observed_value}")
        parts.append(f"{r.suite}: {r.expectation} — {detail}")
    more = f" (+{len(report.failures) - 5} more)" if len(report.failures) > 5 else ""
    where = f"SELECT * FROM quality.validation_results WHERE run_id = '{report.run_id}' AND NOT success"
    docs = f"; Data Docs: {docs_index}" if docs_index else ""
    return (f"data quality gate failed for layer {report.layer}: " + "; ".join(parts) + more
            + f". Fix the data or the upstream step, then re-run this task. Details: {where}{docs}")


def validate_layers(con: duckdb.DuckDBPyConnection, settings: Settings, layers: tuple[str, ...] | list[str],
                    *, build_docs: bool = True, raise_on_failure: bool = True) -> list[LayerReport]:
    """Validate ``layers`` in order (a failing layer stops the rest), render the Data Docs, and raise
    :class:`QualityGateError` if a batch-level expectation failed."""
    from pipeline.quality.gx_engine import get_engine

    unknown = [la for la in layers if la not in LAYERS]
    if unknown:
        raise ValueError(f"unknown layer(s) {', '.join(unknown)}; expected some of {', '.join(LAYERS)}")
    if "raw" in layers:
        # Erased people stay erased even when a later export brings their rows back.
        from pipeline.privacy.erase import enforce_erasures

        enforce_erasures(con, key_file=settings.key_file)
    docs_dir = docs_dir_for(settings) if build_docs else None
    engine = get_engine(docs_dir)
    now = datetime.now(UTC)
    run_id = new_run_id(now)
    reports: list[LayerReport] = []
    for layer in layers:
        report = validate_layer(con, layer, settings, run_id=run_id, engine=engine, now=now)
        log.info(report.summary())
        reports.append(report)
        if not report.success:
            break
    docs_index = None
    if build_docs:
        try:
            docs_index = engine.build_docs()
        except Exception as exc:  # the docs are a view of results already stored; never block the gate
            log.warning("Data Docs were not rebuilt: %s", exc)
    failed = next((r for r in reports if not r.success), None)
    if failed is not None and raise_on_failure:
        raise QualityGateError(failure_message(failed, docs_index))
    return reports
