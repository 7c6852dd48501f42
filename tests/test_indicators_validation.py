"""The validation metrics against a hand-made ground truth, on hand-filled mart tables in DuckDB."""

from __future__ import annotations

from datetime import date

import duckdb
import pytest

from pipeline.indicators.validation import evaluate, iso_week_monday, team_risk_scores


@pytest.fixture
def con():
    con = duckdb.connect()
    con.execute("CREATE SCHEMA marts")
    con.execute("CREATE TABLE marts.retention_signals_monthly (org_level VARCHAR, org_unit VARCHAR, month_start DATE, risk_index DOUBLE)")
    con.execute("CREATE TABLE marts.engagement_weekly (org_level VARCHAR, org_unit VARCHAR, week_start DATE, suppressed BOOLEAN)")
    con.execute("CREATE TABLE marts.alerts (org_level VARCHAR, org_unit VARCHAR, week_start DATE, direction VARCHAR)")
    risk = {  # team -> risk index per month (Jan..Apr); None = suppressed
        "R1": [10, 20, 60, 80], "R2": [5, 30, 40, 50], "N1": [40, 50, 30, 10], "N2": [0, 10, 20, 30],
        "N3": [None, None, None, None], "company": [20, 20, 20, 20],
    }
    for unit, values in risk.items():
        level = "company" if unit == "company" else "team"
        for month, value in enumerate(values, start=1):
            con.execute("INSERT INTO marts.retention_signals_monthly VALUES (?, ?, ?, ?)",
                        [level, unit, date(2026, month, 1), value])
    for unit in ("R1", "R2", "N1", "N2", "N3"):
        for week in range(2, 12):
            con.execute("INSERT INTO marts.engagement_weekly VALUES ('team', ?, ?, ?)",
                        [unit, iso_week_monday(f"2026-W{week:02d}"), unit == "N3"])
    alerts = [
        ("team", "N1", "2026-W05", "worse"),    # planted drop N1 W04 for 2 weeks: detected
        ("team", "N2", "2026-W09", "worse"),    # false: nothing planted
        ("team", "R1", "2026-W08", "worse"),    # at-risk team after its onset: expected
        ("team", "R1", "2026-W03", "better"),   # false: before onset and an improvement
        ("department", "Dev", "2026-W09", "worse"),  # not a team alert: not counted
    ]
    for level, unit, week, direction in alerts:
        con.execute("INSERT INTO marts.alerts VALUES (?, ?, ?, ?)", [level, unit, iso_week_monday(week), direction])
    return con


TRUTH = {
    "at_risk_units": ["R1", "R2", "N3"],
    "at_risk_details": [{"unit": "R1", "onset_week": "2026-W06"}, {"unit": "R2", "onset_week": "2026-W06"},
                        {"unit": "N3", "onset_week": "2026-W06"}],
    "drops": [{"unit": "N1", "week": "2026-W04", "duration_weeks": 2},
              {"unit": "N2", "week": "2026-W04", "duration_weeks": 3}],
}


def test_team_scores_are_the_mean_of_the_last_three_published_months(con):
    scores = team_risk_scores(con)
    assert scores == {"R1": pytest.approx((20 + 60 + 80) / 3), "R2": 40.0, "N1": 30.0, "N2": 20.0}


def test_metrics_by_hand(con):
    m = evaluate(con, TRUTH)
    # Scores R1 53.3, R2 40 vs N1 30, N2 20: every at-risk team ranks above every other → AUC 1.
    assert m.auc == 1.0
    assert (m.teams_ranked, m.teams_unranked, m.at_risk_ranked) == (4, 1, 2)
    # N1's drop (W04-W05, +1 week grace) has a "worse" alert in W05; N2's (W04-W07) has none.
    assert (m.detected_drops, m.drops) == (1, 2)
    # False: N2 W09 (after its drop window) and R1 W03 (before onset) over 40 published team-weeks.
    assert (m.false_alerts, m.team_weeks) == (2, 40)
    assert m.false_alerts_per_100 == 5.0


def test_iso_week_monday():
    assert iso_week_monday("2026-W01") == date(2025, 12, 29)


@pytest.mark.slow
def test_validate_runs_the_whole_pipeline_on_a_small_company(tmp_path, capsys):
    import argparse

    from pipeline.validate import cmd_validate

    args = argparse.Namespace(seeds=[3], employees=60, weeks=10, model="afinn-lexicon", keep=str(tmp_path),
                              strict=False, verbose=False)
    assert cmd_validate(args) == 0
    out = capsys.readouterr().out
    last = out.strip().splitlines()[-1]
    assert "auc=" in last and "false_alerts_per_100_team_weeks=" in last and "detected_drops=" in last
    assert (tmp_path / "seed-3.duckdb").exists() and (tmp_path / "company-3" / "truth.json").exists()
