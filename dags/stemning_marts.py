"""
### Stemning marts: dashboard tables

Triggered when new scores or a new roster land. Rebuilds every `marts.*` table from staging and NLP
(idempotent full rebuild; small-group suppression applied in SQL), reloads the data dictionary.
Mart periods frozen by retention keep their archived figures (`pipeline/retention.py`).

Data-quality gates (great-expectations, `pipeline/quality/suites/`): raw + staging before the build (a
new roster also triggers this DAG), marts after it (no unsuppressed group below k, rates in range, no
NULL keys). A failing gate fails the task, so the marts Asset is not updated.

Last, `audit_pii` scans every text column of the warehouse for PII (e-mails, phones, CPR, IBAN, Slack
mentions, known names) and fails the run on any hit (`stemning audit-pii` does the same by hand).
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
    @task
    def validate_raw_and_staging() -> dict:
        from pipeline.steps import validate_step

        return validate_step(("raw", "staging"))

    @task
    def build_dashboard_tables() -> dict:
        from pipeline.steps import marts_step

        return marts_step()

    @task
    def validate_marts() -> dict:
        from pipeline.steps import validate_step

        return validate_step(("marts",))

    @task(outlets=[MARTS])
    def audit_pii() -> dict:
        from pipeline.steps import audit_step

        return audit_step()

    validate_raw_and_staging() >> build_dashboard_tables() >> validate_marts() >> audit_pii()


stemning_marts()
