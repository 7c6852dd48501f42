"""
### Stemning retention: purge employee text older than the retention window

Daily. Deletes posts and reviews older than `STEMNING_RETENTION_DAYS` (default 180), their NLP rows
and cached scores, and old quarantine and quality-held rows. Marts keep their aggregates: periods that
depend on purged text are frozen in `archive.*` first and restored on every rebuild, so historic
dashboard figures do not change (`pipeline/retention.py`). Afterwards the marts gate validates the
result (no group below k, rates in range).
"""

from __future__ import annotations

import pendulum
from airflow.sdk import dag, task

from pipeline.orchestration import DEFAULT_ARGS, TAGS_BASE


@dag(
    dag_id="stemning_retention",
    schedule="@daily",
    start_date=pendulum.datetime(2026, 1, 1, tz="Europe/Copenhagen"),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=[*TAGS_BASE, "privacy", "retention"],
    doc_md=__doc__,
)
def stemning_retention() -> None:
    @task
    def purge_expired_text() -> dict:
        from pipeline.steps import retention_step

        return retention_step()

    @task
    def validate_marts() -> dict:
        from pipeline.steps import validate_step

        return validate_step(("marts",))

    purge_expired_text() >> validate_marts()


stemning_retention()
