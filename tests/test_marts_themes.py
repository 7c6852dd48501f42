"""theme_sentiment_weekly: aspect-level (sentence) sentiment per theme, share of messages, change vs the
previous 4 weeks, and the k_text threshold — on hand-made rows with numbers worked out by hand."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from pipeline.config import get_settings
from pipeline.db import connect
from pipeline.marts import build_marts
from tests.fixtures.marts_data import NEGATIVE, NEUTRAL, POSITIVE, Warehouse, monday


@pytest.fixture(scope="module")
def mart(tmp_path_factory):
    """Team A (4 people) in department Dev; k = k_text = 3.

    Weeks 10-13: a0, a1, a2 each write one two-sentence message, document-level neutral: sentence 0
    positive about pay, sentence 1 negative about workload; a3 writes a neutral message without themes.
    Week 14: the same, but the pay sentences are negative. Team B (3 people) posts once a week about pay
    (one sentence, positive) so department figures have two children.
    """
    settings = get_settings(db_path=tmp_path_factory.mktemp("themes") / "w.duckdb", min_group_size=3,
                            min_group_size_text=3)
    with connect(settings.db_path) as con:
        w = Warehouse(con)
        team_a = w.team("Dev", "A", 4)
        team_b = w.team("Dev", "B", 3)
        for week in (10, 11, 12, 13, 14):
            pay = NEGATIVE if week == 14 else POSITIVE
            for i, person in enumerate(team_a[:3]):
                w.post(person, monday(2026, week, day=i), NEUTRAL, sentences=[pay, NEGATIVE],
                       sentence_themes=[(0, "pay"), (1, "workload")])
            w.post(team_a[3], monday(2026, week, day=3), NEUTRAL)
            for i, person in enumerate(team_b):
                w.post(person, monday(2026, week, day=i), POSITIVE, themes=("pay",))
        build_marts(con, settings)
        rows = con.execute("SELECT * FROM marts.theme_sentiment_weekly").df()
    return rows


def _row(rows, unit, theme, week):  # noqa: ANN001, ANN202
    match = rows[(rows.org_unit == unit) & (rows.theme == theme) & (rows.iso_week == f"2026-W{week:02d}")]
    assert len(match) == 1
    return match.iloc[0]


def test_sentiment_comes_from_the_themes_own_sentences(mart):
    # Every message is neutral as a whole; its pay sentence is positive and its workload sentence negative.
    # (Team A's workload row is hidden to protect team B's, see below; the department's equals it.)
    pay, workload = _row(mart, "A", "pay", 10), _row(mart, "Dev", "workload", 10)
    assert (pay.mentions, pay.sentences, pay.net_sentiment, pay.mean_sentiment) == (3, 3, 100.0, pytest.approx(0.6))
    assert (workload.net_sentiment, workload.mean_sentiment, workload.pct_negative) == (-100.0, pytest.approx(-0.6), 1.0)
    assert pay.net_sentiment_se == 0.0 and pay.mean_sentiment_se == 0.0


def test_share_of_messages(mart):
    pay = _row(mart, "A", "pay", 10)
    # 3 of team A's 4 messages mention pay.
    assert pay.share_of_messages == 0.75
    assert pay.share_of_messages_se == pytest.approx(math.sqrt(0.75 * 0.25 / 4), abs=1e-4)


def test_change_vs_previous_four_weeks(mart):
    assert pd.isna(_row(mart, "A", "pay", 13).change_vs_prev_4w)  # only 3 previous weeks
    week14 = _row(mart, "A", "pay", 14)
    # Week 14: 3 negative pay sentences (net −100) vs 12 positive ones in weeks 10-13 (net +100).
    assert week14.net_sentiment == -100.0
    assert week14.change_vs_prev_4w == -200.0
    assert week14.change_vs_prev_4w_se == 0.0
    assert _row(mart, "Dev", "workload", 14).change_vs_prev_4w == 0.0


def test_department_pools_sentences_of_its_teams(mart):
    pay = _row(mart, "Dev", "pay", 14)
    # 3 negative (A) + 3 positive (B) pay sentences: net 0, mean 0, se of net = 100·√(1/6).
    assert (pay.mentions, pay.sentences, pay.net_sentiment) == (6, 6, 0.0)
    assert pay.net_sentiment_se == pytest.approx(100 * math.sqrt(1 / 6), abs=1e-3)
    assert pay.share_of_messages == pytest.approx(6 / 7, abs=1e-4)


def test_themes_below_k_text_authors_are_suppressed_with_keys(mart):
    culture = _row(mart, "A", "culture", 10)  # nobody mentioned it: indistinguishable from hidden
    assert culture.suppressed and culture.suppression_reason == "authors_below_k_text"
    assert pd.isna(culture.mentions) and pd.isna(culture.net_sentiment)
    workload_b = _row(mart, "B", "workload", 10)
    assert workload_b.suppressed
    # Team B never mentions workload, so team A's workload row is hidden too: otherwise department −
    # team A would give team B's (hidden) workload figures.
    workload_a, workload_dev = _row(mart, "A", "workload", 10), _row(mart, "Dev", "workload", 10)
    assert workload_a.suppression_reason == "complementary" and not workload_dev.suppressed
    assert set(mart.theme) == {
        "recruitment", "onboarding", "retention", "motivation", "learning", "knowledge_sharing", "communication",
        "management", "pay", "workload", "work_life_balance", "tools", "culture", "alumni"}
