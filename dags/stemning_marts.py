"""
### Stemning marts: dashboard tables

Triggered when new scores or a new roster land. Rebuilds every `marts.*` table from staging and NLP
(idempotent full rebuild; small-group suppression applied in SQL), reloads the data dictionary.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import dag, task

from pipeline.orchestration import DEFAULT_ARGS, MARTS, NLP_SCORES, RAW_ROSTER, TAGS_BASE


@dag(
    dag_id="stemning_marts",
    schedule=(NLP_SCORES | RAW_ROSTER),
    start_date=pendulum.datetime(2026, 1, 1, tz="Europe/Copenhagen"),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=[*TAGS_BASE, "marts"],
    doc_md=__doc__,
)
def stemning_marts() -> None:
    @task(outlets=[MARTS])
    def build_dashboard_tables() -> dict:
        from pipeline.steps import marts_step

        return marts_step()

    build_dashboard_tables()


stemning_marts()
