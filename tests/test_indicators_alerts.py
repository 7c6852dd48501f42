"""Alert tests (z statistics worked out by hand), the baseline rules and the bilingual messages."""

from __future__ import annotations

import math

import duckdb
import pandas as pd
import pytest

from pipeline.indicators.alerts import build_alerts, find_alerts
from pipeline.indicators.stats import mean_and_se, roc_auc, two_proportion_z, two_sided_p


def _weeks(negatives: list[int], messages: int = 50, headcount: int = 20, active: int = 15) -> pd.DataFrame:
    """One team's published weeks from ISO week 2026-W02: ``negatives[i]`` negative messages in week i
    (score −0.6), the rest neutral (score 0)."""
    rows = []
    for i, neg in enumerate(negatives):
        rows.append({
            "org_level": "team", "org_unit": "Platform", "parent_unit": "Udvikling",
            "week_start": pd.Timestamp("2026-01-05") + pd.Timedelta(weeks=i), "headcount": headcount,
            "active_posters": active, "messages": messages, "n_negative": neg,
            "sentiment_sum": -0.6 * neg, "sentiment_sumsq": 0.36 * neg,
        })
    return pd.DataFrame(rows)


def test_two_proportion_z_by_hand():
    # 25/50 vs 30/300: pooled p = 55/350; se = √(p(1−p)(1/50 + 1/300)).
    pooled = 55 / 350
    expected = (0.5 - 0.1) / math.sqrt(pooled * (1 - pooled) * (1 / 50 + 1 / 300))
    assert two_proportion_z(25, 50, 30, 300) == pytest.approx(expected)
    assert expected == pytest.approx(7.195, abs=1e-3)
    assert two_proportion_z(0, 10, 0, 10) is None


def test_mean_se_and_p_value():
    mean, se = mean_and_se(total=1.0, total_sq=0.5, n=4)  # values e.g. [.5, .5, 0, 0]
    assert mean == 0.25 and se == pytest.approx(math.sqrt((0.5 - 0.25) / 3 / 4))
    assert two_sided_p(1.959964) == pytest.approx(0.05, abs=1e-6)


def test_roc_auc_by_hand():
    # Positives 0.9 and 0.4; negatives 0.5, 0.4, 0.1: wins 3 + (0 + ½ + 1) = 4.5 of 6.
    assert roc_auc([0.9, 0.4, 0.5, 0.4, 0.1], [True, True, False, False, False]) == 0.75


def test_a_significant_rise_in_negative_messages_alerts():
    alerts = find_alerts(_weeks([5, 5, 5, 5, 5, 5, 25]))
    neg = alerts[alerts.indicator == "pct_negative"]
    assert len(neg) == 1
    a = neg.iloc[0]
    assert (a.iso_week, a.direction, a.value, a.baseline_value) == ("2026-W08", "worse", 0.5, 0.1)
    assert a.z_score == pytest.approx(7.2, abs=0.01)
    assert a.change == pytest.approx(0.4) and a.change_se == pytest.approx(math.sqrt(0.25 / 50 + 0.09 / 300), abs=1e-4)
    assert (a.n_current, a.n_baseline, a.baseline_weeks) == (50, 300, 6)
    assert a.message_en == ("Platform (team): the share of negative messages rose from 10% (previous 6 weeks) to 50% "
                            "in 2026-W08 (z = 7.2, 50 messages).")
    assert a.message_da == ("Platform (team): andelen af negative beskeder steg fra 10 % (de foregående 6 uger) til "
                            "50 % i uge 2026-W08 (z = 7,2; 50 beskeder).")
    # Mean sentiment falls from −0.06 to −0.3 in the same week: also significant.
    assert set(alerts.indicator) == {"pct_negative", "mean_sentiment"}


def test_noise_within_the_baseline_range_does_not_alert():
    assert find_alerts(_weeks([5, 3, 7, 5, 4, 6, 8, 2, 6])).empty


def test_minimum_volume_and_minimum_baseline():
    # Too few messages in the week (9 < 10), even with 100 % negative.
    weeks = _weeks([5, 5, 5, 5, 5, 5, 9])
    weeks.loc[6, ["messages", "sentiment_sum", "sentiment_sumsq"]] = [9, -0.6 * 9, 0.36 * 9]
    assert find_alerts(weeks).empty
    weeks.loc[6, ["messages", "n_negative", "sentiment_sum", "sentiment_sumsq"]] = [10, 10, -6.0, 3.6]
    assert not find_alerts(weeks).empty
    # Only two earlier weeks: no baseline yet.
    assert find_alerts(_weeks([5, 5, 40])).empty


def test_a_lasting_drop_keeps_alerting_and_its_end_is_not_an_improvement():
    # Weeks 7-9 are bad; the alerted weeks are left out of later baselines.
    alerts = find_alerts(_weeks([5, 5, 5, 5, 5, 5, 25, 25, 25, 5, 5]))
    neg = alerts[alerts.indicator == "pct_negative"]
    assert list(neg.iso_week) == ["2026-W08", "2026-W09", "2026-W10"]
    assert set(neg.direction) == {"worse"}


def test_an_improvement_needs_stronger_evidence_than_a_deterioration():
    # Baseline 90 of 300 negative (30 %). A week at 52 % (26 of 50): pooled p = 116/350,
    # z = 0.22 / sqrt(p(1-p)(1/50 + 1/300)) = 3.06 >= 3.0 -> "worse".
    worse = find_alerts(_weeks([15] * 6 + [26]))
    row = worse[worse.indicator == "pct_negative"].iloc[0]
    assert row.direction == "worse" and row.z_score == pytest.approx(3.06, abs=0.01)
    # A week at 8 % (4 of 50): pooled p = 94/350, z = -0.22 / sqrt(p(1-p)(1/50 + 1/300)) = -3.25: stronger than
    # the rise above, but an improvement needs |z| >= 3.5, so no alert ...
    better = find_alerts(_weeks([15] * 6 + [4]))
    assert better[better.indicator == "pct_negative"].empty
    # ... while 0 of 50 (pooled p = 90/350, z = -4.49) is reported as "better".
    clear = find_alerts(_weeks([15] * 6 + [0]))
    row = clear[clear.indicator == "pct_negative"].iloc[0]
    assert row.direction == "better" and row.z_score == pytest.approx(-4.49, abs=0.01)


def test_participation_drop_alerts():
    weeks = _weeks([5] * 7)
    weeks.loc[6, "active_posters"] = 3  # 15 of 20 posted every week, then 3 of 20
    alerts = find_alerts(weeks)
    part = alerts[alerts.indicator == "participation_rate"].iloc[0]
    pooled = (3 + 90) / 140
    assert part.z_score == pytest.approx(round((0.15 - 0.75) / math.sqrt(pooled * (1 - pooled) * (1 / 20 + 1 / 120)), 2))
    assert part.direction == "worse" and "deltagelsen faldt fra 75 % " in part.message_da


def test_only_published_weeks_are_tested_or_used_as_baseline():
    weeks = _weeks([5, 5, 5, 5, 5, 5, 25, 25])
    weeks["suppression_reason"] = None
    weeks.loc[6, "suppression_reason"] = "complementary"  # the first bad week is hidden
    con = duckdb.connect()
    con.execute("CREATE SCHEMA marts")
    con.register("weeks_df", weeks)
    con.execute("CREATE TABLE engagement_base AS SELECT * FROM weeks_df")
    assert build_alerts(con) == 2  # pct_negative and mean_sentiment in week 9, none in the hidden week 8
    rows = con.execute("SELECT DISTINCT iso_week FROM marts.alerts").fetchall()
    assert rows == [("2026-W09",)]
