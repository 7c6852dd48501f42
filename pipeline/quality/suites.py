"""Expectation suites as data: ``pipeline/quality/suites/<layer>.yaml``, one file per layer.

Each file lists suites; a suite validates one DuckDB query result (default ``SELECT * FROM <table>``) as
one pandas batch. Every expectation is a great-expectations 1.x expectation (``type`` + ``kwargs``)
plus ``on_failure``, which says what a failure does:

- ``fail``: batch-level; the validation task fails with a clear message (nothing downstream runs);
- ``warn``: reported in ``quality.validation_results`` and the Data Docs only (a metric);
- ``quarantine``: row-level, raw tables only; the failing rows move to quarantine and the run goes on.

A suite with ``columns`` (column -> DuckDB type) also gets a generated schema-contract suite
``<name>.schema`` that checks the table's required columns and their types in ``information_schema``.
This module does not import great-expectations (DAG files import it at parse time via the steps).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

SUITES_DIR = Path(__file__).resolve().parent / "suites"
LAYERS = ("raw", "staging", "nlp", "marts")
ON_FAILURE = ("fail", "warn", "quarantine")


@dataclass(frozen=True)
class ExpectationSpec:
    type: str
    kwargs: dict[str, Any]
    on_failure: str
    notes: str | None = None

    @property
    def label(self) -> str:
        """Short name used in reasons and messages, e.g. ``expect_column_values_to_be_between(rating)``."""
        cols = self.kwargs.get("column") or self.kwargs.get("column_list")
        if cols is None and "column_A" in self.kwargs:
            cols = [self.kwargs["column_A"], self.kwargs["column_B"]]
        if isinstance(cols, list):
            cols = ", ".join(cols)
        return f"{self.type}({cols or ''})"


@dataclass(frozen=True)
class SuiteSpec:
    name: str
    layer: str
    table: str
    query: str
    expectations: tuple[ExpectationSpec, ...]
    columns: dict[str, str] = field(default_factory=dict)

    @property
    def quarantines(self) -> bool:
        return any(e.on_failure == "quarantine" for e in self.expectations)


def _expectation(raw: dict[str, Any], where: str) -> ExpectationSpec:
    on_failure = raw.get("on_failure", "fail")
    if on_failure not in ON_FAILURE:
        raise ValueError(f"{where}: on_failure must be one of {ON_FAILURE}, got {on_failure!r}")
    if not isinstance(raw.get("type"), str) or not isinstance(raw.get("kwargs"), dict):
        raise ValueError(f"{where}: every expectation needs `type` (str) and `kwargs` (mapping)")
    return ExpectationSpec(raw["type"], raw["kwargs"], on_failure, (raw.get("notes") or "").strip() or None)


def schema_suite(spec: SuiteSpec) -> SuiteSpec:
    """The generated schema contract of ``spec``: required columns present, with the declared types."""
    schema, table = spec.table.split(".")
    names = ", ".join("'" + c.replace("'", "''") + "'" for c in spec.columns)
    query = (
        "SELECT column_name, data_type FROM information_schema.columns "
        f"WHERE table_schema = '{schema}' AND table_name = '{table}' AND column_name IN ({names})"
    )
    expectations = (
        ExpectationSpec("expect_column_distinct_values_to_contain_set",
                        {"column": "column_name", "value_set": list(spec.columns)}, "fail",
                        "Required columns are present."),
        ExpectationSpec("expect_column_pair_values_to_be_in_set",
                        {"column_A": "column_name", "column_B": "data_type",
                         "value_pairs_set": [[c, t] for c, t in spec.columns.items()]}, "fail",
                        "Required columns have the declared DuckDB types."),
    )
    return SuiteSpec(f"{spec.name}.schema", spec.layer, spec.table, query, expectations)


@cache
def load_layer(layer: str) -> tuple[SuiteSpec, ...]:
    """The suites of one layer, schema contracts first (a broken schema makes the rest meaningless)."""
    if layer not in LAYERS:
        raise ValueError(f"unknown layer {layer!r}; expected one of {', '.join(LAYERS)}")
    path = SUITES_DIR / f"{layer}.yaml"
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    if doc.get("layer") != layer:
        raise ValueError(f"{path}: `layer` must be {layer!r}")
    suites: list[SuiteSpec] = []
    for s in doc["suites"]:
        where = f"{path.name}: suite {s.get('name')!r}"
        spec = SuiteSpec(
            name=s["name"],
            layer=layer,
            table=s["table"],
            query=" ".join((s.get("query") or f"SELECT * FROM {s['table']}").split()),
            expectations=tuple(_expectation(e, f"{where} #{i}") for i, e in enumerate(s["expectations"])),
            columns=dict(s.get("columns") or {}),
        )
        if spec.quarantines and layer != "raw":
            raise ValueError(f"{where}: on_failure: quarantine is only possible on raw tables")
        if spec.columns:
            suites.append(schema_suite(spec))
        suites.append(spec)
    names = [s.name for s in suites]
    if len(set(names)) != len(names):
        raise ValueError(f"{path}: duplicate suite names")
    return tuple(suites)


def all_suites() -> tuple[SuiteSpec, ...]:
    return tuple(s for layer in LAYERS for s in load_layer(layer))
