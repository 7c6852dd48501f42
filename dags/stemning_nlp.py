"""
### Stemning NLP: language ID, sentiment (doc + sentence level), themes

Triggered when new posts or reviews land. Scores only texts that are new or changed since the last
run (cache by text hash + model id + model version), so re-runs are cheap and a new model version
re-scores exactly once. Model: `STEMNING_SENTIMENT_MODEL` (see `stemning models list`).

Data-quality gates (great-expectations, `pipeline/quality/suites/`): raw + staging before scoring
(failing raw rows move to `quarantine.rows`), nlp after it. A failing batch-level expectation fails the
task; results in `quality.validation_results`, Data Docs in `<warehouse folder>/data_docs/`.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import dag, task

from pipeline.orchestration import DEFAULT_ARGS, NLP_SCORES, RAW_POSTS, RAW_REVIEWS, TAGS_BASE


@dag(
    dag_id="stemning_nlp",
    schedule=(RAW_POSTS | RAW_REVIEWS),
    start_date=pendulum.datetime(2026, 1, 1, tz="Europe/Copenhagen"),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=[*TAGS_BASE, "nlp"],
    doc_md=__doc__,
)
def stemning_nlp() -> None:
    @task
    def validate_raw_and_staging() -> dict:
        from pipeline.steps import validate_step

        return validate_step(("raw", "staging"))

    @task
    def score_pending_texts() -> dict:
        from pipeline.steps import sentiment_step

        return sentiment_step()

    @task(outlets=[NLP_SCORES])
    def validate_nlp_outputs() -> dict:
        from pipeline.steps import validate_step

        return validate_step(("nlp",))

    validate_raw_and_staging() >> score_pending_texts() >> validate_nlp_outputs()


stemning_nlp()
