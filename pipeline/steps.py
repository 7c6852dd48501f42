"""The pipeline's steps as plain functions: the Airflow tasks and the CLI call exactly these.

Each step opens the warehouse for its own duration (one writer at a time; in Airflow the tasks also
share the one-slot ``duckdb_writer`` pool), does one idempotent unit of work and returns a small
JSON-able summary (it becomes the task's XCom and the CLI's printout).
"""

from __future__ import annotations

import logging
from typing import Any

from pipeline.config import Settings, get_settings
from pipeline.db import connect

log = logging.getLogger(__name__)


def ingest_landing_step(kind: str, settings: Settings | None = None) -> dict[str, Any]:
    from pipeline.ingest.service import ingest_landing

    settings = settings or get_settings()
    with connect(settings.db_path) as con:
        reports = ingest_landing(con, settings, kind)
    for r in reports:
        log.info(r.summary())
    return {
        "kind": kind,
        "files": len(reports),
        "new_files": sum(not r.already_ingested for r in reports),
        "rows_loaded": sum(r.rows_loaded for r in reports),
        "rows_quarantined": sum(r.rows_quarantined for r in reports),
        "summaries": [r.summary() for r in reports],
    }


def sentiment_step(settings: Settings | None = None, progress: bool = False) -> dict[str, Any]:
    """Language ID + sentiment for new/changed texts, then themes and leave intent for them."""
    from pipeline.nlp.run import run_sentiment
    from pipeline.nlp.themes_run import run_themes

    settings = settings or get_settings()
    with connect(settings.db_path) as con:
        report = run_sentiment(con, settings.sentiment_model, batch_size=settings.batch_size, progress=progress)
        themes = run_themes(con, progress=progress)
    log.info(report.summary())
    log.info(themes.summary())
    return {"pending": report.pending, "scored": report.scored, "cache_hits": report.cache_hits,
            "model": f"{report.model_id} {report.model_version}", "themes_analysed": themes.analysed,
            "summary": report.summary() + "\n" + themes.summary()}


def marts_step(settings: Settings | None = None) -> dict[str, Any]:
    # rebuild_marts = build_marts + the periods frozen by retention (pipeline/retention.py).
    from pipeline.retention import rebuild_marts

    settings = settings or get_settings()
    with connect(settings.db_path) as con:
        report = rebuild_marts(con, settings)
    log.info(report.summary())
    return {"tables": report.tables, "summary": report.summary()}


def validate_step(layers: tuple[str, ...], settings: Settings | None = None) -> dict[str, Any]:
    """Data-quality gate between stages (pipeline/quality): raises QualityGateError on a batch failure."""
    from pipeline.quality.runner import validate_layers

    settings = settings or get_settings()
    with connect(settings.db_path) as con:
        reports = validate_layers(con, settings, layers)
    for r in reports:
        log.info(r.summary())
    return {
        "run_id": reports[0].run_id if reports else None,
        "layers": [r.layer for r in reports],
        "expectations": sum(len(r.results) for r in reports),
        "warnings": sum(len(r.warnings) for r in reports),
        "rows_quarantined": sum(r.rows_quarantined for r in reports),
        "summaries": [r.summary() for r in reports],
    }


def retention_step(settings: Settings | None = None) -> dict[str, Any]:
    """Purge text older than the retention window; marts keep their (frozen) aggregates."""
    from pipeline.retention import purge_expired

    settings = settings or get_settings()
    with connect(settings.db_path) as con:
        report = purge_expired(con, settings)
    log.info(report.summary())
    return {"cutoff": report.cutoff.isoformat(), "rows_deleted": report.rows_deleted, "deleted": report.deleted,
            "mart_rows_changed": report.mart_rows_changed, "summary": report.summary()}


class PiiFoundError(RuntimeError):
    """The end-of-run PII audit found personal data in the warehouse (the run must fail)."""


def audit_step(settings: Settings | None = None) -> dict[str, Any]:
    """Scan every text column for PII (patterns + known-name hashes); raise if anything is found."""
    from pipeline.privacy.audit import audit_database, format_report, names_for_audit, text_columns

    settings = settings or get_settings()
    with connect(settings.db_path) as con:
        key, index, names_note = names_for_audit(con, use_names=True)
        findings = audit_database(con, index, key=key)
        n_columns = len(text_columns(con))
    report = format_report(findings, n_columns, names_note)
    if findings:
        raise PiiFoundError(
            f"PII audit failed: {len(findings)} column/kind hit(s). Fix the redaction rule, then erase or "
            f"re-ingest the affected rows (see README, Privacy).\n{report}"
        )
    log.info(report)
    return {"columns_scanned": n_columns, "findings": 0, "names": names_note}
