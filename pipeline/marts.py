"""Build the dashboard tables (``marts.*``) from staging and NLP, and document them.

Each ``sql/marts/NN_<table>.sql`` file is one model that (re)creates one table from scratch, so a
rebuild is idempotent. Settings reach SQL as DuckDB variables (``getvariable('min_group_size')``).
``marts.data_dictionary`` is loaded from ``docs/data_dictionary.yaml``; ``check_dictionary`` fails
if any mart column is undocumented.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pandas as pd
import yaml

from pipeline.config import REPO_ROOT, Settings
from pipeline.db import run_sql_file, set_variables, sql_model_files

DICTIONARY_FILE = REPO_ROOT / "docs" / "data_dictionary.yaml"


@dataclass
class MartsReport:
    tables: dict[str, int]

    def summary(self) -> str:
        return "marts: " + ", ".join(f"{t} {n} rows" for t, n in self.tables.items())


def build_marts(con: duckdb.DuckDBPyConnection, settings: Settings) -> MartsReport:
    set_variables(
        con,
        min_group_size=settings.min_group_size,
        min_group_size_text=settings.min_group_size_text,
    )
    tables: dict[str, int] = {}
    con.execute("BEGIN")
    try:
        for f in sql_model_files("marts"):
            run_sql_file(con, f)
        load_data_dictionary(con)
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    for (name,) in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'marts' ORDER BY 1"
    ).fetchall():
        tables[name] = con.execute(f"SELECT count(*) FROM marts.{name}").fetchone()[0]
    return MartsReport(tables)


def read_dictionary() -> list[dict[str, str]]:
    spec = yaml.safe_load(DICTIONARY_FILE.read_text())
    rows = []
    for table, entry in spec["tables"].items():
        rows.append({"table_name": table, "column_name": None, "description": entry["description"].strip(),
                     "formula": None, "unit": None, "suppression": entry.get("suppression", "").strip() or None})
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
