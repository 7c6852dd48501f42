"""
### Stemning ingestion: one DAG per source kind

Each DAG scans its landing folder (`$STEMNING_LANDING/<kind>/`, default `landing/<kind>/`) every 15
minutes and ingests every file it has not seen (by content hash): pseudonymise authors, redact PII,
validate, and write `raw.<kind>`; bad rows go to `quarantine.rows` with a reason. Re-running is a
no-op. When new rows land, the DAG updates its Asset, which triggers `stemning_nlp` (posts, reviews)
or `stemning_marts` (roster).

Drop files like this: `landing/roster/hris_2026-03.csv`, `landing/posts/slack_export/` (or `.zip`),
`landing/posts/intranet.csv`, `landing/reviews/glassdoor.jsonl`. Formats: see README, "Input formats".
"""

from __future__ import annotations

import pendulum
from airflow.sdk import Asset, dag, task

from pipeline.orchestration import DEFAULT_ARGS, RAW_POSTS, RAW_REVIEWS, RAW_ROSTER, TAGS_BASE


def build_ingest_dag(kind: str, asset: Asset) -> None:
    @dag(
        dag_id=f"stemning_ingest_{kind}",
        schedule="*/15 * * * *",
        start_date=pendulum.datetime(2026, 1, 1, tz="Europe/Copenhagen"),
        catchup=False,
        max_active_runs=1,
        default_args=DEFAULT_ARGS,
        tags=[*TAGS_BASE, "ingest", kind],
        doc_md=__doc__,
    )
    def ingest_dag() -> None:
        @task(outlets=[asset])
        def ingest_landing_folder() -> dict:
            from pipeline.steps import ingest_landing_step

            return ingest_landing_step(kind)

        ingest_landing_folder()

    ingest_dag()


build_ingest_dag("roster", RAW_ROSTER)
build_ingest_dag("posts", RAW_POSTS)
build_ingest_dag("reviews", RAW_REVIEWS)
