"""Complementary suppression: hand-made hierarchies, and a real differencing attack on a built mart."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from pipeline.config import get_settings
from pipeline.db import connect
from pipeline.indicators.suppression import COMPLEMENTARY, complementary_suppression
from pipeline.marts import PYTHON_STEPS, build_marts
from tests.fixtures.marts_data import NEGATIVE, POSITIVE, Warehouse, monday, recovered_unknowns


def _cells(rows: list[tuple[str, str, str | None, int, str | None]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["org_level", "org_unit", "parent_unit", "size", "reason"]).assign(week_start=date(2026, 3, 2))


def _reasons(cells: pd.DataFrame, k: int = 5) -> dict[str, str | None]:
    final = complementary_suppression(cells, k, "size", "reason", ("week_start",))
    return dict(zip(cells["org_unit"], final, strict=True))


def test_one_hidden_team_hides_its_smallest_sibling():
    cells = _cells([
        ("company", "company", None, 38, None),
        ("department", "D1", "company", 16, None),
        ("team", "A", "D1", 6, None), ("team", "B", "D1", 7, None), ("team", "C", "D1", 3, "active_posters_below_k"),
        ("department", "D2", "company", 22, None),
        ("team", "E", "D2", 10, None), ("team", "F", "D2", 12, None),
    ])
    assert _reasons(cells) == {
        "company": None, "D1": None, "A": COMPLEMENTARY, "B": None, "C": "active_posters_below_k",
        "D2": None, "E": None, "F": None,
    }


def test_hidden_siblings_must_cover_k_people_together():
    # A (1) and B (2) are both hidden, but department − C − D would describe 3 < k people: hide C too.
    cells = _cells([
        ("company", "company", None, 53, None),
        ("department", "D1", "company", 53, None),
        ("team", "A", "D1", 1, "active_posters_below_k"), ("team", "B", "D1", 2, "active_posters_below_k"),
        ("team", "C", "D1", 20, None), ("team", "D", "D1", 30, None),
    ])
    reasons = _reasons(cells)
    assert reasons["C"] == COMPLEMENTARY
    assert reasons["D"] is None and reasons["D1"] is None


def test_hiding_a_department_also_hides_inside_it():
    # Small department S is hidden, so department X is hidden next to it; X's teams all published would
    # give X back as their sum (and then S as company − X − Y), so one of X's teams is hidden as well.
    cells = _cells([
        ("company", "company", None, 96, None),
        ("department", "S", "company", 4, "headcount_below_k"),
        ("team", "S1", "S", 2, "headcount_below_k"), ("team", "S2", "S", 2, "headcount_below_k"),
        ("department", "X", "company", 22, None),
        ("team", "X1", "X", 10, None), ("team", "X2", "X", 12, None),
        ("department", "Y", "company", 70, None),
        ("team", "Y1", "Y", 30, None), ("team", "Y2", "Y", 40, None),
    ])
    reasons = _reasons(cells)
    # X = X1 + X2 with X and X1 hidden pins neither down, so X2 stays published.
    assert reasons["X"] == COMPLEMENTARY and reasons["X1"] == COMPLEMENTARY and reasons["X2"] is None
    assert reasons["Y"] is None and reasons["Y1"] is None and reasons["company"] is None


def test_nothing_hidden_means_nothing_added():
    cells = _cells([
        ("company", "company", None, 20, None),
        ("department", "D1", "company", 20, None),
        ("team", "A", "D1", 10, None), ("team", "B", "D1", 10, None),
    ])
    assert set(_reasons(cells).values()) == {None}


def recoverable_cells(table: pd.DataFrame, column: str, partition: str = "week_start") -> list[tuple]:
    """A differencing attack: per period, solve ``parent = Σ children`` for the hidden cells of ``column``.

    A hidden cell is recovered when its unit vector lies in the row space of the equations restricted to
    the hidden cells (i.e. some combination of published totals pins it down exactly).
    """
    recovered = []
    for period, part in table.groupby(partition):
        values = {(r.org_level, r.org_unit): getattr(r, column) for r in part.itertuples()}
        parents = {(r.org_level, r.org_unit): r.parent_unit for r in part.itertuples()}
        hidden = [key for key, v in values.items() if pd.isna(v)]
        if not hidden:
            continue
        column_of = {key: i for i, key in enumerate(hidden)}
        rows = []
        for parent in values:
            children = [c for c, p in parents.items() if p == parent[1] and c[0] == {"company": "department", "department": "team"}.get(parent[0])]
            if not children:
                continue
            coef = np.zeros(len(hidden))
            for key, sign in [(parent, 1.0)] + [(c, -1.0) for c in children]:
                if key in column_of:
                    coef[column_of[key]] += sign
            if coef.any():
                rows.append(coef)
        recovered += [(period, key) for key in recovered_unknowns(rows, hidden)]
    return recovered


def _small_team_company(w: Warehouse) -> None:
    """Department Dev: teams A (6) and B (7) active every week, team C (3 people) always below k."""
    teams = {"A": w.team("Dev", "A", 6), "B": w.team("Dev", "B", 7), "C": w.team("Dev", "C", 3),
             "X": w.team("Ops", "X", 8), "Y": w.team("Ops", "Y", 9)}
    for week in (10, 11, 12):
        for members in teams.values():
            for i, person in enumerate(members):
                w.post(person, monday(2026, week, day=i % 5), POSITIVE if i % 2 else NEGATIVE)


def _differencing_attack(con) -> tuple[pd.DataFrame, list[tuple]]:  # noqa: ANN001
    table = con.execute("SELECT * FROM marts.engagement_weekly").df()
    found = []
    for column in ("headcount", "active_posters", "messages", "posts"):
        found += [(column, *cell) for cell in recoverable_cells(table, column)]
    return table, found


def test_differencing_attack_recovers_nothing_from_the_mart(tmp_path):
    settings = get_settings(db_path=tmp_path / "w.duckdb")
    with connect(settings.db_path) as con:
        _small_team_company(Warehouse(con))
        build_marts(con, settings)
        table, found = _differencing_attack(con)
    teams = table[table.org_level == "team"].set_index(["org_unit", "week_start"])
    assert (teams.xs("C", level="org_unit")["suppression_reason"] == "headcount_below_k").all()
    assert (teams.xs("A", level="org_unit")["suppression_reason"] == COMPLEMENTARY).all()
    assert found == []


def test_without_complementary_suppression_the_attack_succeeds(tmp_path, monkeypatch):
    # The counterfactual proves the attack is real: primary suppression alone leaks team C exactly.
    for step in (22, 42):  # both passes that protect engagement_base (42 also re-checks it after months)
        monkeypatch.setitem(PYTHON_STEPS, step, lambda con, settings, report: None)
    settings = get_settings(db_path=tmp_path / "w.duckdb")
    with connect(settings.db_path) as con:
        _small_team_company(Warehouse(con))
        build_marts(con, settings)
        table, found = _differencing_attack(con)
    dev = table[(table.org_unit == "Dev")].iloc[0]
    published = table[(table.parent_unit == "Dev") & table.messages.notna() & (table.week_start == dev.week_start)]
    assert dev.messages - published.messages.sum() == 3  # team C's three messages
    assert {(c[0], c[2][1]) for c in found} >= {("messages", "C"), ("headcount", "C")}


@pytest.mark.parametrize("k", [5, 8])
def test_every_published_mart_row_meets_k(tmp_path, k):
    settings = get_settings(db_path=tmp_path / "w.duckdb", min_group_size=k)
    with connect(settings.db_path) as con:
        _small_team_company(Warehouse(con))
        build_marts(con, settings)
        bad = con.execute(
            f"SELECT count(*) FROM marts.engagement_weekly WHERE NOT suppressed AND (headcount < {k} OR active_posters < {k})"
        ).fetchone()[0]
        hidden_with_figures = con.execute(
            "SELECT count(*) FROM marts.engagement_weekly WHERE suppressed AND (messages IS NOT NULL OR mean_sentiment IS NOT NULL)"
        ).fetchone()[0]
    assert bad == 0 and hidden_with_figures == 0
