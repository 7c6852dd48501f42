"""The company simulator: determinism, exact input formats, roster integrity, ground truth, realism."""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from pipeline.simulate import simulate_company
from pipeline.simulate.cli import register_cli
from pipeline.simulate.data import LANGUAGES, intents, text_bank
from pipeline.simulate.dk_calendar import copenhagen_offset_hours, danish_holidays, easter_sunday

REPO = Path(__file__).resolve().parent.parent
THEMES = {"recruitment", "onboarding", "retention", "motivation", "learning", "knowledge_sharing", "communication",
          "management", "pay", "workload", "work_life_balance", "tools", "culture", "alumni"}
TS = re.compile(r"^\d{10}\.\d{6}$")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[a-z]{2,}")
PHONE = re.compile(r"(?:\+45 ?)?\b\d{2} ?\d{2} ?\d{2} ?\d{2}\b")
CPR = re.compile(r"\b\d{6}-\d{4}\b")


def read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        return list(reader.fieldnames or []), list(reader)


def all_files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def utc(ts: str) -> datetime:
    return datetime.fromtimestamp(float(ts), tz=UTC).replace(tzinfo=None)


def local_day(ts: str) -> date:
    """Copenhagen calendar day of a Slack ts."""
    return (utc(ts) + timedelta(hours=copenhagen_offset_hours(utc(ts)))).date()


def slack_messages(folder: Path) -> list[tuple[str, dict]]:
    out = []
    for day_file in sorted((folder / "slack").glob("*/*.json")):
        out.extend((day_file.parent.name, m) for m in json.loads(day_file.read_text(encoding="utf-8")))
    return out


@pytest.fixture(scope="module")
def medium_company(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, float]:
    """The validation size from issue 5 (400 people, 26 weeks), timed."""
    out = tmp_path_factory.mktemp("medium") / "company"
    started = time.perf_counter()
    simulate_company(400, 26, 1, out)
    return out, time.perf_counter() - started


# ---------------------------------------------------------------------------------------------- determinism
def test_same_seed_and_args_give_identical_bytes_even_across_hash_seeds(tmp_path: Path) -> None:
    simulate_company(30, 5, 11, tmp_path / "a", date(2026, 1, 5))
    # A second run in a fresh interpreter with another hash seed: set/dict order must not leak in.
    code = ("import sys; from datetime import date; from pathlib import Path; "
            "from pipeline.simulate import simulate_company; "
            "simulate_company(30, 5, 11, Path(sys.argv[1]), date(2026, 1, 5))")
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    subprocess.run([sys.executable, "-c", code, str(tmp_path / "b")], check=True, cwd=REPO, env=env)
    a, b = all_files(tmp_path / "a"), all_files(tmp_path / "b")
    assert a.keys() == b.keys()
    assert [name for name in a if a[name] != b[name]] == []


def test_another_seed_gives_another_company(tmp_path: Path) -> None:
    simulate_company(30, 5, 1, tmp_path / "a", date(2026, 1, 5))
    simulate_company(30, 5, 2, tmp_path / "b", date(2026, 1, 5))
    assert (tmp_path / "a" / "roster.csv").read_bytes() != (tmp_path / "b" / "roster.csv").read_bytes()


def test_rerun_into_same_folder_replaces_previous_output(tmp_path: Path) -> None:
    simulate_company(30, 5, 1, tmp_path, date(2026, 1, 5))
    first = all_files(tmp_path)
    simulate_company(30, 5, 1, tmp_path, date(2026, 1, 5))
    assert all_files(tmp_path) == first


# ---------------------------------------------------------------------------------------------- formats
def test_csv_columns_are_exact(small_company: Path) -> None:
    assert read_csv(small_company / "roster.csv")[0] == [
        "employee_id", "name", "email", "department", "team", "hire_date", "termination_date"]
    assert read_csv(small_company / "posts.csv")[0] == [
        "post_id", "author_id", "channel", "created_at", "text", "reactions", "parent_id"]
    assert read_csv(small_company / "reviews.csv")[0] == [
        "review_id", "source", "company", "created_at", "rating", "title", "pros", "cons", "text",
        "employment_status", "job_title", "location"]


def test_posts_and_reviews_have_typed_values(small_company: Path) -> None:
    _, posts = read_csv(small_company / "posts.csv")
    ids = {p["post_id"] for p in posts}
    for p in posts:
        created = datetime.fromisoformat(p["created_at"])
        assert created.utcoffset() is not None, "created_at must carry its UTC offset"
        assert p["text"].strip()
        assert int(p["reactions"]) >= 0
        assert p["parent_id"] == "" or p["parent_id"] in ids
    _, reviews = read_csv(small_company / "reviews.csv")
    assert reviews
    for r in reviews:
        assert 1 <= int(r["rating"]) <= 5
        assert r["employment_status"] in {"current", "former"}
        assert r["source"] in {"glassdoor", "indeed", "trustpilot"}
        assert datetime.fromisoformat(r["created_at"]).utcoffset() is not None
    assert len({r["review_id"] for r in reviews}) == len(reviews)


def test_slack_export_looks_like_slack(small_company: Path) -> None:
    slack = small_company / "slack"
    users = json.loads((slack / "users.json").read_text(encoding="utf-8"))
    channels = json.loads((slack / "channels.json").read_text(encoding="utf-8"))
    user_ids = {u["id"] for u in users}
    for u in users:
        assert re.fullmatch(r"U[0-9A-Z]{8}", u["id"])
        assert {"name", "real_name", "profile"} <= u.keys()
        assert "display_name" in u["profile"]
        assert u["is_bot"] or EMAIL.fullmatch(u["profile"]["email"])
    names = {c["name"] for c in channels}
    assert {"general", "random", "tech-help"} <= names
    assert all(set(c["members"]) <= user_ids for c in channels)
    assert {p.name for p in slack.iterdir() if p.is_dir()} <= names

    messages = slack_messages(small_company)
    by_channel_ts = {(ch, m["ts"]): m for ch, m in messages}
    assert len(by_channel_ts) == len(messages), "ts must be unique within a channel"
    subtypes = Counter(m.get("subtype") for _, m in messages)
    assert subtypes["bot_message"] > 0 and subtypes["channel_join"] >= 0
    replies_seen: Counter[tuple[str, str]] = Counter()
    for channel, m in messages:
        assert m["type"] == "message" and TS.match(m["ts"])
        if "subtype" in m:
            continue
        assert m["user"] in user_ids and m["text"]
        for reaction in m.get("reactions", []):
            assert reaction["count"] == len(reaction["users"]) > 0
            assert set(reaction["users"]) <= user_ids
        if "thread_ts" in m and m["thread_ts"] != m["ts"]:
            parent = by_channel_ts[(channel, m["thread_ts"])]
            assert float(parent["ts"]) < float(m["ts"])
            assert m["parent_user_id"] == parent["user"]
            replies_seen[(channel, m["thread_ts"])] += 1
    parents = {(ch, m["ts"]): m["reply_count"] for ch, m in messages if "reply_count" in m}
    assert parents and parents == dict(replies_seen)
    assert any("<@U" in m.get("text", "") for _, m in messages), "Slack mentions appear as <@U...>"


def test_slack_files_are_utc_days_of_their_messages(small_company: Path) -> None:
    for day_file in (small_company / "slack").glob("*/*.json"):
        for m in json.loads(day_file.read_text(encoding="utf-8")):
            assert f"{utc(m['ts']).date().isoformat()}.json" == day_file.name


# ---------------------------------------------------------------------------------------------- integrity
def test_every_author_is_employed_when_posting(small_company: Path) -> None:
    _, roster = read_csv(small_company / "roster.csv")
    people = {r["employee_id"]: r for r in roster}
    by_email = {r["email"]: r for r in roster}
    users = {u["id"]: u for u in json.loads((small_company / "slack" / "users.json").read_text(encoding="utf-8"))}

    def employed(person: dict[str, str], day: date) -> bool:
        end = person["termination_date"]
        return date.fromisoformat(person["hire_date"]) <= day and (not end or day <= date.fromisoformat(end))

    _, posts = read_csv(small_company / "posts.csv")
    for p in posts:
        assert p["author_id"] in people
        assert employed(people[p["author_id"]], datetime.fromisoformat(p["created_at"]).date()), p
    for _, m in slack_messages(small_company):
        if "subtype" in m:
            continue
        person = by_email[users[m["user"]]["profile"]["email"]]  # the pipeline joins Slack users by e-mail
        assert employed(person, local_day(m["ts"])), m


def test_roster_hires_and_leavers_fall_in_the_period(small_company: Path) -> None:
    truth = json.loads((small_company / "truth.json").read_text(encoding="utf-8"))
    start, end = (date.fromisoformat(truth["period"][k]) for k in ("start", "end"))
    _, roster = read_csv(small_company / "roster.csv")
    assert len({r["email"] for r in roster}) == len(roster) == len({r["employee_id"] for r in roster})
    leavers = {r["employee_id"]: r["termination_date"] for r in roster if r["termination_date"]}
    assert leavers == {x["employee_id"]: x["termination_date"] for x in truth["leavers"]}
    for r in roster:
        assert date.fromisoformat(r["hire_date"]) <= end
        if r["termination_date"]:
            assert start <= date.fromisoformat(r["termination_date"]) <= end
            assert r["hire_date"] < r["termination_date"]
    assert {h["employee_id"] for h in truth["hires"]} == {
        r["employee_id"] for r in roster if date.fromisoformat(r["hire_date"]) >= start}


def test_truth_is_consistent_with_the_roster(small_company: Path) -> None:
    truth = json.loads((small_company / "truth.json").read_text(encoding="utf-8"))
    _, roster = read_csv(small_company / "roster.csv")
    teams = {r["team"]: r["department"] for r in roster}
    assert truth["team_department"] == teams
    assert truth["at_risk_units"] and set(truth["at_risk_units"]) <= teams.keys()
    assert truth["drops"], "the small company has a planted drop"
    start = date.fromisoformat(truth["period"]["start"])
    mondays = [start + timedelta(weeks=i) for i in range(truth["parameters"]["weeks"])]
    weeks = {f"{d.isocalendar().year}-W{d.isocalendar().week:02d}" for d in mondays}
    for drop in truth["drops"]:
        assert drop["unit"] in teams and drop["week"] in weeks and 2 <= drop["duration_weeks"] <= 4
    assert truth["seed"] == 7 and truth["parameters"]["employees"] == 60
    assert any(size < 5 for size in truth["team_sizes_at_start"].values()), "small teams exercise suppression"
    assert sum(size >= 5 for size in truth["team_sizes_at_start"].values()) >= 3


def test_refuses_to_replace_a_foreign_slack_folder(tmp_path: Path) -> None:
    (tmp_path / "slack").mkdir()
    (tmp_path / "slack" / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(FileExistsError):
        simulate_company(30, 2, 1, tmp_path)
    assert (tmp_path / "slack" / "notes.txt").exists()


# ---------------------------------------------------------------------------------------------- text
def test_every_intent_has_texts_in_both_languages() -> None:
    for lang in LANGUAGES:
        bank = text_bank(lang)
        assert set(intents()) == set(bank.intents), lang
        assert set(text_bank("da").replies) == set(bank.replies)
    assert {t for i in intents().values() for t in i.themes} == THEMES


def test_language_mix_and_neutral_majority(medium_company: tuple[Path, float]) -> None:
    folder, _ = medium_company
    _, labels = read_csv(folder / "labels.csv")
    share = Counter(r["language"] for r in labels)
    assert 0.58 <= share["da"] / len(labels) <= 0.72
    sentiment = Counter(r["sentiment"] for r in labels)
    assert 0.5 <= sentiment["neutral"] / len(labels) <= 0.65
    assert sentiment["negative"] > 0.1 * len(labels) and sentiment["positive"] > 0.15 * len(labels)


def test_language_labels_agree_with_a_real_language_detector(small_company: Path) -> None:
    from lingua import Language, LanguageDetectorBuilder

    detector = LanguageDetectorBuilder.from_languages(Language.DANISH, Language.ENGLISH).build()
    _, labels = read_csv(small_company / "labels.csv")
    longer = [r for r in labels if len(r["text"].split()) >= 6][:300]
    detected = detector.detect_languages_in_parallel_of([r["text"] for r in longer])
    code = {Language.DANISH: "da", Language.ENGLISH: "en"}
    agree = sum(code.get(d) == r["language"] for d, r in zip(detected, longer, strict=True))
    assert agree / len(longer) >= 0.9


def test_texts_are_varied_and_cover_every_theme(medium_company: tuple[Path, float]) -> None:
    folder, _ = medium_company
    _, labels = read_csv(folder / "labels.csv")
    for lang in LANGUAGES:
        distinct = {r["text"] for r in labels if r["language"] == lang and not r["intent"].startswith("reply")}
        assert len(distinct) >= 1500, lang
    assert {t for r in labels for t in r["themes"].split(";") if t} == THEMES
    by_lang = Counter((r["language"], r["leave_intent"], r["hard_negative"]) for r in labels)
    for lang in LANGUAGES:
        assert by_lang[(lang, "1", "0")] >= 20, "leave-intent posts in both languages"
        assert by_lang[(lang, "0", "1")] >= 50, "hard negatives (lunch, barsel, internal moves) in both languages"


def test_pii_is_present_for_redaction_to_remove(medium_company: tuple[Path, float]) -> None:
    folder, _ = medium_company
    _, posts = read_csv(folder / "posts.csv")
    _, roster = read_csv(folder / "roster.csv")
    texts = [p["text"] for p in posts] + [m.get("text", "") for _, m in slack_messages(folder)]
    assert sum(bool(EMAIL.search(t)) for t in texts) >= 20
    assert sum(bool(PHONE.search(t)) for t in texts) >= 20
    assert sum(bool(CPR.search(t)) for t in texts) >= 3
    first_names = {r["name"].split()[0] for r in roster}
    possessives = {f"{n}s" for n in first_names if n[-1] not in "sxz"}
    words = Counter(w.strip(".,!?:") for t in texts for w in t.split())
    assert sum(words[p] for p in possessives) >= 20, "Danish possessive names like 'Mettes'"
    assert sum(words[n] for n in first_names) >= 200


def test_holiday_weeks_are_quieter(medium_company: tuple[Path, float]) -> None:
    folder, _ = medium_company
    truth = json.loads((folder / "truth.json").read_text(encoding="utf-8"))
    _, labels = read_csv(folder / "labels.csv")
    per_week = Counter(r["week"] for r in labels)
    summer = [per_week[w] for w in ("2025-W29", "2025-W30", "2025-W31")]
    normal = [n for w, n in per_week.items() if w not in truth["noise"]["holiday_weeks"]]
    assert max(summer) < 0.6 * (sum(normal) / len(normal))


def test_planted_risk_shows_in_posts_and_turnover(medium_company: tuple[Path, float]) -> None:
    folder, _ = medium_company
    truth = json.loads((folder / "truth.json").read_text(encoding="utf-8"))
    _, labels = read_csv(folder / "labels.csv")
    at_risk = set(truth["at_risk_units"])
    eligible = [t for t, n in truth["team_sizes_at_start"].items() if n >= 5]
    assert 0.15 <= len(at_risk) / len(eligible) <= 0.25
    late = [r for r in labels if r["week"] >= "2025-W40"]

    def neg_share(rows: list[dict[str, str]]) -> float:
        return sum(r["sentiment"] == "negative" for r in rows) / len(rows)

    def leave_rate(rows: list[dict[str, str]]) -> float:
        return sum(r["leave_intent"] == "1" for r in rows) / len(rows)

    risky, others = [r for r in late if r["team"] in at_risk], [r for r in late if r["team"] not in at_risk]
    assert neg_share(risky) > neg_share(others) + 0.08
    assert leave_rate(risky) > 2 * leave_rate(others) > 0, "other teams have some leave intent too (noise)"
    leavers = truth["leavers"]
    sizes = truth["team_sizes_at_start"]
    rate = {flag: sum(x["team_at_risk"] == flag for x in leavers) / sum(n for t, n in sizes.items()
                                                                       if (t in at_risk) == flag)
            for flag in (True, False)}
    assert rate[True] > 2 * rate[False]
    assert any(not x["had_warning_signs"] for x in leavers), "some leavers leave without warning"
    assert any(x["had_warning_signs"] for x in leavers)


def test_planted_drops_are_sharp(medium_company: tuple[Path, float]) -> None:
    folder, _ = medium_company
    truth = json.loads((folder / "truth.json").read_text(encoding="utf-8"))
    _, labels = read_csv(folder / "labels.csv")
    weekly: dict[tuple[str, str], list[bool]] = {}
    for r in labels:
        weekly.setdefault((r["team"], r["week"]), []).append(r["sentiment"] == "negative")
    weeks = sorted({r["week"] for r in labels})
    assert len(truth["drops"]) >= 3
    for drop in truth["drops"]:
        i = weeks.index(drop["week"])
        before = [x for w in weeks[max(0, i - 4):i] for x in weekly.get((drop["unit"], w), [])]
        during = [x for w in weeks[i:i + drop["duration_weeks"]] for x in weekly.get((drop["unit"], w), [])]
        assert sum(during) / len(during) > sum(before) / len(before) + 0.15, drop


def test_400_people_26_weeks_is_fast(medium_company: tuple[Path, float]) -> None:
    folder, seconds = medium_company
    assert seconds < 30
    assert json.loads((folder / "truth.json").read_text(encoding="utf-8"))["parameters"]["posts_total"] >= 15_000


# ---------------------------------------------------------------------------------------------- calendar & CLI
def test_danish_calendar() -> None:
    assert easter_sunday(2026) == date(2026, 4, 5)
    assert {date(2026, 4, 2), date(2026, 4, 3), date(2026, 4, 6), date(2026, 5, 14), date(2026, 5, 25)} <= \
        danish_holidays(2026)
    assert copenhagen_offset_hours(datetime(2026, 3, 29, 1, 59)) == 1
    assert copenhagen_offset_hours(datetime(2026, 3, 29, 3, 0)) == 2
    assert copenhagen_offset_hours(datetime(2026, 10, 25, 3, 0)) == 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="stemning")
    register_cli(parser.add_subparsers(dest="command"))
    return parser


def test_cli_writes_a_company(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = _parser().parse_args(["simulate", "--employees", "25", "--weeks", "3", "--seed", "5",
                                 "--out", str(tmp_path / "c"), "--start-date", "2026-03-04"])
    assert args.func(args) == 0
    truth = json.loads((tmp_path / "c" / "truth.json").read_text(encoding="utf-8"))
    assert truth["period"]["start"] == "2026-03-02", "start snaps to its Monday"
    assert "wrote simulated company" in capsys.readouterr().out


def test_cli_rejects_bad_arguments_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = _parser().parse_args(["simulate", "--employees", "3", "--weeks", "3", "--seed", "5",
                                 "--out", str(tmp_path / "c")])
    assert args.func(args) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("error: --employees must be between")
    with pytest.raises(SystemExit):
        _parser().parse_args(["simulate", "--employees", "30", "--weeks", "3", "--seed", "1", "--out", "x",
                              "--start-date", "March"])
