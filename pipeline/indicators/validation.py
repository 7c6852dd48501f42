"""Score the marts against a simulated company's ground truth (``truth.json``).

* **AUC** — each team's score is the mean ``risk_index`` over its *last* ``AUC_LAST_MONTHS`` published
  months in ``marts.retention_signals_monthly`` (the question HR asks: which teams are at risk now?);
  the label is membership of ``truth.at_risk_units``; AUC is the Mann–Whitney probability that an
  at-risk team scores above a team that is not (ties ½). Teams with no published month (too small for
  k) cannot be ranked and are left out; their number is reported.
* **Detected drops** — a planted drop (unit, first week, duration) is detected when ``marts.alerts``
  has a team-level "worse" alert for that unit in any week from its first week to one week after it.
* **False alerts per 100 team-weeks** — team-level alerts (any direction) that match neither a planted
  drop window nor the deterioration of a planted at-risk team (a "worse" alert from its onset week on),
  per 100 published team-weeks of ``marts.engagement_weekly`` (alerts exist only for published weeks).
  Alerts in the simulator's noise weeks (one-off bad weeks, busy seasons) count as false.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import duckdb

from pipeline.indicators.stats import roc_auc

AUC_LAST_MONTHS = 3
DETECTION_GRACE_WEEKS = 1


def iso_week_monday(label: str) -> date:
    year, week = label.split("-W")
    return date.fromisocalendar(int(year), int(week), 1)


@dataclass
class Metrics:
    auc: float | None
    teams_ranked: int
    teams_unranked: int
    at_risk_ranked: int
    detected_drops: int
    drops: int
    false_alerts: int
    team_weeks: int

    @property
    def false_alerts_per_100(self) -> float:
        return 100.0 * self.false_alerts / self.team_weeks if self.team_weeks else 0.0


def team_risk_scores(con: duckdb.DuckDBPyConnection, last_months: int = AUC_LAST_MONTHS) -> dict[str, float]:
    rows = con.execute(
        """
        SELECT org_unit, avg(risk_index)
        FROM (
            SELECT org_unit, risk_index,
                   row_number() OVER (PARTITION BY org_unit ORDER BY month_start DESC) AS recency
            FROM marts.retention_signals_monthly
            WHERE org_level = 'team' AND risk_index IS NOT NULL
        )
        WHERE recency <= ?
        GROUP BY org_unit
        """,
        [last_months],
    ).fetchall()
    return {unit: float(score) for unit, score in rows}


def evaluate(con: duckdb.DuckDBPyConnection, truth: dict[str, Any]) -> Metrics:
    at_risk = set(truth["at_risk_units"])
    teams = {u for (u,) in con.execute(
        "SELECT DISTINCT org_unit FROM marts.engagement_weekly WHERE org_level = 'team'").fetchall()}
    scores = team_risk_scores(con)
    ranked = sorted(scores)
    labels = [u in at_risk for u in ranked]
    auc = roc_auc([scores[u] for u in ranked], labels) if any(labels) and not all(labels) else None

    alerts = con.execute(
        "SELECT org_unit, week_start, direction FROM marts.alerts WHERE org_level = 'team'"
    ).fetchall()
    drop_windows = []
    for d in truth["drops"]:
        start = iso_week_monday(d["week"])
        end = start + timedelta(weeks=int(d.get("duration_weeks", 1)) - 1 + DETECTION_GRACE_WEEKS)
        drop_windows.append((d["unit"], start, end))
    onsets = {d["unit"]: iso_week_monday(d["onset_week"]) for d in truth.get("at_risk_details", [])}

    detected = sum(
        any(u == unit and direction == "worse" and start <= w <= end for u, w, direction in alerts)
        for unit, start, end in drop_windows
    )
    false_alerts = 0
    for unit, week, direction in alerts:
        in_drop = any(unit == u and start <= week <= end for u, start, end in drop_windows)
        planted_risk = direction == "worse" and unit in onsets and week >= onsets[unit]
        false_alerts += not (in_drop or planted_risk)
    team_weeks = con.execute(
        "SELECT count(*) FROM marts.engagement_weekly WHERE org_level = 'team' AND NOT suppressed"
    ).fetchone()[0]
    return Metrics(
        auc=auc,
        teams_ranked=len(ranked),
        teams_unranked=len(teams - set(ranked)),
        at_risk_ranked=sum(labels),
        detected_drops=detected,
        drops=len(drop_windows),
        false_alerts=false_alerts,
        team_weeks=team_weeks,
    )
