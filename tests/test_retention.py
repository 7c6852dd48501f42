"""Retention on a real DuckDB file built by the real ingestion, NLP and marts code: text older than the
window is purged from raw, NLP and caches; marts keep every historic figure unchanged (frozen periods),
also through later rebuilds; a second run is a no-op; a dry run changes nothing."""

from __future__ import annotations

import csv
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pipeline.config import Settings, get_settings
from pipeline.db import connect
from pipeline.ingest.service import ingest_path
from pipeline.marts import build_marts
from pipeline.retention import FROZEN_MARTS, apply_frozen_periods, purge_expired, rebuild_marts

WEEKS = 40  # data reaches ~280 days back; the default window is 180 days
TEXTS = ("Godt møde, tak for hjælpen", "For meget arbejde og stress i denne uge", "Great release, happy team",
         "Frustrating outage again", "Fin stemning på holdet i dag", "Travlt, men det går")


def _write_inputs(folder: Path, now: datetime) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    roster = [["employee_id", "name", "email", "department", "team", "hire_date", "termination_date"]]
    posts = [["post_id", "author_id", "channel", "created_at", "text", "reactions", "parent_id"]]
    n = 0
    for t, team in enumerate(("Nord", "Syd")):
        for i in range(6):
            emp = f"E{t}{i}"
            roster.append([emp, f"Navn{t}{i} Jensen", f"e{t}{i}@firma.dk", "Salg", team, "2023-01-01", ""])
            for w in range(WEEKS):
                n += 1
                ts = now - timedelta(weeks=WEEKS - w, hours=3 * i + t)
                posts.append([n, emp, "general", ts.isoformat(), f"{TEXTS[(n * 7 + w) % len(TEXTS)]} #{w}", i % 3, ""])
    reviews = [["review_id", "source", "company", "created_at", "rating", "pros", "cons", "employment_status"]]
    for m in range(9):
        day = now - timedelta(days=30 * m + 5)
        reviews += [[f"r{m}-{j}", "glassdoor", "Firma", day.isoformat(), 1 + (m + j) % 5, f"Gode kolleger {m}",
                     "For mange møder", "current" if j % 2 else "former"] for j in range(6)]
    files = {k: folder / f"{k}.csv" for k in ("roster", "posts", "reviews")}
    for kind, rows in (("roster", roster), ("posts", posts), ("reviews", reviews)):
        with files[kind].open("w", newline="") as fh:
            csv.writer(fh).writerows(rows)
    return files


@pytest.fixture(scope="module")
def built_once(tmp_path_factory) -> Settings:
    from pipeline.nlp.run import run_sentiment

    base = tmp_path_factory.mktemp("retention")
    settings = get_settings(db_path=base / "w.duckdb", sentiment_model="afinn-lexicon", retention_days=180)
    files = _write_inputs(base / "input", datetime.now(UTC))
    with connect(settings.db_path) as con:
        for kind in ("roster", "posts", "reviews"):
            ingest_path(con, settings, kind, files[kind])
        run_sentiment(con, "afinn-lexicon", progress=False)
        # Themes as the themes step writes them, so the theme mart has rows to freeze.
        con.execute("""INSERT INTO nlp.document_themes
                       SELECT doc_id, text_hash, CASE WHEN hash(doc_id) % 2 = 0 THEN ['workload'] ELSE ['collaboration'] END,
                              false, 'test', now() FROM nlp.documents""")
        con.execute("""INSERT INTO nlp.sentence_themes SELECT s.doc_id, s.start_char, s.end_char, t.themes[1]
                       FROM nlp.sentences s JOIN nlp.document_themes t USING (doc_id)""")
        con.execute("""INSERT INTO quarantine.rows VALUES
                       ('posts', 'old.csv', 'f1', 'line 2', 'bad_timestamp: x', 'gammel tekst', now() - INTERVAL 200 DAY),
                       ('posts', 'new.csv', 'f2', 'line 2', 'bad_timestamp: x', 'ny tekst', now() - INTERVAL 2 DAY)""")
        rebuild_marts(con, settings)
    return settings


@pytest.fixture()
def warehouse(built_once: Settings, tmp_path: Path) -> Settings:
    shutil.copy(built_once.db_path, tmp_path / "w.duckdb")
    return get_settings(db_path=tmp_path / "w.duckdb", sentiment_model="afinn-lexicon", retention_days=180)


def _dated_marts(con) -> dict[str, list[tuple]]:
    return {m.table: con.execute(f"SELECT * FROM marts.{m.table} WHERE {m.period_column} IS NOT NULL ORDER BY ALL"
                                 ).fetchall() for m in FROZEN_MARTS}


def _counts(con) -> dict[str, int]:
    tables = ("raw.posts", "raw.reviews", "nlp.documents", "nlp.sentences", "nlp.document_themes",
              "nlp.sentence_themes", "nlp.sentiment_cache", "quarantine.rows")
    return {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}


def test_purge_deletes_old_text_and_keeps_every_historic_mart_figure(warehouse: Settings):
    cutoff = datetime.now(UTC) - timedelta(days=180)
    with connect(warehouse.db_path) as con:
        before = _dated_marts(con)
        old_posts = con.execute("SELECT count(*) FROM raw.posts WHERE created_at < ?", [cutoff]).fetchone()[0]
        old_reviews = con.execute("SELECT count(*) FROM raw.reviews WHERE created_at < ?", [cutoff]).fetchone()[0]
        report = purge_expired(con, warehouse)
        after = _dated_marts(con)
        oldest = con.execute("SELECT min(created_at) FROM raw.posts").fetchone()[0]
        orphans = con.execute("""
            SELECT (SELECT count(*) FROM nlp.documents WHERE doc_id NOT IN (SELECT doc_id FROM staging.texts))
                 + (SELECT count(*) FROM nlp.sentences WHERE doc_id NOT IN (SELECT doc_id FROM staging.texts))
                 + (SELECT count(*) FROM nlp.document_themes WHERE doc_id NOT IN (SELECT doc_id FROM staging.texts))
                 + (SELECT count(*) FROM nlp.sentence_themes WHERE doc_id NOT IN (SELECT doc_id FROM staging.texts))
                 + (SELECT count(*) FROM nlp.sentiment_cache WHERE text_hash NOT IN (SELECT text_hash FROM staging.texts))
        """).fetchone()[0]
        quarantine = con.execute("SELECT source_file FROM quarantine.rows").fetchall()
        oldest_week = con.execute("SELECT min(week_start) FROM marts.engagement_weekly").fetchone()[0]
        watermarks = dict(con.execute("SELECT mart, frozen_before FROM archive.frozen_marts").fetchall())
    assert old_posts > 100 and old_reviews >= 6
    assert report.deleted["raw.posts"] == old_posts and report.deleted["raw.reviews"] == old_reviews
    assert oldest >= cutoff - timedelta(minutes=5) and orphans == 0
    assert quarantine == [("new.csv",)]
    assert report.mart_rows_changed == 0
    assert after == before  # every dated row of every mart, old weeks included
    assert oldest_week < (cutoff - timedelta(weeks=10)).date()
    assert set(watermarks) == {m.table for m in FROZEN_MARTS}
    assert all(before[m.table] for m in FROZEN_MARTS if m.table != "alerts")  # the comparison is not vacuous


def test_rebuilds_after_a_purge_keep_frozen_periods_and_a_second_purge_is_a_noop(warehouse: Settings):
    with connect(warehouse.db_path) as con:
        purge_expired(con, warehouse)
        frozen = _dated_marts(con)
        build_marts(con, warehouse)  # a plain rebuild from what is left loses the purged weeks ...
        plain = _dated_marts(con)
        apply_frozen_periods(con)  # ... which the frozen periods put back
        restored = _dated_marts(con)
        rebuild_marts(con, warehouse)  # what the marts DAG runs
        rebuilt = _dated_marts(con)
        again = purge_expired(con, warehouse)
        final = _dated_marts(con)
    assert len(plain["engagement_weekly"]) < len(frozen["engagement_weekly"])
    assert restored == frozen and rebuilt == frozen and final == frozen
    assert again.rows_deleted == 0 and again.mart_rows_changed == 0 and again.frozen_before == {}


def test_marts_gate_passes_on_frozen_marts(warehouse: Settings):
    from pipeline.quality.runner import validate_layers

    with connect(warehouse.db_path) as con:
        purge_expired(con, warehouse)
        reports = validate_layers(con, warehouse, ("staging", "nlp", "marts"), build_docs=False)
    assert all(r.success for r in reports)
    assert not [w for r in reports for w in r.warnings if w.suite == "nlp.orphans"]


def test_dry_run_reports_and_changes_nothing(warehouse: Settings):
    with connect(warehouse.db_path) as con:
        before = _counts(con)
        report = purge_expired(con, warehouse, dry_run=True)
        after = _counts(con)
        frozen = con.execute("SELECT count(*) FROM archive.frozen_marts").fetchone()[0]
    assert report.rows_deleted > 0 and report.deleted["raw.posts"] > 0
    assert before == after and frozen == 0


def test_retention_dag_runs_daily_through_the_writer_pool():
    from airflow.dag_processing.dagbag import DagBag

    from tests.conftest import REPO

    bag = DagBag(dag_folder=str(REPO / "dags" / "stemning_retention.py"))
    assert bag.import_errors == {}
    dag = bag.dags["stemning_retention"]
    assert [t.task_id for t in dag.topological_sort()] == ["purge_expired_text", "validate_marts"]
    assert all(t.pool == "duckdb_writer" and t.retries >= 2 for t in dag.tasks)
    assert dag.schedule == "@daily"
