"""End to end through the real Airflow DAGs (dag.test()) over a small simulated company, into a real
DuckDB file: marts are filled, values are in range, small groups are suppressed, and a second run
changes nothing."""

from __future__ import annotations

import os

import pytest

from pipeline.config import get_settings
from pipeline.db import connect
from pipeline.demo import export_settings, run_dags, stage_sample_data

pytestmark = pytest.mark.slow

MART_TABLES = (
    "engagement_weekly", "theme_sentiment_weekly", "retention_signals_monthly", "employer_brand_monthly",
    "onboarding_cohorts_monthly", "alerts",
)


def _snapshot(db_path) -> dict[str, list[tuple]]:
    with connect(db_path, read_only=True) as con:
        snap = {t: con.execute(f"SELECT * FROM marts.{t} ORDER BY ALL").fetchall() for t in MART_TABLES}
        for t in ("raw.posts", "raw.reviews", "raw.roster", "quarantine.rows", "nlp.documents", "nlp.sentences"):
            snap[t] = con.execute(f"SELECT count(*) FROM {t}").fetchall()
    return snap


@pytest.fixture(scope="module")
def pipeline_run(small_company, airflow_db, tmp_path_factory):
    base = tmp_path_factory.mktemp("e2e")
    settings = get_settings(db_path=base / "warehouse.duckdb", landing_dir=base / "landing")
    saved = dict(os.environ)
    export_settings(settings)
    stage_sample_data(small_company, settings.landing_dir)
    timings = run_dags()
    first = _snapshot(settings.db_path)
    yield settings, first, timings
    os.environ.clear()
    os.environ.update(saved)


def test_every_dag_succeeded_and_marts_are_filled(pipeline_run):
    settings, snap, timings = pipeline_run
    assert set(timings) >= {"stemning_ingest_posts", "stemning_nlp", "stemning_marts"}
    assert snap["raw.posts"][0][0] > 200 and snap["raw.reviews"][0][0] > 10 and snap["raw.roster"][0][0] > 20
    assert all(len(snap[t]) > 0 for t in MART_TABLES if t != "alerts")  # a quiet company may raise no alert
    with connect(settings.db_path, read_only=True) as con:
        # Every staged text was scored exactly once, with the configured default model.
        unscored = con.execute(
            "SELECT count(*) FROM staging.texts t LEFT JOIN nlp.documents d USING (doc_id) WHERE d.doc_id IS NULL"
        ).fetchone()[0]
        models = con.execute("SELECT DISTINCT model_id FROM nlp.documents").fetchall()
    assert unscored == 0
    assert models == [(settings.sentiment_model,)]


def test_quality_gates_ran_and_no_mart_holds_a_person(pipeline_run):
    settings, _, _ = pipeline_run
    with connect(settings.db_path, read_only=True) as con:
        layers = {r[0] for r in con.execute("SELECT DISTINCT layer FROM quality.validation_runs").fetchall()}
        person_columns = con.execute(
            "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'marts' "
            "AND (column_name LIKE '%author%' OR column_name LIKE '%employee%' OR column_name IN ('post_key', 'created_at'))"
        ).fetchall()
    assert {"raw", "staging", "nlp", "marts"} <= layers
    assert person_columns == []


def test_values_are_in_range(pipeline_run):
    settings, _, _ = pipeline_run
    with connect(settings.db_path, read_only=True) as con:
        bad = con.execute(
            """
            SELECT count(*) FROM marts.engagement_weekly
            WHERE participation_rate NOT BETWEEN 0 AND 1 OR mean_sentiment NOT BETWEEN -1 AND 1
               OR pct_positive NOT BETWEEN 0 AND 1 OR pct_negative NOT BETWEEN 0 AND 1
               OR net_sentiment NOT BETWEEN -100 AND 100 OR active_posters > headcount
            """
        ).fetchone()[0]
        levels = {r[0] for r in con.execute("SELECT DISTINCT org_level FROM marts.engagement_weekly").fetchall()}
        probs = con.execute(
            "SELECT max(abs(p_negative + p_neutral + p_positive - 1)), min(sentiment_score), max(sentiment_score) FROM nlp.documents"
        ).fetchone()
    assert bad == 0
    assert levels == {"team", "department", "company"}
    assert probs[0] < 1e-6 and -1 <= probs[1] <= probs[2] <= 1


def test_small_groups_are_suppressed(pipeline_run):
    settings, _, _ = pipeline_run
    k = settings.min_group_size
    with connect(settings.db_path, read_only=True) as con:
        leaks = con.execute(
            f"""
            SELECT count(*) FROM marts.engagement_weekly
            WHERE (headcount < {k} OR active_posters < {k}) OR (suppressed AND (mean_sentiment IS NOT NULL OR posts IS NOT NULL))
            """
        ).fetchone()[0]
        suppressed = con.execute("SELECT count(*) FROM marts.engagement_weekly WHERE suppressed").fetchone()[0]
        brand_leaks = con.execute(
            f"SELECT count(*) FROM marts.employer_brand_monthly WHERE reviews < {k} AND mean_rating IS NOT NULL"
        ).fetchone()[0]
    assert leaks == 0 and brand_leaks == 0
    assert suppressed > 0  # the simulated company has teams below k


def test_second_run_is_idempotent(pipeline_run):
    settings, first, _ = pipeline_run
    run_dags()
    assert _snapshot(settings.db_path) == first
