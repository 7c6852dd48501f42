"""Weekly vs monthly marts: a run of whole months that starts on a Monday and ends on a Sunday is also a
run of whole ISO weeks, so Σ months = Σ weeks. Hand-made spans, and a real differencing attack that
combines those equations with the org hierarchy on a built warehouse."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd

from pipeline.config import get_settings
from pipeline.db import connect
from pipeline.indicators.suppression import time_grain_targets
from pipeline.marts import build_marts
from tests.fixtures.marts_data import NEGATIVE, POSITIVE, Warehouse, monday, recovered_unknowns

SEP_2025 = date(2025, 9, 1)  # a Monday; 30 November 2025 is a Sunday: Sep-Nov = ISO weeks 36-48


def _weeks(sizes: list[int], start: date = SEP_2025) -> pd.DataFrame:
    return pd.DataFrame({"week_start": [pd.Timestamp(start + timedelta(weeks=i)) for i in range(len(sizes))],
                         "size": sizes, "hidden": [s < 5 for s in sizes]})


def _months(starts: list[date], sizes: list[int], hidden: list[bool]) -> pd.DataFrame:
    return pd.DataFrame({"month_start": [pd.Timestamp(s) for s in starts], "size": sizes, "hidden": hidden})


AUTUMN = [date(2025, 9, 1), date(2025, 10, 1), date(2025, 11, 1)]


def test_one_hidden_week_under_published_months_hides_the_smallest_other_week():
    sizes = [8] * 13
    sizes[4], sizes[9] = 3, 6  # week 5 below k; week 10 the smallest published one
    weeks = _weeks(sizes)
    hide_w, hide_m = time_grain_targets(weeks, _months(AUTUMN, [9, 9, 9], [False] * 3), k=5)
    assert hide_w == [9] and hide_m == []


def test_one_hidden_month_under_published_weeks_hides_another_month():
    weeks = _weeks([8] * 13)
    hide_w, hide_m = time_grain_targets(weeks, _months(AUTUMN, [9, 4, 7], [False, True, False]), k=5)
    assert hide_w == [] and hide_m == [2]  # November (7 people) is smaller than September (9)


def test_hidden_weeks_must_cover_k_people_together():
    sizes = [8] * 13
    sizes[2], sizes[3], sizes[7] = 1, 2, 5
    hide_w, _ = time_grain_targets(_weeks(sizes), _months(AUTUMN, [9, 9, 9], [False] * 3), k=5)
    assert hide_w == [7]  # 1 + 2 people < 5: one more week (the smallest, 5 people) joins them


def test_spans_that_are_not_whole_weeks_need_nothing():
    # October 2026 starts on a Thursday and November 2026 ends on a Monday: no span of whole weeks.
    weeks = _weeks([8, 3, 8, 8, 8, 8, 8, 8, 8], start=date(2026, 9, 28))
    months = _months([date(2026, 10, 1), date(2026, 11, 1)], [9, 9], [False, False])
    assert time_grain_targets(weeks, months, k=5) == ([], [])


def _autumn_company(w: Warehouse) -> None:
    """Dev: team A (6 people) posts every week Sep-Nov 2025 but only 3 of them in ISO week 40; team B (7)
    posts every week. Every month has >= 5 posters in both teams, so the months are published."""
    a, b = w.team("Dev", "A", 6), w.team("Dev", "B", 7)
    for week in range(36, 49):
        for members in (a, b):
            active = members[:3] if (members is a and week == 40) else members
            for i, person in enumerate(active):
                w.post(person, monday(2025, week, day=i % 5), POSITIVE if (i + week) % 3 else NEGATIVE)


def _recovered_cells(con) -> list[tuple]:  # noqa: ANN001
    """Solve every published equation for the hidden ``messages`` cells: org hierarchy per week and per
    month, and Σ months = Σ weeks per unit over aligned spans."""
    weeks = con.execute("SELECT org_level, org_unit, parent_unit, week_start AS period, messages "
                        "FROM marts.engagement_weekly").df().assign(grain="week")
    months = con.execute("SELECT org_level, org_unit, parent_unit, month_start AS period, messages "
                         "FROM marts.retention_signals_monthly").df().assign(grain="month")
    cells = pd.concat([weeks, months], ignore_index=True)
    cells["period"] = pd.to_datetime(cells["period"])
    key = list(zip(cells.grain, cells.org_level, cells.org_unit, cells.period, strict=True))
    hidden = [k for k, v in zip(key, cells.messages, strict=True) if pd.isna(v)]
    col = {k: i for i, k in enumerate(hidden)}
    rows: list[np.ndarray] = []

    def equation(terms: list[tuple[tuple, float]]) -> None:
        coef = np.zeros(len(hidden))
        for k, sign in terms:
            if k in col:
                coef[col[k]] += sign
        if coef.any():
            rows.append(coef)

    child_level = {"company": "department", "department": "team"}
    for r in cells.itertuples():
        children = cells[(cells.grain == r.grain) & (cells.period == r.period) & (cells.parent_unit == r.org_unit)
                         & (cells.org_level == child_level.get(r.org_level, ""))]
        if len(children):
            equation([((r.grain, r.org_level, r.org_unit, r.period), 1.0)]
                     + [((c.grain, c.org_level, c.org_unit, c.period), -1.0) for c in children.itertuples()])
    for (level, unit), unit_months in months.groupby(["org_level", "org_unit"]):
        starts = sorted(pd.to_datetime(unit_months.period))
        for i, first in enumerate(starts):
            for last in starts[i:]:
                end = last + pd.offsets.MonthEnd(0)
                if first.weekday() == 0 and end.weekday() == 6:
                    span = pd.date_range(first, end, freq="7D")
                    equation([(("month", level, unit, m), 1.0) for m in starts if first <= m <= last]
                             + [(("week", level, unit, wk), -1.0) for wk in span])
    return recovered_unknowns(rows, hidden)


def test_weekly_and_monthly_marts_cannot_be_differenced(tmp_path):
    settings = get_settings(db_path=tmp_path / "w.duckdb")
    with connect(settings.db_path) as con:
        _autumn_company(Warehouse(con))
        report = build_marts(con, settings)
        found = _recovered_cells(con)
        a_week40 = con.execute("SELECT suppression_reason FROM marts.engagement_weekly WHERE org_unit = 'A' "
                               "AND week_start = DATE '2025-09-29'").fetchone()[0]
    assert a_week40 == "active_posters_below_k"
    assert report.complementary_suppressed["engagement_base+retention_base (weeks vs months).suppression_reason"] > 0
    assert found == []


def test_without_the_time_grain_step_the_hidden_week_is_recovered(tmp_path, monkeypatch):
    # The counterfactual proves the attack is real: hierarchy suppression alone leaks team A's week 40.
    monkeypatch.setattr("pipeline.marts.apply_time_grain_suppression", lambda con, k: 0)
    settings = get_settings(db_path=tmp_path / "w.duckdb")
    with connect(settings.db_path) as con:
        _autumn_company(Warehouse(con))
        build_marts(con, settings)
        found = _recovered_cells(con)
        months = con.execute("SELECT sum(messages) FROM marts.retention_signals_monthly WHERE org_unit = 'A'").fetchone()[0]
        weeks = con.execute("SELECT sum(messages) FROM marts.engagement_weekly WHERE org_unit = 'A'").fetchone()[0]
    assert ("week", "team", "A", pd.Timestamp("2025-09-29")) in found
    assert months - weeks == 3  # the three messages of team A's hidden week
