"""marts.alerts: significant week-on-baseline changes per org unit and indicator, in English and Danish.

For every published unit-week (after primary and complementary suppression) and indicator, the week
is compared with the unit's own baseline: the pooled figures of its most recent ``BASELINE_WEEKS``
published weeks within the last ``LOOKBACK_WEEKS`` weeks that did not themselves raise a "worse"
alert on that indicator (so a lasting drop keeps alerting, and its end is not an "improvement").

Tests and practical-size floors (|z| for a change for the worse / for the better):

* ``pct_negative``: two-proportion z-test (pooled SE) of negative messages; |z| >= 3.0 / 3.5 and a
  change of >= 10 points.
* ``mean_sentiment``: z = Δmean / √(se_week² + se_baseline²); |z| >= 4.0 / 4.5 and a change >= 0.15.
* ``participation_rate``: two-proportion z-test of active posters / headcount (person-weeks in the
  baseline); |z| >= 4.5 / 4.5 and a change >= 15 points.

Improvements need stronger evidence than deteriorations: HR acts on a worsening, while an "improved"
alert is news that nobody acts on, so its false alarms only cost attention. On the simulated tuning seeds
11-15 this halved false alerts at the same detection (0.61 -> 0.38 per 100 team-weeks; confirmed on seeds
21-25: 0.94 -> 0.65), see the README.

An alert needs ``MIN_MESSAGES`` messages in the week and ``MIN_BASELINE_MESSAGES`` in the baseline
(sentiment indicators) and ``MIN_BASELINE_WEEKS`` baseline weeks. Only published figures enter a
test, so an alert reveals nothing a suppressed cell hides.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import groupby

import duckdb
import pandas as pd

from pipeline.indicators.stats import mean_and_se, two_proportion_z, two_sided_p

# |z| needed per indicator. pct_negative is a well-calibrated binomial test; the mean of a bimodal,
# author-clustered score and participation (the same people post week after week) have heavier null
# tails, so they need stronger evidence. Calibrated on simulated seeds 11-15 only (see README): with the v3
# sentiment head, the most drops detected with at most 0.75 false alerts per 100 team-weeks (a margin
# under the target of 1) is pct_negative 3.0 (24/27 drops at 0.87 with 2.75; 23/27 at 0.51 with 3.0).
Z_CRITICAL = {"pct_negative": 3.0, "mean_sentiment": 4.0, "participation_rate": 4.5}
Z_CRITICAL_BETTER = {"pct_negative": 3.5, "mean_sentiment": 4.5, "participation_rate": 4.5}
BASELINE_WEEKS = 8
LOOKBACK_WEEKS = 12
MIN_BASELINE_WEEKS = 3
MIN_MESSAGES = 10
MIN_BASELINE_MESSAGES = 60
MIN_CHANGE = {"pct_negative": 0.10, "mean_sentiment": 0.15, "participation_rate": 0.15}

ALERT_COLUMNS = {
    "org_level": "VARCHAR", "org_unit": "VARCHAR", "parent_unit": "VARCHAR", "iso_week": "VARCHAR",
    "week_start": "DATE", "indicator": "VARCHAR", "direction": "VARCHAR", "value": "DOUBLE",
    "baseline_value": "DOUBLE", "change": "DOUBLE", "change_se": "DOUBLE", "z_score": "DOUBLE",
    "p_value": "DOUBLE", "n_current": "INTEGER", "n_baseline": "INTEGER", "baseline_weeks": "INTEGER",
    "message_en": "VARCHAR", "message_da": "VARCHAR",
}


@dataclass(frozen=True)
class Test:
    value: float
    baseline: float
    z: float
    change_se: float
    n_current: int
    n_baseline: int


SUMMED = ("messages", "n_negative", "sentiment_sum", "sentiment_sumsq", "active_posters", "headcount")


def _test(indicator: str, week: dict, base: list[dict]) -> Test | None:
    b = {c: float(sum(w[c] for w in base)) for c in SUMMED}
    if indicator == "participation_rate":
        n1, n0 = int(week["headcount"]), int(b["headcount"])
        z = two_proportion_z(week["active_posters"], n1, b["active_posters"], n0)
        if z is None:
            return None
        p1, p0 = week["active_posters"] / n1, b["active_posters"] / n0
        se = (p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0) ** 0.5
        return Test(p1, p0, z, se, n1, n0)
    n1, n0 = int(week["messages"]), int(b["messages"])
    if n1 < MIN_MESSAGES or n0 < MIN_BASELINE_MESSAGES:
        return None
    if indicator == "pct_negative":
        z = two_proportion_z(week["n_negative"], n1, b["n_negative"], n0)
        if z is None:
            return None
        p1, p0 = week["n_negative"] / n1, b["n_negative"] / n0
        se = (p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0) ** 0.5
        return Test(p1, p0, z, se, n1, n0)
    cur = mean_and_se(week["sentiment_sum"], week["sentiment_sumsq"], n1)
    ref = mean_and_se(b["sentiment_sum"], b["sentiment_sumsq"], n0)
    if cur is None or ref is None or (cur[1] == 0 and ref[1] == 0):
        return None
    se = (cur[1] ** 2 + ref[1] ** 2) ** 0.5
    return Test(cur[0], ref[0], (cur[0] - ref[0]) / se, se, n1, n0)


def _direction(indicator: str, t: Test) -> str | None:
    """'worse' / 'better' when significant and large enough; a rise in negativity is worse."""
    change = t.value - t.baseline
    if abs(change) < MIN_CHANGE[indicator]:
        return None
    rising = change > 0
    direction = ("better" if rising else "worse") if indicator != "pct_negative" else ("worse" if rising else "better")
    needed = Z_CRITICAL if direction == "worse" else Z_CRITICAL_BETTER
    return direction if abs(t.z) >= needed[indicator] else None


def _unit_names(level: str, unit: str) -> tuple[str, str]:
    if level == "company":
        return "The company", "Hele virksomheden"
    return f"{unit} ({level})", f"{unit} ({'afdeling' if level == 'department' else 'team'})"


def _da(x: float, digits: int) -> str:
    return f"{x:.{digits}f}".replace(".", ",").replace("-", "−")


def messages(level: str, unit: str, iso_week: str, indicator: str, t: Test, weeks: int) -> tuple[str, str]:
    en_unit, da_unit = _unit_names(level, unit)
    up = t.value > t.baseline
    if indicator == "mean_sentiment":
        en_what, da_what = "mean sentiment", "den gennemsnitlige stemning"
        en_v = (f"{t.baseline:+.2f}", f"{t.value:+.2f}")
        da_v = (_da(t.baseline, 2), _da(t.value, 2))
    else:
        en_what, da_what = (("the share of negative messages", "andelen af negative beskeder")
                            if indicator == "pct_negative" else ("participation", "deltagelsen"))
        en_v = (f"{t.baseline:.0%}", f"{t.value:.0%}")
        da_v = (f"{t.baseline * 100:.0f} %", f"{t.value * 100:.0f} %")
    unit_n = ("messages", "beskeder") if indicator != "participation_rate" else ("employees", "medarbejdere")
    en = (f"{en_unit}: {en_what} {'rose' if up else 'fell'} from {en_v[0]} (previous {weeks} weeks) to {en_v[1]} "
          f"in {iso_week} (z = {t.z:.1f}, {t.n_current} {unit_n[0]}).")
    da = (f"{da_unit}: {da_what} {'steg' if up else 'faldt'} fra {da_v[0]} (de foregående {weeks} uger) til "
          f"{da_v[1]} i uge {iso_week} (z = {_da(t.z, 1)}; {t.n_current} {unit_n[1]}).")
    return en, da


def find_alerts(weeks: pd.DataFrame) -> pd.DataFrame:
    """Alerts from published unit-weeks (columns of engagement_base); one row per alert."""
    out: list[dict] = []
    records = weeks.sort_values(["org_level", "org_unit", "week_start"]).to_dict("records")
    lookback = pd.Timedelta(weeks=LOOKBACK_WEEKS)
    for (level, unit), group in groupby(records, key=lambda r: (r["org_level"], r["org_unit"])):
        series = list(group)
        for indicator in MIN_CHANGE:
            worse_weeks: set = set()
            for i, week in enumerate(series):
                earliest = week["week_start"] - lookback
                base = [w for w in series[:i] if w["week_start"] >= earliest and w["week_start"] not in worse_weeks]
                base = base[-BASELINE_WEEKS:]
                if len(base) < MIN_BASELINE_WEEKS:
                    continue
                t = _test(indicator, week, base)
                direction = _direction(indicator, t) if t else None
                if direction is None or t is None:
                    continue
                if direction == "worse":
                    worse_weeks.add(week["week_start"])
                iso_week = week["week_start"].strftime("%G-W%V")
                en, da = messages(level, unit, iso_week, indicator, t, len(base))
                out.append({
                    "org_level": level, "org_unit": unit, "parent_unit": week["parent_unit"], "iso_week": iso_week,
                    "week_start": week["week_start"].date(), "indicator": indicator, "direction": direction,
                    "value": round(t.value, 4), "baseline_value": round(t.baseline, 4),
                    "change": round(t.value - t.baseline, 4), "change_se": round(t.change_se, 4),
                    "z_score": round(t.z, 2), "p_value": float(f"{two_sided_p(t.z):.4g}"), "n_current": t.n_current,
                    "n_baseline": t.n_baseline, "baseline_weeks": len(base), "message_en": en, "message_da": da,
                })
    return pd.DataFrame(out, columns=list(ALERT_COLUMNS))


def build_alerts(con: duckdb.DuckDBPyConnection, source: str = "engagement_base") -> int:
    weeks = con.execute(
        f"""
        SELECT org_level, org_unit, parent_unit, week_start, headcount, active_posters, messages,
               n_negative, sentiment_sum, sentiment_sumsq
        FROM {source} WHERE suppression_reason IS NULL
        """
    ).df()
    weeks["week_start"] = pd.to_datetime(weeks["week_start"])
    alerts = find_alerts(weeks)
    cols = ", ".join(f"{c} {t}" for c, t in ALERT_COLUMNS.items())
    con.execute(f"CREATE OR REPLACE TABLE marts.alerts ({cols})")
    if not alerts.empty:
        con.register("new_alerts", alerts)
        con.execute("INSERT INTO marts.alerts BY NAME SELECT * FROM new_alerts ORDER BY org_level DESC, org_unit, week_start, indicator")
        con.unregister("new_alerts")
    return len(alerts)
