"""The marts build as a whole: documented, idempotent, leaves no unsuppressed work tables behind."""

from __future__ import annotations

import pytest

from pipeline.config import get_settings
from pipeline.db import connect
from pipeline.marts import (
    DOCS_FILE,
    build_marts,
    read_dictionary,
    render_dictionary_markdown,
    undocumented_columns,
)
from tests.fixtures.marts_data import NEGATIVE, POSITIVE, Warehouse, monday

MARTS = {"engagement_weekly", "theme_sentiment_weekly", "retention_signals_monthly", "employer_brand_monthly",
         "onboarding_cohorts_monthly", "alerts"}


def _fill(w: Warehouse) -> None:
    for team, size in (("A", 6), ("B", 7), ("C", 2)):
        for i, person in enumerate(w.team("Dev", team, size)):
            for week in range(2, 8):
                w.post(person, monday(2026, week, day=i % 5), POSITIVE if (i + week) % 3 else NEGATIVE,
                       themes=("workload",) if i % 2 else ("pay",))
    w.review("glassdoor", "Fjordlys", monday(2026, 3), 4, "former", {"pros": (POSITIVE, "da", ("pay",))})


def _snapshot(con) -> dict[str, list[tuple]]:  # noqa: ANN001
    return {t: con.execute(f"SELECT * FROM marts.{t} ORDER BY ALL").fetchall() for t in sorted(MARTS)}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    settings = get_settings(db_path=tmp_path_factory.mktemp("build") / "w.duckdb")
    with connect(settings.db_path) as con:
        _fill(Warehouse(con))
        report = build_marts(con, settings)
        first = _snapshot(con)
        temp_tables = con.execute("SELECT table_name FROM duckdb_tables() WHERE temporary").fetchall()
        undocumented = undocumented_columns(con)
        columns = set(con.execute(
            "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'marts'").fetchall())
        build_marts(con, settings)
        second = _snapshot(con)
    return report, first, second, temp_tables, undocumented, columns


def test_every_mart_is_built(built):
    report = built[0]
    assert set(report.tables) == MARTS | {"data_dictionary"}
    assert all(report.tables[t] > 0 for t in MARTS - {"alerts"})
    assert report.complementary_suppressed["engagement_base.suppression_reason"] > 0  # team C hides one of A/B


def test_every_column_is_documented_and_every_entry_exists(built):
    undocumented, columns = built[4], built[5]
    assert undocumented == []
    documented = {(r["table_name"], r["column_name"]) for r in read_dictionary() if r["column_name"]}
    assert documented <= columns  # no stale entries
    for r in read_dictionary():
        assert r["description"], f"{r['table_name']}.{r['column_name']} has no description"


def test_rebuild_is_idempotent(built):
    assert built[1] == built[2]


def test_no_unsuppressed_work_table_survives_the_build(built):
    assert built[3] == []


def test_rendered_docs_are_current():
    assert DOCS_FILE.read_text(encoding="utf-8") == render_dictionary_markdown(), (
        "docs/marts.md is stale: run `python -m pipeline.marts --render-docs`")


def test_an_empty_warehouse_builds_empty_marts(tmp_path):
    settings = get_settings(db_path=tmp_path / "w.duckdb")
    with connect(settings.db_path) as con:
        report = build_marts(con, settings)
        assert undocumented_columns(con) == []
    assert all(report.tables[t] == 0 for t in MARTS)
