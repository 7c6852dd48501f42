"""Build the dashboard tables (``marts.*``) from staging and NLP, and document them.

A build is a fixed plan of numbered steps, run in one transaction so readers never see half a build:

* ``sql/marts/NN_<name>.sql`` — SQL models, run in NN order. Files named ``*_base.sql`` and
  ``10_facts.sql`` create TEMP work tables (unsuppressed aggregates that exist only during the build);
  the others create one ``marts.<table>`` each from scratch, so a rebuild is idempotent.
* Python steps (``PYTHON_STEPS`` below, numbered between the SQL files): complementary suppression of
  the work tables and the alert tests (``pipeline.indicators``).

Settings reach SQL as DuckDB variables (``getvariable('min_group_size')``). ``marts.data_dictionary``
is loaded from ``docs/data_dictionary.yaml``; ``undocumented_columns`` lists any mart column missing there.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd
import yaml

from pipeline.config import REPO_ROOT, Settings
from pipeline.db import run_sql_file, set_variables, sql_model_files
from pipeline.indicators.alerts import build_alerts
from pipeline.indicators.retention import RISK_WEIGHTS, RiskWeights
from pipeline.indicators.suppression import (
    apply_cohort_suppression,
    apply_complementary_suppression,
    apply_time_grain_suppression,
)

DICTIONARY_FILE = REPO_ROOT / "docs" / "data_dictionary.yaml"
_STEP_NUMBER = re.compile(r"^(\d+)_")


@dataclass
class MartsReport:
    tables: dict[str, int]
    complementary_suppressed: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        return "marts: " + ", ".join(f"{t} {n} rows" for t, n in self.tables.items())


Step = Callable[[duckdb.DuckDBPyConnection, Settings, MartsReport], None]


def _suppress(table: str, size_column: str, partition: tuple[str, ...], k_setting: str,
              reason_column: str = "suppression_reason") -> Step:
    def step(con: duckdb.DuckDBPyConnection, settings: Settings, report: MartsReport) -> None:
        k = getattr(settings, k_setting)
        n = apply_complementary_suppression(con, table, k, size_column, partition, reason_column)
        report.complementary_suppressed[f"{table}.{reason_column}"] = n

    return step


def _weekly_monthly_and_cohorts(con: duckdb.DuckDBPyConnection, settings: Settings, report: MartsReport) -> None:
    """The weekly marts, the monthly marts and the monthly cohort split describe the same messages at
    three grains: protect them jointly until no pass hides another cell."""
    k = settings.min_group_size
    totals = {"retention_base+onboarding_base": 0, "engagement_base+retention_base (weeks vs months)": 0,
              "engagement_base (after time grain)": 0}
    while True:
        added = [apply_cohort_suppression(con, k), apply_time_grain_suppression(con, k),
                 apply_complementary_suppression(con, "engagement_base", k, "active_posters", ("week_start",))]
        for name, n in zip(totals, added, strict=True):
            totals[name] += n
        if not any(added):
            break
    for name, n in totals.items():
        report.complementary_suppressed[f"{name}.suppression_reason"] = n


def _alerts(con: duckdb.DuckDBPyConnection, settings: Settings, report: MartsReport) -> None:
    build_alerts(con)


# Python steps, numbered to run between the SQL files (a step N runs after every SQL file < N).
PYTHON_STEPS: dict[int, Step] = {
    22: _suppress("engagement_base", "active_posters", ("week_start",), "min_group_size"),
    # engagement_base (weeks), retention_base (months) and onboarding_base (cohorts) are protected jointly.
    42: _weekly_monthly_and_cohorts,
    43: _suppress("retention_base", "avg_headcount", ("month_start",), "min_group_size_text",
                  reason_column="attrition_suppression_reason"),
    47: _suppress("theme_base", "authors", ("theme", "week_start"), "min_group_size_text"),
    80: _alerts,
}


def build_plan() -> list[tuple[int, str, Callable[..., None]]]:
    """(number, name, callable) in execution order; SQL files before Python steps of the same number."""
    plan: list[tuple[int, str, Callable[..., None]]] = []
    for f in sql_model_files("marts"):
        m = _STEP_NUMBER.match(f.name)
        if not m:
            raise ValueError(f"bad marts model name {f.name}: expected NN_name.sql")
        plan.append((int(m.group(1)), f.name, _sql_step(f)))
    plan += [(n, f"python step {n}", step) for n, step in PYTHON_STEPS.items()]
    return sorted(plan, key=lambda s: (s[0], s[1].startswith("python")))


def _sql_step(path: Path) -> Step:
    def step(con: duckdb.DuckDBPyConnection, settings: Settings, report: MartsReport) -> None:
        run_sql_file(con, path)

    return step


def risk_variables(weights: RiskWeights = RISK_WEIGHTS) -> dict[str, float]:
    return {f"risk_{name}": value for name, value in weights.as_dict().items()}


def build_marts(con: duckdb.DuckDBPyConnection, settings: Settings) -> MartsReport:
    set_variables(
        con,
        min_group_size=settings.min_group_size,
        min_group_size_text=settings.min_group_size_text,
        **risk_variables(),
    )
    report = MartsReport(tables={})
    con.execute("BEGIN")
    try:
        for _, _, step in build_plan():
            step(con, settings, report)
        load_data_dictionary(con)
        _drop_work_tables(con)
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        _drop_work_tables(con)
        raise
    for (name,) in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'marts' ORDER BY 1"
    ).fetchall():
        report.tables[name] = con.execute(f"SELECT count(*) FROM marts.{name}").fetchone()[0]
    return report


def _drop_work_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Unsuppressed work tables must not outlive the build (the CLI may keep the connection open)."""
    for (name,) in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE temporary AND database_name = 'temp' "
        "AND (table_name LIKE 'mart\\_%' ESCAPE '\\' OR table_name LIKE '%\\_base' ESCAPE '\\')"
    ).fetchall():
        con.execute(f'DROP TABLE IF EXISTS temp.main."{name}"')


def read_dictionary() -> list[dict[str, str | None]]:
    spec = yaml.safe_load(DICTIONARY_FILE.read_text())
    rows: list[dict[str, str | None]] = []
    for table, entry in spec["tables"].items():
        rows.append({"table_name": table, "column_name": None, "description": entry["description"].strip(),
                     "formula": None, "unit": None, "suppression": (entry.get("suppression") or "").strip() or None})
        for col, c in entry["columns"].items():
            rows.append({"table_name": table, "column_name": col, "description": c["description"].strip(),
                         "formula": c.get("formula"), "unit": c.get("unit"), "suppression": c.get("suppression")})
    return rows


def load_data_dictionary(con: duckdb.DuckDBPyConnection) -> None:
    df = pd.DataFrame(read_dictionary(), columns=["table_name", "column_name", "description", "formula", "unit", "suppression"])
    con.register("dictionary_rows", df)
    con.execute("CREATE OR REPLACE TABLE marts.data_dictionary AS SELECT * FROM dictionary_rows")
    con.unregister("dictionary_rows")


def undocumented_columns(con: duckdb.DuckDBPyConnection) -> list[str]:
    documented = {(r["table_name"], r["column_name"]) for r in read_dictionary()}
    cols = con.execute(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = 'marts' AND table_name <> 'data_dictionary'"
    ).fetchall()
    return [f"{t}.{c}" for t, c in cols if (t, c) not in documented]


DOCS_FILE = REPO_ROOT / "docs" / "marts.md"


def render_dictionary_markdown() -> str:
    """docs/marts.md: the data dictionary as Markdown (one section per mart, one table row per column)."""
    spec = yaml.safe_load(DICTIONARY_FILE.read_text())
    comments = [line[2:] for line in DICTIONARY_FILE.read_text().splitlines() if line.startswith("# ")]
    header = comments[next(i for i, line in enumerate(comments) if line.startswith("Conventions")):]
    out = ["# Dashboard tables (`marts` schema)", "",
           "Generated from `docs/data_dictionary.yaml` by `python -m pipeline.marts --render-docs`; do not edit by hand.",
           "The same text is queryable in DuckDB as `marts.data_dictionary`.", "", "```text", *header, "```", ""]

    def cell(value: object) -> str:
        return "" if value is None else " ".join(str(value).split()).replace("|", "\\|")

    for table, entry in spec["tables"].items():
        out += [f"## `marts.{table}`", "", " ".join(entry["description"].split()), ""]
        if entry.get("suppression"):
            out += [f"**Suppression.** {' '.join(entry['suppression'].split())}", ""]
        out += ["| column | meaning | formula | unit | suppression |", "|---|---|---|---|---|"]
        for col, c in entry["columns"].items():
            out.append(f"| `{col}` | {cell(c['description'])} | {cell(c.get('formula'))} | {cell(c.get('unit'))} | "
                       f"{cell(c.get('suppression'))} |")
        out.append("")
    return "\n".join(out)


if __name__ == "__main__":
    import sys

    if sys.argv[1:] != ["--render-docs"]:
        sys.exit("usage: python -m pipeline.marts --render-docs   (rewrites docs/marts.md from the data dictionary)")
    DOCS_FILE.write_text(render_dictionary_markdown(), encoding="utf-8")
    print(f"wrote {DOCS_FILE}")
