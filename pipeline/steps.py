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
    from pipeline.marts import build_marts

    settings = settings or get_settings()
    with connect(settings.db_path) as con:
        report = build_marts(con, settings)
    log.info(report.summary())
    return {"tables": report.tables, "summary": report.summary()}
