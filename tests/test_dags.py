"""DAG integrity: every DAG file imports cleanly, is documented, tagged and retried, and does no heavy
imports at parse time."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import REPO

EXPECTED_DAGS = {
    "stemning_ingest_roster", "stemning_ingest_posts", "stemning_ingest_reviews", "stemning_nlp", "stemning_marts",
    "stemning_retention",
}


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(REPO / "dags"))


def test_no_import_errors(dagbag):
    assert dagbag.import_errors == {}


def test_expected_dags_present(dagbag):
    assert set(dagbag.dag_ids) >= EXPECTED_DAGS


def test_every_dag_has_tags_docs_retries_and_the_writer_pool(dagbag):
    for dag_id in dagbag.dag_ids:
        dag = dagbag.dags[dag_id]
        assert dag.tags and "stemning" in dag.tags, dag_id
        assert dag.doc_md and len(dag.doc_md) > 100, dag_id
        assert dag.max_active_runs == 1, dag_id
        for t in dag.tasks:
            assert t.retries >= 2, f"{dag_id}.{t.task_id}"
            assert t.pool == "duckdb_writer", f"{dag_id}.{t.task_id} must hold the one-slot DuckDB writer pool"


def test_asset_chain(dagbag):
    nlp = dagbag.dags["stemning_nlp"]
    marts = dagbag.dags["stemning_marts"]
    assert "stemning_raw_posts" in str(nlp.timetable.asset_condition)
    assert "stemning_nlp_scores" in str(marts.timetable.asset_condition)


def test_parsing_dags_does_not_import_heavy_libraries():
    code = (
        "import sys, runpy, pathlib\n"
        f"for f in sorted(pathlib.Path({str(REPO / 'dags')!r}).glob('*.py')):\n"
        "    runpy.run_path(str(f))\n"
        "heavy = [m for m in ('torch', 'transformers', 'spacy', 'great_expectations', 'lingua') if m in sys.modules]\n"
        "print('HEAVY=' + ','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert "HEAVY=\n" in out.stdout + "\n" and out.stdout.strip().endswith("HEAVY="), out.stdout[-500:]
