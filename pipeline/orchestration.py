"""What the DAG files share: Assets that chain them, default task arguments, the writer pool.

Kept free of heavy imports: DAG files import this at parse time.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import Asset

from pipeline.airflow_env import WRITER_POOL

RAW_ROSTER = Asset("stemning_raw_roster")
RAW_POSTS = Asset("stemning_raw_posts")
RAW_REVIEWS = Asset("stemning_raw_reviews")
NLP_SCORES = Asset("stemning_nlp_scores")
MARTS = Asset("stemning_marts")

DEFAULT_ARGS = {
    "owner": "stemning",
    "retries": 2,
    "retry_delay": timedelta(minutes=2),
    # Every task here writes the one DuckDB file: the one-slot pool keeps writers strictly serial.
    "pool": WRITER_POOL,
}
TAGS_BASE = ["stemning"]
