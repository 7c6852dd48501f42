"""retention_signals_monthly: every signal, the risk index and realised attrition on hand-made rows."""

from __future__ import annotations

import math
from datetime import date

import pandas as pd
import pytest

from pipeline.config import get_settings
from pipeline.db import connect
from pipeline.indicators.retention import RISK_WEIGHTS
from pipeline.marts import build_marts
from tests.fixtures.marts_data import NEGATIVE, NEUTRAL, POSITIVE, Warehouse, monday


def _company(w: Warehouse) -> None:
    """Team A: a0-a3 plus a4, who leaves on 15 March 2026 and never posts. Team B: b0-b2. Department D.

    January (week 2) and February (week 7): a0-a3 and b0-b2 each write one neutral message.
    March (week 12): a0 voices leave intent (negative), a1 complains about workload (negative sentence
    tagged workload), a2 is positive. b0-b2 write on 31 March and 30 April, so March is complete and the
    data reach April.
    """
    team_a = w.team("D", "A", 4)
    a4 = w.employee("A-leaver", "D", "A", termination=date(2026, 3, 15))
    team_b = w.team("D", "B", 3)
    assert a4
    for week in (2, 7):
        for i, person in enumerate(team_a + team_b):
            w.post(person, monday(2026, week, day=i % 5), NEUTRAL)
    w.post(team_a[0], monday(2026, 12), NEGATIVE, leave_intent=True, sentence_themes=[(0, "leave_intent")])
    w.post(team_a[1], monday(2026, 12, day=1), NEGATIVE, sentence_themes=[(0, "workload")])
    w.post(team_a[2], monday(2026, 12, day=2), POSITIVE)
    for i, person in enumerate(team_b):
        w.post(person, monday(2026, 14, day=1, hour=9 + i), NEUTRAL)   # Tuesday 31 March
        w.post(person, monday(2026, 18, day=3, hour=9 + i), NEUTRAL)   # Thursday 30 April


@pytest.fixture(scope="module")
def mart(tmp_path_factory):
    settings = get_settings(db_path=tmp_path_factory.mktemp("ret") / "w.duckdb", min_group_size=3,
                            min_group_size_text=3)
    with connect(settings.db_path) as con:
        _company(Warehouse(con))
        build_marts(con, settings)
        return con.execute("SELECT * FROM marts.retention_signals_monthly").df()


def _row(rows, unit, month):  # noqa: ANN001, ANN202
    match = rows[(rows.org_unit == unit) & (rows.month == month)]
    assert len(match) == 1
    return match.iloc[0]


def test_signals_of_a_month(mart):
    march = _row(mart, "A", "2026-03")
    assert (march.headcount, march.active_posters, march.messages) == (5, 3, 3)
    assert march.participation_rate == 0.6
    assert march.participation_rate_se == pytest.approx(math.sqrt(0.6 * 0.4 / 5), abs=1e-4)
    assert march.leave_intent_rate == pytest.approx(1 / 3, abs=1e-4)
    assert march.leave_intent_rate_se == pytest.approx(math.sqrt((1 / 3) * (2 / 3) / 3), abs=1e-4)
    assert march.negative_workload_share == pytest.approx(1 / 3, abs=1e-4)
    assert march.pct_negative == pytest.approx(2 / 3, abs=1e-4)
    assert march.mean_sentiment == pytest.approx(-0.2, abs=1e-4)


def test_participation_against_own_baseline(mart):
    assert pd.isna(_row(mart, "A", "2026-02").participation_change)  # one previous month is not a baseline
    march = _row(mart, "A", "2026-03")
    # January and February: 4 of 5 posted → baseline 0.8; March 0.6 → change (0.6 − 0.8)/0.8.
    assert march.participation_baseline == pytest.approx(0.8)
    assert march.participation_change == pytest.approx(-0.25)


def test_sentiment_slope(mart):
    march = _row(mart, "A", "2026-03")
    # Window: ISO weeks from 9 Feb to 30 March. Four scores 0 in the week of 9 Feb (x = −20/7) and
    # −0.6, −0.6, +0.6 in the week of 16 March (x = 15/7): slope = (−0.2 − 0) / 5 weeks.
    assert march.sentiment_slope == pytest.approx(-0.04, abs=1e-4)
    # Residuals 0,0,0,0, −0.4, −0.4, 0.8: s² = 0.96/5; Σ(x − x̄)² = 2100/49.
    assert march.sentiment_slope_se == pytest.approx(math.sqrt(0.96 / 5 / (2100 / 49)), abs=1e-4)


def test_risk_index(mart):
    w = RISK_WEIGHTS
    components = {
        "leave_intent": min((1 / 3) / w.leave_intent_ref, 1),
        "trend": min(0.04 / w.trend_ref, 1),
        "participation": min(0.25 / w.participation_ref, 1),
        "workload": min((1 / 3) / w.workload_ref, 1),
        "negativity": min((2 / 3) / w.negativity_ref, 1),
    }
    weights = {name: getattr(w, f"w_{name}") for name in components}
    expected = 100 * sum(weights[n] * c for n, c in components.items()) / sum(weights.values())
    assert _row(mart, "A", "2026-03").risk_index == pytest.approx(expected, abs=1e-3)
    # January: all neutral; no baseline and no trend yet (one week of data) → only the defined components.
    january = _row(mart, "A", "2026-01")
    assert january.risk_index == 0.0
    assert mart.risk_index.min() >= 0 and mart.risk_index.max() <= 100


def test_realised_attrition(mart):
    march = _row(mart, "A", "2026-03")
    # One leaver; headcount 5 on 1 March and 4 on 31 March → average 4.5.
    assert march.avg_headcount == 4.5
    assert march.attrition_rate == pytest.approx(1 / 4.5, abs=1e-4)
    assert march.attrition_rate_se == pytest.approx(math.sqrt((1 / 4.5) * (3.5 / 4.5) / 4.5), abs=1e-4)
    january = _row(mart, "A", "2026-01")
    assert january.attrition_rate == 0.0
    # Next 3 months (Feb, Mar, Apr): 1 leaver / mean(5, 4.5, 4).
    assert january.attrition_rate_next_3m == pytest.approx(1 / 4.5, abs=1e-4)
    assert pd.isna(_row(mart, "A", "2026-02").attrition_rate_next_3m)  # May is beyond the data
    assert _row(mart, "A", "2026-04").attrition_rate == 0.0  # the data run to 3 May: April is complete


def test_attrition_of_small_teams_is_hidden_with_its_complement(tmp_path):
    settings = get_settings(db_path=tmp_path / "w.duckdb", min_group_size=3, min_group_size_text=4)
    with connect(settings.db_path) as con:
        _company(Warehouse(con))
        build_marts(con, settings)
        rows = con.execute("SELECT * FROM marts.retention_signals_monthly").df()
    a, b, d = _row(rows, "A", "2026-03"), _row(rows, "B", "2026-03"), _row(rows, "D", "2026-03")
    assert b.attrition_suppression_reason == "headcount_below_k_text"
    assert a.attrition_suppression_reason == "complementary"  # else D − A would reveal B's leavers
    assert pd.isna(a.attrition_rate) and pd.isna(a.avg_headcount) and not a.suppressed
    assert d.attrition_rate == pytest.approx(1 / 7.5, abs=1e-4)
