"""The adversarial PII corpus through the real pipeline: roster + posts + reviews ingested into DuckDB,
scored, marts built; afterwards the audit finds nothing, the placeholders are where the PII was, and the
negative set (dates, prices, versions …) arrives untouched."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from pipeline.config import get_settings
from pipeline.db import connect
from pipeline.ingest.service import IngestOptions, ingest_path
from pipeline.privacy.audit import audit_database
from pipeline.privacy.pseudonym import load_key
from pipeline.privacy.store import load_name_index
from pipeline.steps import audit_step, marts_step, sentiment_step

DATA = Path(__file__).parent / "data" / "pii"


def _jsonl(name: str) -> list[dict]:
    return [json.loads(line) for line in (DATA / name).read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    base = tmp_path_factory.mktemp("pii")
    settings = get_settings(db_path=base / "w.duckdb", sentiment_model="afinn-lexicon")
    people = json.loads((DATA / "roster.json").read_text(encoding="utf-8"))["roster"]
    roster = base / "roster.csv"
    with roster.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["employee_id", "name", "email", "department", "team", "hire_date", "termination_date"])
        for i, p in enumerate(people):
            w.writerow([f"E{i}", p["name"], p.get("email", ""), "Drift", "Team A", "2025-01-01", ""])
    slack = base / "slack"
    (slack / "general").mkdir(parents=True)
    users = [{"id": u["id"], "real_name": u["real_name"], "profile": {"display_name": u["display_name"]}}
             for u in json.loads((DATA / "roster.json").read_text(encoding="utf-8"))["slack_users"]]
    (slack / "users.json").write_text(json.dumps(users), encoding="utf-8")
    (slack / "channels.json").write_text(json.dumps([{"id": "C1", "name": "general"}]), encoding="utf-8")
    (slack / "general" / "2026-03-02.json").write_text(json.dumps(
        [{"type": "message", "user": users[0]["id"], "text": f"Hej <@{users[1]['id']}>", "ts": "1772442000.000100"}]))
    adversarial, negative = _jsonl("adversarial.jsonl"), _jsonl("negative.jsonl")
    posts = base / "posts.csv"
    with posts.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["post_id", "author_id", "channel", "created_at", "text"])
        # Neutral ids: the corpus ids ("name-per-possessive") would themselves be flagged in key columns.
        for n, item in enumerate(adversarial + negative):
            item["post_id"] = f"p{n:04d}"
            w.writerow([item["post_id"], "E0", "general", "2026-03-02T09:00:00+01:00", item["text"]])
    reviews = base / "reviews.csv"
    with reviews.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["review_id", "company", "rating", "pros", "cons"])
        for n, item in enumerate(adversarial[:20]):
            w.writerow([f"r{n}", "Firma A/S", "3", item["text"], "Ring til Per Holm på 20 30 40 50"])
    with connect(settings.db_path) as con:
        ingest_path(con, settings, "roster", roster)
        ingest_path(con, settings, "posts", slack)  # Slack users' names become known before the posts
        ingest_path(con, settings, "posts", posts)
        ingest_path(con, settings, "reviews", reviews, IngestOptions())
    sentiment_step(settings)
    marts_step(settings)
    return settings, adversarial, negative


def test_audit_finds_nothing_anywhere(warehouse):
    settings, _, _ = warehouse
    with connect(settings.db_path, read_only=True) as con:
        key = load_key(key_file=settings.key_file)
        findings = audit_database(con, load_name_index(con, key), key=key)
    assert findings == []
    assert audit_step(settings)["findings"] == 0  # the DAG's end-of-run task passes too


def test_placeholders_are_where_the_pii_was(warehouse):
    settings, adversarial, negative = warehouse
    with connect(settings.db_path, read_only=True) as con:
        stored = dict(con.execute("SELECT split_part(post_key, ':', 2), text FROM raw.posts WHERE source_system = 'csv'").fetchall())
        cons = {r[0] for r in con.execute("SELECT cons FROM raw.reviews").fetchall()}
    for item in adversarial:
        if "expected" in item:
            assert stored[item["post_id"]] == item["expected"], item["id"]
    for item in negative:
        assert stored[item["post_id"]] == item["text"], item["id"]
    assert cons == {"Ring til [PERSON] på [PHONE]"}


def test_model_inputs_were_redacted(warehouse):
    # nlp.documents and the cache only know hashes of the stored (redacted) text.
    settings, adversarial, _ = warehouse
    with connect(settings.db_path, read_only=True) as con:
        unknown = con.execute(
            "SELECT count(*) FROM nlp.documents d LEFT JOIN staging.texts t USING (doc_id, text_hash) WHERE t.doc_id IS NULL"
        ).fetchone()[0]
    assert unknown == 0
