"""Data-quality gates (great-expectations 1.x) on real DuckDB files built by the real ingestion, NLP and
marts code: clean data passes every layer; failing raw rows are quarantined with the expectation named
and vanish downstream; batch-level failures stop with a clear message and a re-run after the fix
resumes without duplicates; results and Data Docs hold no row values."""

from __future__ import annotations

import argparse
import csv
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pipeline.config import Settings, get_settings
from pipeline.db import connect
from pipeline.ingest.service import ingest_path
from pipeline.quality.quarantine import release_held_rows
from pipeline.quality.runner import QualityGateError, docs_dir_for, validate_layers
from pipeline.quality.suites import LAYERS, load_layer

TEXTS = (
    "Godt møde i dag, tak for hjælpen",
    "Frustrerende at systemet er nede igen",
    "Great sprint review, really happy with the result",
    "Too many meetings this week, I am tired",
    "Fin stemning på holdet",
    "The new release went smoothly",
)
TEAMS = ("Nord", "Syd")
PER_TEAM = 6
WEEKS = 6


def _write_company(folder: Path, now: datetime) -> dict[str, Path]:
    """12 employees in two teams, everyone posting weekly for 6 weeks, plus 6 reviews."""
    folder.mkdir(parents=True, exist_ok=True)
    roster = [["employee_id", "name", "email", "department", "team", "hire_date", "termination_date"]]
    posts = [["post_id", "author_id", "channel", "created_at", "text", "reactions", "parent_id"]]
    n = 0
    for t, team in enumerate(TEAMS):
        for i in range(PER_TEAM):
            emp = f"E{t}{i}"
            roster.append([emp, f"Person{t}{i} Efternavn", f"p{t}{i}@firma.dk", "Salg", team, "2024-01-01", ""])
            for w in range(WEEKS):
                n += 1
                ts = (now - timedelta(weeks=WEEKS - w, hours=i)).isoformat()
                posts.append([n, emp, "general", ts, f"{TEXTS[(n + t) % len(TEXTS)]} ({w})", i % 3, ""])
    month = (now - timedelta(days=40)).replace(day=3).isoformat()
    reviews = [["review_id", "source", "company", "created_at", "rating", "pros", "cons", "employment_status"]]
    reviews += [[f"r{i}", "glassdoor", "Firma", month, 1 + i % 5, "Gode kolleger", "For mange møder", "current"]
                for i in range(6)]
    files = {"roster": folder / "roster.csv", "posts": folder / "posts.csv", "reviews": folder / "reviews.csv"}
    for kind, rows in (("roster", roster), ("posts", posts), ("reviews", reviews)):
        with files[kind].open("w", newline="") as fh:
            csv.writer(fh).writerows(rows)
    return files


def build_warehouse(base: Path) -> Settings:
    from pipeline.nlp.run import run_sentiment
    from pipeline.retention import rebuild_marts

    settings = get_settings(db_path=base / "warehouse" / "w.duckdb", sentiment_model="afinn-lexicon")
    files = _write_company(base / "input", datetime.now(UTC))
    with connect(settings.db_path) as con:
        for kind in ("roster", "posts", "reviews"):
            ingest_path(con, settings, kind, files[kind])
        run_sentiment(con, "afinn-lexicon", progress=False)
        rebuild_marts(con, settings)
    return settings


@pytest.fixture(scope="module")
def clean_warehouse(tmp_path_factory) -> Settings:
    return build_warehouse(tmp_path_factory.mktemp("quality"))


@pytest.fixture()
def warehouse(clean_warehouse: Settings, tmp_path: Path) -> Settings:
    """A private copy of the clean warehouse for one test."""
    db = tmp_path / "warehouse" / "w.duckdb"
    db.parent.mkdir()
    shutil.copy(clean_warehouse.db_path, db)
    return get_settings(db_path=db, sentiment_model="afinn-lexicon")


def test_suites_load_and_every_expectation_is_known_to_gx():
    import great_expectations as gx

    for layer in LAYERS:
        suites = load_layer(layer)
        assert suites, layer
        for spec in suites:
            for e in spec.expectations:
                gx.ExpectationSuite(name="probe", expectations=[{"type": e.type, "kwargs": e.kwargs}])
    raw = {s.name for s in load_layer("raw")}
    assert {"raw.posts", "raw.posts.schema", "raw.reviews", "raw.roster"} <= raw


def test_clean_warehouse_passes_every_layer_and_results_are_stored(warehouse: Settings):
    with connect(warehouse.db_path) as con:
        reports = validate_layers(con, warehouse, LAYERS)
        stored = con.execute("SELECT layer, count(*), bool_and(success) FROM quality.validation_results "
                             "GROUP BY layer ORDER BY layer").fetchall()
        runs = con.execute("SELECT layer, success, expectations FROM quality.validation_runs ORDER BY layer").fetchall()
        k_checks = con.execute("SELECT count(*) FROM quality.validation_results WHERE suite LIKE '%k_anonymity' "
                               "AND element_count > 0").fetchone()[0]
        published = con.execute("SELECT count(*) FROM marts.engagement_weekly WHERE NOT suppressed").fetchone()[0]
    assert [r.layer for r in reports] == list(LAYERS)
    assert all(r.success and r.rows_quarantined == 0 for r in reports)
    assert {layer for layer, _, ok in stored if ok} == set(LAYERS)
    assert [(layer, ok) for layer, ok, _ in runs] == [(la, True) for la in sorted(LAYERS)]
    assert published > 0 and k_checks > 0  # the k-anonymity suites really looked at published rows
    index = docs_dir_for(warehouse) / "index.html"
    assert index.exists() and reports[0].run_id in index.read_text()


def _insert_bad_rows(con) -> None:
    """Rows a buggy loader might write: out-of-range rating, future and epoch-0 timestamps, a raw
    (unpseudonymised) author, negative reactions, and an over-long text with a unique marker."""
    con.execute("""
        INSERT INTO raw.reviews (review_key, content_hash, source, company, created_at, rating, pros, redactions,
                                 source_file, source_position, loaded_at)
        VALUES ('glassdoor:bad', 'h1', 'glassdoor', 'Firma', now() - INTERVAL 3 DAY, 9, 'ok', 0,
                'manual.csv', 'line 2', now())
    """)
    con.execute("""
        INSERT INTO raw.posts (post_key, content_hash, source_system, author_key, channel, created_at, text,
                               reactions, redactions, source_file, source_position, loaded_at)
        VALUES ('csv:future', 'h2', 'csv', 'p_' || repeat('a', 32), 'general', now() + INTERVAL 30 DAY, 'hej', 0, 0,
                'manual.csv', 'line 3', now()),
               ('csv:epoch', 'h3', 'csv', 'p_' || repeat('a', 32), 'general', TIMESTAMPTZ '1970-01-01 00:00:00+00',
                'hej', 0, 0, 'manual.csv', 'line 4', now()),
               ('csv:raw_author', 'h4', 'csv', 'mette@firma.dk', 'general', now() - INTERVAL 1 DAY, 'hej', 0, 0,
                'manual.csv', 'line 5', now()),
               ('csv:two_faults', 'h5', 'csv', 'E1', 'general', now() - INTERVAL 1 DAY, 'hej', -4, 0,
                'manual.csv', 'line 6', now()),
               ('csv:long', 'h6', 'csv', 'p_' || repeat('b', 32), 'general', now() - INTERVAL 1 DAY,
                repeat('ZQXJMARKER ', 2000), 0, 0, 'manual.csv', 'line 7', now())
    """)


def test_failing_rows_are_quarantined_with_the_expectation_named_and_excluded_downstream(warehouse: Settings):
    with connect(warehouse.db_path) as con:
        _insert_bad_rows(con)
        before = con.execute("SELECT count(*) FROM raw.posts").fetchone()[0]
        reports = validate_layers(con, warehouse, ("raw", "staging"))
        reasons = dict(con.execute("SELECT source_position, reason FROM quarantine.rows "
                                   "WHERE source_file = 'manual.csv'").fetchall())
        held = con.execute("SELECT count(*) FROM quality.held_rows").fetchone()[0]
        left = con.execute("SELECT count(*) FROM raw.posts").fetchone()[0]
        staged = con.execute("SELECT count(*) FROM staging.texts WHERE source_key IN "
                             "('csv:future', 'csv:epoch', 'csv:raw_author', 'csv:two_faults', 'csv:long', 'glassdoor:bad')"
                             ).fetchone()[0]
        # Re-running finds nothing new and duplicates nothing.
        again = validate_layers(con, warehouse, ("raw", "staging"))
        counts_again = con.execute("SELECT (SELECT count(*) FROM quarantine.rows), (SELECT count(*) FROM quality.held_rows)"
                                   ).fetchone()
    assert reports[0].rows_quarantined == 6 and all(r.success for r in reports)
    assert reasons == {
        "line 2": "expectation_failed: expect_column_values_to_be_between(rating)",
        "line 3": "expectation_failed: expect_column_values_to_be_between(created_at)",
        "line 4": "expectation_failed: expect_column_values_to_be_between(created_at)",
        "line 5": "expectation_failed: expect_column_values_to_match_regex(author_key)",
        "line 6": "expectation_failed: expect_column_values_to_match_regex(author_key); "
                  "expect_column_values_to_be_between(reactions)",
        "line 7": "expectation_failed: expect_column_value_lengths_to_be_between(text)",
    }
    assert held == 6 and left == before - 5 and staged == 0
    assert again[0].rows_quarantined == 0 and counts_again == (6, 6)


def test_row_conservation_holds_after_quarantine(warehouse: Settings, tmp_path: Path):
    """in = stored + quarantined (+ skipped): moving a row from raw to quarantine keeps the balance."""
    path = tmp_path / "late.csv"
    now = datetime.now(UTC)
    path.write_text("post_id,author_id,channel,created_at,text,reactions,parent_id\n"
                    f"900,E00,general,{(now - timedelta(days=1)).isoformat()},fint,1,\n"
                    f"901,E01,general,{(now - timedelta(days=1)).isoformat()},fint igen,2,\n"
                    "902,E02,general,not a date,hmm,0,\n")
    with connect(warehouse.db_path) as con:
        report = ingest_path(con, warehouse, "posts", path)
        con.execute("UPDATE raw.posts SET reactions = -1 WHERE post_key = 'csv:901'")  # a loader bug
        validate_layers(con, warehouse, ("raw",), build_docs=False)
        stored = con.execute("SELECT count(*) FROM raw.posts WHERE source_file = ?", [str(path)]).fetchone()[0]
        quarantined = con.execute("SELECT count(*) FROM quarantine.rows WHERE file_hash = ?",
                                  [report.file_hash]).fetchone()[0]
    assert (report.rows_loaded, report.rows_quarantined) == (2, 1)
    assert (stored, quarantined) == (1, 2)
    assert report.rows_seen == stored + quarantined + report.rows_skipped


def test_results_and_data_docs_hold_no_row_values(warehouse: Settings):
    with connect(warehouse.db_path) as con:
        _insert_bad_rows(con)
        validate_layers(con, warehouse, ("raw",))
        stored = con.execute("SELECT string_agg(coalesce(observed_value, '') || kwargs, ' ') "
                             "FROM quality.validation_results").fetchone()[0]
        failed = con.execute("SELECT unexpected_count FROM quality.validation_results WHERE suite = 'raw.posts' "
                             "AND expectation = 'expect_column_value_lengths_to_be_between(text)'").fetchone()[0]
    assert failed == 1 and "ZQXJMARKER" not in stored
    docs = docs_dir_for(warehouse)
    files = [f for f in docs.rglob("*") if f.is_file() and f.suffix in {".json", ".html"}]
    assert files and not [f for f in files if "ZQXJMARKER" in f.read_text(errors="ignore")]


def test_data_docs_keep_a_bounded_history_per_suite(warehouse: Settings, monkeypatch):
    from pipeline.quality import gx_engine

    monkeypatch.setattr(gx_engine, "DOCS_HISTORY_PER_SUITE", 2)
    with connect(warehouse.db_path) as con:
        runs = [validate_layers(con, warehouse, ("raw",))[0].run_id for _ in range(3)]
    pages = docs_dir_for(warehouse) / "validations" / "raw" / "posts"
    kept = sorted(p.name for p in pages.iterdir() if p.name != "schema" and any(p.rglob("*.html")))
    assert kept == sorted(runs[1:])


def test_batch_failure_stops_with_a_clear_message_and_a_rerun_after_the_fix_resumes(warehouse: Settings):
    with connect(warehouse.db_path) as con:
        # Two employees sharing one e-mail key would attach each Slack post to both.
        con.execute("UPDATE raw.roster SET email_key = (SELECT min(email_key) FROM raw.roster) "
                    "WHERE employee_key = (SELECT max(employee_key) FROM raw.roster)")
        with pytest.raises(QualityGateError) as err:
            validate_layers(con, warehouse, ("raw", "staging", "nlp"))
        runs = con.execute("SELECT layer, success FROM quality.validation_runs ORDER BY started_at, layer").fetchall()
        failed = con.execute("SELECT suite, expectation FROM quality.validation_results WHERE NOT success").fetchall()
        # The fix: give the employee their own key again; the re-run passes.
        con.execute("UPDATE raw.roster SET email_key = 'p_' || repeat('c', 32) "
                    "WHERE employee_key = (SELECT max(employee_key) FROM raw.roster)")
        reports = validate_layers(con, warehouse, ("raw", "staging", "nlp"))
        totals = con.execute("SELECT count(DISTINCT run_id), count(*) FROM quality.validation_runs").fetchone()
    message = str(err.value)
    assert "layer staging" in message and "staging.roster: expect_column_values_to_be_unique(email_key)" in message
    assert "2 of 12 rows unexpected" in message and "re-run" in message
    assert sorted(runs) == [("raw", True), ("staging", False)]  # nlp never ran
    assert failed == [("staging.roster", "expect_column_values_to_be_unique(email_key)")]
    assert all(r.success for r in reports) and totals == (2, 5)


def test_marts_gate_catches_a_published_group_below_k(warehouse: Settings):
    with connect(warehouse.db_path) as con:
        con.execute("""UPDATE marts.engagement_weekly SET active_posters = 2
                       WHERE NOT suppressed AND org_level = 'team'
                         AND week_start = (SELECT max(week_start) FROM marts.engagement_weekly WHERE NOT suppressed)""")
        with pytest.raises(QualityGateError, match=r"marts.engagement_weekly.k_anonymity: "
                                                   r"expect_column_values_to_be_between\(active_posters\)"):
            validate_layers(con, warehouse, ("marts",), build_docs=False)


def test_held_rows_can_be_released_after_a_wrong_expectation(warehouse: Settings):
    with connect(warehouse.db_path) as con:
        _insert_bad_rows(con)
        validate_layers(con, warehouse, ("raw",), build_docs=False)
        released = release_held_rows(con, "raw.reviews", reason_contains="(rating)")
        back = con.execute("SELECT rating, created_at IS NOT NULL FROM raw.reviews WHERE review_key = 'glassdoor:bad'"
                           ).fetchall()
        left = con.execute("SELECT count(*) FROM quarantine.rows WHERE source_position = 'line 2'").fetchone()[0]
    assert released == 1 and back == [(9.0, True)] and left == 0


def test_quality_cli(warehouse: Settings, capsys):
    from pipeline.quality.cli import register_cli

    parser = argparse.ArgumentParser()
    parser.add_argument("--db")
    register_cli(parser.add_subparsers())
    args = parser.parse_args(["--db", str(warehouse.db_path), "quality", "--layer", "raw", "--no-docs"])
    assert args.func(args) == 0
    assert "raw: 28 expectations, 0 failed" in capsys.readouterr().out
