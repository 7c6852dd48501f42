"""Ingestion on real DuckDB files: good and bad input, conservation, idempotency, no raw identities."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.config import get_settings
from pipeline.db import connect
from pipeline.ingest.common import UnsupportedInputError
from pipeline.ingest.service import IngestOptions, ingest_landing, ingest_path

POSTS_HEADER = "post_id,author_id,channel,created_at,text,reactions,parent_id\n"
ROSTER = (
    "employee_id,name,email,department,team,hire_date,termination_date\n"
    "E1,Mette Hansen,mette.hansen@firma.dk,Sales,Nord,2024-01-01,\n"
    "E2,Jens Ole Nielsen,jens@firma.dk,Sales,Nord,2024-02-01,2026-02-28\n"
)


@pytest.fixture()
def settings(tmp_path: Path):
    return get_settings(db_path=tmp_path / "w.duckdb", landing_dir=tmp_path / "landing")


def _write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    (path.write_bytes if isinstance(content, bytes) else path.write_text)(content)
    return path


def _ingest(settings, kind: str, path: Path, **opts):
    with connect(settings.db_path) as con:
        return ingest_path(con, settings, kind, path, IngestOptions(**opts))


def _quarantine(settings) -> list[tuple[str, str]]:
    with connect(settings.db_path, read_only=True) as con:
        return con.execute("SELECT source_position, reason FROM quarantine.rows ORDER BY 1").fetchall()


def _assert_conserved(report) -> None:
    assert report.rows_seen == report.rows_loaded + report.rows_unchanged + report.rows_skipped + report.rows_quarantined


def test_posts_csv_loads_pseudonymised_and_redacted(settings, tmp_path):
    _ingest(settings, "roster", _write(tmp_path / "roster.csv", ROSTER))
    posts = _write(
        tmp_path / "posts.csv",
        POSTS_HEADER
        + "1,E1,general,2026-03-02T09:00:00+01:00,Tak til Mette for hjælpen! Skriv til mette.hansen@firma.dk,3,\n"
        + "2,E2,general,2026-03-02T10:00:00+01:00,Ring på +45 12 34 56 78,0,1\n",
    )
    report = _ingest(settings, "posts", posts)
    assert (report.rows_loaded, report.rows_quarantined) == (2, 0)
    with connect(settings.db_path, read_only=True) as con:
        rows = con.execute("SELECT author_key, text, parent_key, reactions FROM raw.posts ORDER BY post_key").fetchall()
        staged = con.execute("SELECT count(*) FROM staging.posts WHERE author_in_roster AND team = 'Nord'").fetchone()[0]
    assert all(r[0].startswith("p_") and "E1" not in r[0] for r in rows)
    assert "Mette" not in rows[0][1] and "mette.hansen@firma.dk" not in rows[0][1]
    assert "[PERSON]" in rows[0][1] and "[EMAIL]" in rows[0][1]
    assert "[PHONE]" in rows[1][1]
    assert rows[1][2] == "csv:1" and rows[0][3] == 3
    assert staged == 2


def test_reingesting_is_a_noop_and_edits_are_new_versions(settings, tmp_path):
    path = _write(tmp_path / "posts.csv", POSTS_HEADER + "1,E1,c,2026-03-02T09:00:00Z,hej,0,\n")
    first = _ingest(settings, "posts", path)
    again = _ingest(settings, "posts", path)
    assert first.rows_loaded == 1 and again.already_ingested
    forced = _ingest(settings, "posts", path, force=True)
    assert (forced.rows_loaded, forced.rows_unchanged) == (0, 1)
    edited = _write(tmp_path / "posts2.csv", POSTS_HEADER + "1,E1,c,2026-03-02T09:00:00Z,hej igen,0,\n")
    _ingest(settings, "posts", edited)
    with connect(settings.db_path, read_only=True) as con:
        assert con.execute("SELECT count(*) FROM raw.posts").fetchone()[0] == 2
        assert con.execute("SELECT text FROM staging.posts").fetchall() == [("hej igen",)]


def test_bad_rows_are_quarantined_with_reasons_and_nothing_is_lost(settings, tmp_path):
    lines = [
        "1,E1,c,2026-03-02T09:00:00Z,fin tekst,0,",
        "2,E1,c,not-a-date,tekst,0,",  # bad timestamp
        "3,E1,c,2999-01-01T00:00:00Z,fremtid,0,",  # future
        "4,,c,2026-03-02T09:00:00Z,ingen forfatter,0,",  # missing author
        "5,E1,c,2026-03-02T09:00:00Z,,0,",  # empty text
        "1,E1,c,2026-03-02T09:00:00Z,fin tekst,0,",  # duplicate row
        "6,E1,c,2026-03-02T09:00:00Z,reaktioner,-2,",  # bad reactions
        "7,E1,c,2026-03-02T09:00:00Z,for mange,0,,extra",  # too many fields
    ]
    body = (POSTS_HEADER + "\n".join(lines) + "\n").encode()
    body += "8,E1,c,2026-03-02T09:00:00Z,Godt arbejde på kontoret i Århus,0,\n".encode("latin-1")  # Latin-1 row
    report = _ingest(settings, "posts", _write(tmp_path / "posts.csv", body))
    _assert_conserved(report)
    assert report.rows_seen == 9 and report.rows_loaded == 1 and report.rows_quarantined == 8
    reasons = {pos: reason.split(":")[0] for pos, reason in _quarantine(settings)}
    assert reasons == {
        "line 3": "bad_timestamp", "line 4": "future_timestamp", "line 5": "missing_field",
        "line 6": "missing_field", "line 7": "duplicate_row", "line 8": "bad_value",
        "line 9": "malformed_row", "line 10": "bad_encoding",
    }


def test_file_level_problems_give_one_clear_error(settings, tmp_path):
    with pytest.raises(UnsupportedInputError, match="empty file"):
        _ingest(settings, "posts", _write(tmp_path / "empty.csv", ""))
    with pytest.raises(UnsupportedInputError, match=r"missing required column\(s\) \['author_id'"):
        _ingest(settings, "posts", _write(tmp_path / "cols.csv", "post_id,channel,created_at,text\n1,c,2026-01-01,x\n"))
    with pytest.raises(UnsupportedInputError, match="cannot tell the format"):
        _ingest(settings, "posts", _write(tmp_path / "posts.xlsx", "x"))
    with pytest.raises(UnsupportedInputError, match="not supported for reviews"):
        _ingest(settings, "reviews", _write(tmp_path / "r.csv", "x"), fmt="slack")


def test_landing_folder_quarantines_unsupported_files_and_continues(settings):
    landing = settings.landing_dir
    _write(landing / "posts" / "a_bad.csv", "nope\n1\n")
    _write(landing / "posts" / "b_good.jsonl", json.dumps(
        {"post_id": "9", "author_id": "E1", "channel": "c", "created_at": "2026-03-02T09:00:00Z", "text": "hej"}) + "\n{trunc")
    with connect(settings.db_path) as con:
        reports = ingest_landing(con, settings, "posts")
    assert [r.rows_loaded for r in reports] == [0, 1]
    assert reports[0].quarantined[0].reason.startswith("unsupported_file")
    assert reports[1].quarantined[0].reason.startswith("invalid_json")
    with connect(settings.db_path) as con:  # second scan: nothing new
        assert all(r.already_ingested for r in ingest_landing(con, settings, "posts"))


def _slack_export(root: Path) -> Path:
    users = [
        {"id": "U024BE7LH", "name": "mette", "real_name": "Mette Hansen", "profile": {"email": "mette.hansen@firma.dk", "display_name": "mette"}},
        {"id": "U0G9QF9C6", "name": "bjarke", "real_name": "Bjarke Smith", "profile": {"display_name": "Bjarke S"}},
        # A bot: its name is an ordinary word in posts and must not be redacted as a person.
        {"id": "UDZH3U9YZ", "name": "google-calendar", "real_name": "Google Calendar", "is_bot": True, "profile": {}},
    ]
    _write(root / "users.json", json.dumps(users))
    _write(root / "channels.json", json.dumps([{"id": "C1", "name": "general"}]))
    messages = [
        {"type": "message", "user": "U024BE7LH", "text": "Velkommen <@U0G9QF9C6>! Bjarke starter i dag", "ts": "1772442000.000100",
         "reactions": [{"name": "tada", "users": ["U0G9QF9C6"], "count": 2}]},
        {"type": "message", "subtype": "channel_join", "user": "U0G9QF9C6", "text": "<@U0G9QF9C6> has joined", "ts": "1772442001.000100"},
        {"type": "message", "user": "U0G9QF9C6", "text": "Tak Mette! Min calendar er fuld", "ts": "1772442100.000200", "thread_ts": "1772442000.000100"},
        {"type": "message", "user": "U0G9QF9C6", "text": "", "ts": "1772442200.000300"},
    ]
    _write(root / "general" / "2026-03-02.json", json.dumps(messages))
    _write(root / "general" / "2026-03-03.json", '[{"type": "message", "user": "U024BE7LH", "text": "trunc')
    return root


def test_slack_export_directory_and_zip(settings, tmp_path):
    _ingest(settings, "roster", _write(tmp_path / "roster.csv", ROSTER))
    export = _slack_export(tmp_path / "slack")
    report = _ingest(settings, "posts", export)
    _assert_conserved(report)
    assert (report.rows_seen, report.rows_loaded, report.rows_skipped, report.rows_quarantined) == (5, 2, 1, 2)
    with connect(settings.db_path, read_only=True) as con:
        rows = con.execute("SELECT text, parent_key, reactions FROM raw.posts ORDER BY created_at").fetchall()
        mapped = con.execute("SELECT author_in_roster, team FROM staging.posts ORDER BY created_at").fetchall()
    assert rows[0][0] == "Velkommen [MENTION]! [PERSON] starter i dag" and rows[0][2] == 2
    assert rows[1] == ("Tak [PERSON]! Min calendar er fuld", "slack:C1:1772442000.000100", 0)
    assert mapped == [(True, "Nord"), (False, None)]  # Mette joins the roster by e-mail; Bjarke is not in it

    import shutil

    zipped = Path(shutil.make_archive(str(tmp_path / "export"), "zip", export))
    again = _ingest(settings, "posts", zipped)
    assert (again.rows_loaded, again.rows_unchanged) == (0, 2)


def test_reviews_with_mapping_and_validation(settings, tmp_path):
    path = _write(
        tmp_path / "reviews.csv",
        "review_id,industry,company,score,like,dislike\n"
        "1,IT,Acme,4,Great colleagues,Long hours\n"
        "2,IT,Acme,7,ok,ok\n"  # rating out of range
        "3,IT,,3,x,y\n"  # no company
        "4,IT,Acme,2,,\n",  # no text
    )
    report = _ingest(settings, "reviews", path, preset="hrdatasets")
    _assert_conserved(report)
    assert report.rows_loaded == 1
    assert {q.reason.split(":")[0] for q in report.quarantined} == {"rating_out_of_range", "missing_field"}
    with connect(settings.db_path, read_only=True) as con:
        assert con.execute("SELECT source, rating, pros, cons FROM staging.reviews").fetchall() == [
            ("hrdatasets", 4.0, "Great colleagues", "Long hours")
        ]


def test_roster_never_stores_names_or_emails(settings, tmp_path):
    _ingest(settings, "roster", _write(tmp_path / "roster.csv", ROSTER + "E3,X Y,x@y.dk,Sales,Nord,2026-01-05,2025-01-01\n"))
    with connect(settings.db_path, read_only=True) as con:
        dump = str(con.execute("SELECT * FROM raw.roster").fetchall()) + str(con.execute("SELECT * FROM private.name_hashes").fetchall())
        quarantined = con.execute("SELECT reason, excerpt FROM quarantine.rows").fetchall()
    for secret in ("Mette", "Hansen", "mette.hansen@firma.dk", "E1", "Jens"):
        assert secret not in dump
    assert quarantined[0][0].startswith("bad_value: termination_date") and "X Y" not in str(quarantined)
