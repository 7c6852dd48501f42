"""Right to erasure on a real DuckDB file built by the real ingestion (CSV posts + a Slack export),
NLP, quality gate and marts: after `erase`, no table of any schema holds the person's pseudonyms,
post keys, document ids, text hashes or texts; other people's rows (including their replies) stay;
the marts are rebuilt; and rows that come back in a later export are dropped again."""

from __future__ import annotations

import argparse
import csv
import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pipeline.config import Settings, get_settings
from pipeline.db import connect
from pipeline.ingest.service import IngestOptions, ingest_path
from pipeline.privacy.erase import erase_author, register_cli
from pipeline.quality.runner import validate_layers

MARKER = "kanelsnegle"  # only in the erased person's texts
PEOPLE = [f"E{i}" for i in range(1, 8)]  # seven in one team: still >= k = 5 after one is erased
WEEKS = 4


def _write_inputs(folder: Path, now: datetime) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    roster = [["employee_id", "name", "email", "department", "team", "hire_date", "termination_date"]]
    roster += [[e, f"Navn{e} Hansen", f"{e.lower()}@firma.dk", "Salg", "Nord", "2024-01-01", ""] for e in PEOPLE]
    roster[1][1:3] = ["Mette Hansen", "mette.hansen@firma.dk"]
    posts = [["post_id", "author_id", "channel", "created_at", "text", "reactions", "parent_id"]]
    n = 0
    for w in range(WEEKS):
        for i, emp in enumerate(PEOPLE):
            n += 1
            ts = (now - timedelta(weeks=WEEKS - w, hours=i + 1)).isoformat()
            text = (f"Jeg vil gerne have flere {MARKER} i kantinen, uge {w}" if emp == "E1"
                    else f"Godt samarbejde i teamet denne uge {w} nummer {i}")
            posts.append([n, emp, "general", ts, text, i % 2, ""])
    # E2 replies to E1's first post: the reply is E2's and must stay.
    posts.append([n + 1, "E2", "general", (now - timedelta(days=2)).isoformat(), "Helt enig, god idé", 0, 1])
    files = {"roster": folder / "roster.csv", "posts": folder / "posts.csv"}
    for kind, rows in (("roster", roster), ("posts", posts)):
        with files[kind].open("w", newline="") as fh:
            csv.writer(fh).writerows(rows)
    files["slack"] = _write_slack_export(folder / "slack", now)
    return files


def _write_slack_export(root: Path, now: datetime) -> Path:
    """Mette (U1, e-mail as in the roster) posts twice; E2 (U2) replies in her thread."""
    (root / "general").mkdir(parents=True)
    users = [
        {"id": "U1", "name": "mette", "real_name": "Mette Hansen",
         "profile": {"email": "mette.hansen@firma.dk", "real_name": "Mette Hansen", "display_name": "mette"}},
        {"id": "U2", "name": "navn", "real_name": "NavnE2 Hansen",
         "profile": {"email": "e2@firma.dk", "real_name": "NavnE2 Hansen", "display_name": "e2"}},
    ]
    (root / "users.json").write_text(json.dumps(users))
    (root / "channels.json").write_text(json.dumps([{"id": "C1", "name": "general"}]))
    day = now - timedelta(days=3)
    t0 = f"{day.timestamp():.6f}"
    messages = [
        {"type": "message", "user": "U1", "text": f"Hvem har bestilt {MARKER} til fredag?", "ts": t0, "thread_ts": t0},
        {"type": "message", "user": "U2", "text": "Det har jeg, de kommer kl. 14", "ts": f"{day.timestamp() + 60:.6f}",
         "thread_ts": t0},
        {"type": "message", "user": "U1", "text": f"Tak, jeg elsker {MARKER}", "ts": f"{day.timestamp() + 120:.6f}"},
    ]
    (root / "general" / f"{day.date().isoformat()}.json").write_text(json.dumps(messages))
    return root


def _build(base: Path) -> tuple[Settings, dict[str, Path]]:
    from pipeline.nlp.run import run_sentiment
    from pipeline.retention import rebuild_marts

    settings = get_settings(db_path=base / "w.duckdb", sentiment_model="afinn-lexicon")
    files = _write_inputs(base / "input", datetime.now(UTC))
    with connect(settings.db_path) as con:
        ingest_path(con, settings, "roster", files["roster"])
        ingest_path(con, settings, "posts", files["posts"])
        ingest_path(con, settings, "posts", files["slack"])
        run_sentiment(con, "afinn-lexicon", progress=False)
        # Theme rows for every scored document (as the themes step writes them).
        con.execute("""INSERT INTO nlp.document_themes SELECT doc_id, text_hash, ['workload'], false, 'test', now()
                       FROM nlp.documents""")
        con.execute("""INSERT INTO nlp.sentence_themes SELECT doc_id, start_char, end_char, 'workload'
                       FROM nlp.sentences""")
        # A row of hers that a quality gate holds back (negative reactions from a buggy loader).
        con.execute(f"""INSERT INTO raw.posts SELECT * REPLACE ('csv:bad' AS post_key, 'bad' AS content_hash,
                            -1 AS reactions, 'line 99' AS source_position, 'Mere {MARKER}, tak' AS text)
                        FROM raw.posts WHERE post_key = 'csv:1'""")
        validate_layers(con, settings, ("raw",), build_docs=False)
        rebuild_marts(con, settings)
    return settings, files


def _her_traces(con) -> dict[str, set[str]]:
    from pipeline.ingest.posts import author_key_for_email, author_key_for_employee
    from pipeline.privacy.pseudonym import load_key

    key = load_key()
    keys = {author_key_for_employee("E1", key), author_key_for_email("mette.hansen@firma.dk", key)}
    post_keys = {r[0] for r in con.execute("SELECT post_key FROM raw.posts WHERE author_key IN (SELECT unnest(?)) "
                                           "UNION SELECT row_key FROM quality.held_rows WHERE author_key IN (SELECT unnest(?))",
                                           [sorted(keys), sorted(keys)]).fetchall()}
    doc_ids = {r[0] for r in con.execute("SELECT doc_id FROM nlp.documents WHERE source_key IN (SELECT unnest(?))",
                                         [sorted(post_keys)]).fetchall()}
    hashes = {r[0] for r in con.execute("SELECT text_hash FROM nlp.documents WHERE doc_id IN (SELECT unnest(?))",
                                        [sorted(doc_ids)]).fetchall()}
    return {"keys": keys, "post_keys": post_keys, "doc_ids": doc_ids, "hashes": hashes}


def _scan_everything(con, traces: dict[str, set[str]]) -> list[str]:
    """Every column of every table in every schema (private, meta and marts included), as text."""
    exact = traces["post_keys"] | traces["doc_ids"]
    contained = traces["keys"] | traces["hashes"] | {MARKER}
    hits = []
    columns = con.execute("""SELECT c.table_schema, c.table_name, c.column_name FROM information_schema.columns c
                             JOIN information_schema.tables t USING (table_catalog, table_schema, table_name)
                             WHERE t.table_type = 'BASE TABLE' AND c.table_catalog = current_database()""").fetchall()
    for schema, table, column in columns:
        values = [v for (v,) in con.execute(f'SELECT DISTINCT "{column}"::VARCHAR FROM {schema}."{table}"').fetchall()
                  if v is not None]
        for v in values:
            if v in exact or any(c in v for c in contained):
                hits.append(f"{schema}.{table}.{column}: {v[:60]}")
    return hits


@pytest.fixture(scope="module")
def built_once(tmp_path_factory) -> tuple[Settings, dict[str, Path]]:
    return _build(tmp_path_factory.mktemp("erase"))


@pytest.fixture()
def built(built_once, tmp_path: Path) -> tuple[Settings, dict[str, Path]]:
    """A private copy of the warehouse for one test."""
    settings, files = built_once
    shutil.copy(settings.db_path, tmp_path / "w.duckdb")
    return get_settings(db_path=tmp_path / "w.duckdb", sentiment_model="afinn-lexicon"), files


def test_erase_removes_every_trace_and_keeps_everyone_else(built):
    settings, _ = built
    with connect(settings.db_path) as con:
        traces = _her_traces(con)
        assert len(traces["post_keys"]) == WEEKS + 2 + 1  # CSV, Slack, held
        assert len(_scan_everything(con, traces)) > 10  # the scan does see her before erasure
        others_before = con.execute("SELECT count(*) FROM raw.posts WHERE author_key NOT IN (SELECT unnest(?))",
                                    [sorted(traces["keys"])]).fetchone()[0]
        her_messages = con.execute("SELECT count(*) FROM staging.posts WHERE author_key IN (SELECT unnest(?))",
                                   [sorted(traces["keys"])]).fetchone()[0]
        messages_before = con.execute("SELECT sum(messages) FROM marts.engagement_weekly "
                                      "WHERE org_level = 'team' AND NOT suppressed").fetchone()[0]
        report = erase_author(con, settings, ["E1"])
        hits = _scan_everything(con, traces)
        others_after = con.execute("SELECT count(*) FROM raw.posts").fetchone()[0]
        replies = con.execute("SELECT parent_key, count(*) FROM raw.posts WHERE parent_key IS NOT NULL GROUP BY 1"
                              ).fetchall()
        messages_after = con.execute("SELECT sum(messages) FROM marts.engagement_weekly "
                                     "WHERE org_level = 'team' AND NOT suppressed").fetchone()[0]
        tombstones = con.execute("SELECT count(*) FROM private.erasure_tombstones").fetchone()[0]
    assert hits == []
    assert not report.residue and report.rows_deleted > 0
    assert report.deleted["quarantine.rows"] == 1 and report.deleted["quality.held_rows"] == 1
    assert others_after == others_before
    assert replies == [("erased", 2)]  # E2's CSV reply and Slack thread reply stay, unlinked
    # Marts rebuilt: her weekly CSV posts left the published team-weeks (her two Slack posts fall in the
    # current week, which has two posters and is suppressed).
    assert her_messages == WEEKS + 2 and messages_before - messages_after == WEEKS
    assert tombstones == 3  # employee key, e-mail key, and the Slack reading of "E1" (matched nothing)


def test_rows_that_come_back_in_a_later_export_are_dropped_again(built):
    settings, files = built
    with connect(settings.db_path) as con:
        erase_author(con, settings, ["mette.hansen@firma.dk"])  # the e-mail finds her employee id too
        ingest_path(con, settings, "posts", files["posts"], IngestOptions(force=True))
        back = con.execute("SELECT count(*) FROM raw.posts WHERE text LIKE ?", [f"%{MARKER}%"]).fetchone()[0]
        validate_layers(con, settings, ("raw",), build_docs=False)
        after = con.execute("SELECT count(*) FROM raw.posts WHERE text LIKE ?", [f"%{MARKER}%"]).fetchone()[0]
    assert back == WEEKS and after == 0


def test_erase_cli_dry_run_and_unknown_id(built, capsys):
    settings, _ = built
    parser = argparse.ArgumentParser()
    parser.add_argument("--db")
    register_cli(parser.add_subparsers())
    with connect(settings.db_path, read_only=True) as con:
        before = con.execute("SELECT count(*) FROM raw.posts").fetchone()[0]
    args = parser.parse_args(["--db", str(settings.db_path), "erase", "--author", "E3", "--dry-run"])
    assert args.func(args) == 0
    out = capsys.readouterr().out
    args = parser.parse_args(["--db", str(settings.db_path), "erase", "--author", "nobody@firma.dk"])
    assert args.func(args) == 0
    out_unknown = capsys.readouterr().out
    with connect(settings.db_path, read_only=True) as con:
        after = con.execute("SELECT count(*) FROM raw.posts").fetchone()[0]
    assert "would delete" in out and f"raw.posts: {WEEKS}" in out
    assert "no rows matched" in out_unknown
    assert before == after
