"""engagement_weekly on a hand-made week: every figure checked against numbers worked out by hand."""

from __future__ import annotations

import math
from datetime import timedelta

import pandas as pd
import pytest

from pipeline.config import get_settings
from pipeline.db import connect
from pipeline.marts import build_marts
from tests.fixtures.marts_data import NEGATIVE, NEUTRAL, POSITIVE, Warehouse, monday

WEEKS = (10, 11, 12, 13)


@pytest.fixture(scope="module")
def mart(tmp_path_factory):
    """Teams A (a0-a2) and B (b0-b2) in department Dev; k = 3. The same week is repeated 4 times.

    Team A each week: a0 posts P1 (positive, 2 reactions) and P3 (positive); a1 replies to P1 after 3 h
    (negative); a2 posts P2 (neutral). Team B: b0 replies to P1 after 26 h (neutral, cross-team),
    b1 posts (neutral), b2 posts (negative).
    """
    settings = get_settings(db_path=tmp_path_factory.mktemp("eng") / "w.duckdb", min_group_size=3)
    with connect(settings.db_path) as con:
        w = Warehouse(con)
        a0, a1, a2 = w.team("Dev", "A", 3)
        b0, b1, b2 = w.team("Dev", "B", 3)
        for week in WEEKS:
            start = monday(2026, week, hour=9)
            p1 = w.post(a0, start, POSITIVE, reactions=2)
            w.post(a1, start + timedelta(hours=3), NEGATIVE, parent=p1)
            w.post(b0, start + timedelta(hours=26), NEUTRAL, parent=p1)
            w.post(a2, start + timedelta(hours=1), NEUTRAL)
            w.post(a0, start + timedelta(hours=2), POSITIVE)
            w.post(b1, start + timedelta(hours=4), NEUTRAL)
            w.post(b2, start + timedelta(hours=5), NEGATIVE)
        build_marts(con, settings)
        rows = con.execute("SELECT * FROM marts.engagement_weekly").df()
    return rows


def _row(rows, unit, week):  # noqa: ANN001, ANN202
    match = rows[(rows.org_unit == unit) & (rows.iso_week == f"2026-W{week:02d}")]
    assert len(match) == 1
    return match.iloc[0]


def test_counts_and_participation(mart):
    a = _row(mart, "A", 10)
    assert (a.org_level, a.parent_unit, str(a.week_start)[:10]) == ("team", "Dev", "2026-03-02")
    assert (a.headcount, a.active_posters, a.messages, a.posts, a.replies, a.reactions, a.threads) == (3, 3, 4, 3, 1, 2, 3)
    assert a.participation_rate == 1.0 and a.participation_rate_se == 0.0
    # posts per person [2, 0, 1]: mean 1, sample variance 1 → se √(1/3); replies [0, 1, 0]: mean ⅓, var ⅓ → se ⅓.
    assert a.posts_per_active_poster == 1.0
    assert a.posts_per_active_poster_se == pytest.approx(math.sqrt(1 / 3), abs=1e-4)
    assert a.replies_per_active_poster == pytest.approx(1 / 3, abs=1e-4)
    assert a.replies_per_active_poster_se == pytest.approx(1 / 3, abs=1e-4)


def test_sentiment_figures(mart):
    a = _row(mart, "A", 10)
    # scores [+0.6, −0.6, 0, +0.6]: mean 0.15; squared deviations sum 0.99 → var 0.33 → se √(0.33/4).
    assert a.mean_sentiment == pytest.approx(0.15)
    assert a.mean_sentiment_se == pytest.approx(math.sqrt(0.33 / 4), abs=1e-4)
    assert (a.pct_positive, a.pct_negative) == (0.5, 0.25)
    assert a.pct_positive_se == pytest.approx(math.sqrt(0.5 * 0.5 / 4), abs=1e-4)
    assert a.pct_negative_se == pytest.approx(math.sqrt(0.25 * 0.75 / 4), abs=1e-4)
    assert a.net_sentiment == pytest.approx(25.0)
    assert a.net_sentiment_se == pytest.approx(100 * math.sqrt((0.75 - 0.25**2) / 4), abs=1e-3)


def test_knowledge_sharing(mart):
    a = _row(mart, "A", 10)
    # Threads P1 (replies from a1 after 3 h and from team B), P2, P3 (no replies).
    assert a.cross_team_reply_share == pytest.approx(1 / 3, abs=1e-4)
    assert a.cross_team_reply_share_se == pytest.approx(math.sqrt((1 / 3) * (2 / 3) / 3), abs=1e-4)
    assert a.replies_per_thread == pytest.approx(2 / 3, abs=1e-4)
    # replies per thread [2, 0, 0]: var ((4/3)² + 2·(2/3)²)/2 = 4/3 → se √(4/9).
    assert a.replies_per_thread_se == pytest.approx(2 / 3, abs=1e-4)
    assert a.answered_within_24h_share == pytest.approx(1 / 3, abs=1e-4)
    assert a.median_hours_to_first_reply == pytest.approx(3.0)
    assert a.knowledge_sharing_index == pytest.approx(100 * (0.5 / 3 + 0.25 * (2 / 3) / 2 + 0.25 / 3), abs=1e-3)
    b = _row(mart, "B", 10)
    assert b.threads == 2 and b.replies_per_thread == 0 and b.cross_team_reply_share == 0
    assert pd.isna(b.median_hours_to_first_reply)


def test_department_and_company_aggregate_people_not_rows(mart):
    dev = _row(mart, "Dev", 10)
    assert (dev.org_level, dev.parent_unit) == ("department", "company")
    assert (dev.headcount, dev.active_posters, dev.messages, dev.posts, dev.replies) == (6, 6, 7, 5, 2)
    assert dev.pct_negative == pytest.approx(2 / 7, abs=1e-4)
    # Cross-team means another *team*: B's reply to A's thread still counts at department level.
    assert dev.cross_team_reply_share == pytest.approx(1 / 5, abs=1e-4)
    company = _row(mart, "company", 10)
    assert company.org_level == "company" and pd.isna(company.parent_unit) and company.messages == 7


def test_rolling_four_weeks_needs_a_full_published_window(mart):
    for week in WEEKS[:3]:
        r = _row(mart, "A", week)
        assert pd.isna(r.net_sentiment_4w) and pd.isna(r.messages_4w)
    a = _row(mart, "A", 13)
    assert (a.active_posters_4w, a.messages_4w) == (3, 16)
    assert a.participation_rate_4w == 1.0
    assert a.mean_sentiment_4w == pytest.approx(0.15)
    assert a.net_sentiment_4w == pytest.approx(25.0)
    assert a.net_sentiment_4w_se == pytest.approx(100 * math.sqrt((0.75 - 0.25**2) / 16), abs=1e-3)
    assert a.pct_negative_4w_se == pytest.approx(math.sqrt(0.25 * 0.75 / 16), abs=1e-4)


def test_no_suppression_when_every_group_reaches_k(mart):
    assert not mart.suppressed.any()
    assert set(mart.org_level) == {"team", "department", "company"}
