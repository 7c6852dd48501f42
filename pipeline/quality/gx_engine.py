"""great-expectations 1.x behind a small interface: validate a DataFrame against a suite, build Data Docs.

GX's SQL datasource does not work with DuckDB, so every batch is a DuckDB query result handed to GX as a
pandas DataFrame (ephemeral context, pandas datasource, one whole-dataframe batch per suite). The
context is created once per process and Data Docs folder (importing GX costs seconds; each expectation
then ~20-40 ms). Progress bars, usage statistics and GX's INFO logging are off.

Data Docs: static HTML under ``<docs_dir>`` (GX's SiteBuilder). Validation results are kept for the
docs in a filesystem store ``<docs_dir>/_gx_results`` so the index lists every run, not just this
process's. Results are stripped of row values before they are stored (a failing text-length check
must not copy the text into the docs); counts and aggregate observations stay.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.quality.suites import SuiteSpec, all_suites

log = logging.getLogger(__name__)

RESULTS_DIRNAME = "_gx_results"
# Data Docs keep the latest results per suite (a result page is ~70 kB); quality.validation_results
# keeps every run's numbers.
DOCS_HISTORY_PER_SUITE = 30
SITE_NAME = "stemning"
# Result keys that carry row values or row positions: used for quarantine, never stored or rendered.
ROW_VALUE_KEYS = (
    "unexpected_list", "partial_unexpected_list", "partial_unexpected_counts", "unexpected_index_list",
    "partial_unexpected_index_list", "unexpected_index_query", "unexpected_rows", "partial_unexpected_rows",
)


@dataclass
class Outcome:
    """One expectation's result, in the terms the rest of the pipeline uses."""

    index: int
    success: bool
    kwargs: dict[str, Any]
    element_count: int | None
    unexpected_count: int | None
    unexpected_percent: float | None
    observed_value: Any
    failing_positions: list[int]
    exception: str | None


class GXEngine:
    def __init__(self, docs_dir: Path | None) -> None:
        import great_expectations as gx
        from great_expectations.data_context.types.base import (
            DataContextConfig,
            InMemoryStoreBackendDefaults,
            ProgressBarsConfig,
        )

        # GX logs every store and render step at INFO: too loud for task logs; warnings still show.
        logging.getLogger("great_expectations").setLevel(logging.WARNING)
        self._gx = gx
        self.docs_dir = docs_dir
        config = DataContextConfig(
            store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
            progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
            analytics_enabled=False,
        )
        if docs_dir is not None:
            config.stores["validation_results_store"] = {
                "class_name": "ValidationResultsStore",
                "store_backend": {"class_name": "TupleFilesystemStoreBackend",
                                  "base_directory": str(docs_dir / RESULTS_DIRNAME)},
            }
            config.data_docs_sites = {SITE_NAME: {
                "class_name": "SiteBuilder",
                "show_how_to_buttons": False,
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
                "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir)},
            }}
        self.context = gx.get_context(mode="ephemeral", project_config=config)
        self._source = self.context.data_sources.add_pandas("warehouse")
        self._batches: dict[str, Any] = {}
        self._unrendered: list[Any] = []  # result and suite identifiers stored since the last docs build
        # Every suite of every layer is registered, so the docs index keeps all suites' pages.
        self._suites = {spec.name: self.context.suites.add(self._to_gx_suite(spec)) for spec in all_suites()}

    @property
    def version(self) -> str:
        return str(self._gx.__version__)

    def _to_gx_suite(self, spec: SuiteSpec) -> Any:
        expectations = [
            {"type": e.type, "kwargs": e.kwargs, "notes": e.notes,
             "meta": {"on_failure": e.on_failure, "index": i},
             "severity": "warning" if e.on_failure == "warn" else "critical"}
            for i, e in enumerate(spec.expectations)
        ]
        return self._gx.ExpectationSuite(name=spec.name, expectations=expectations,
                                         meta={"layer": spec.layer, "table": spec.table, "query": spec.query})

    def _batch_definition(self, table: str) -> Any:
        if table not in self._batches:
            asset = self._source.add_dataframe_asset(table)
            self._batches[table] = asset.add_batch_definition_whole_dataframe("whole_table")
        return self._batches[table]

    def validate(self, spec: SuiteSpec, df: pd.DataFrame, parameters: dict[str, Any],
                 run_id: str | None = None) -> list[Outcome]:
        """Validate ``df`` (index 0..n-1) against the suite; failing row positions come back for
        ``quarantine`` expectations. With ``run_id`` the (value-free) result is kept for the Data Docs."""
        batch = self._batch_definition(spec.table).get_batch(batch_parameters={"dataframe": df.reset_index(drop=True)})
        result_format = "COMPLETE" if spec.quarantines else "SUMMARY"
        suite = self._suites[spec.name]
        result = batch.validate(suite, result_format=result_format, expectation_parameters=parameters)
        outcomes = []
        for r in result.results:
            meta = r.expectation_config.meta or {}
            info = r.exception_info or {}
            raised = bool(info.get("raised_exception"))
            res = dict(r.result or {})
            kwargs = {k: v for k, v in r.expectation_config.kwargs.items() if k != "batch_id"}
            outcomes.append(Outcome(
                index=int(meta["index"]),
                success=bool(r.success) and not raised,
                kwargs=kwargs,
                element_count=res.get("element_count"),
                unexpected_count=res.get("unexpected_count"),
                unexpected_percent=res.get("unexpected_percent"),
                observed_value=res.get("observed_value"),
                failing_positions=[int(i) for i in res.get("unexpected_index_list") or []],
                exception=info.get("exception_message") if raised else None,
            ))
            for key in ROW_VALUE_KEYS:
                r.result.pop(key, None)
        if run_id is not None and self.docs_dir is not None:
            self._keep_for_docs(spec, result, run_id)
        return sorted(outcomes, key=lambda o: o.index)

    def _keep_for_docs(self, spec: SuiteSpec, result: Any, run_id: str) -> None:
        from great_expectations.core.run_identifier import RunIdentifier
        from great_expectations.data_context.types.resource_identifiers import (
            ExpectationSuiteIdentifier,
            ValidationResultIdentifier,
        )

        suite_id = ExpectationSuiteIdentifier(name=spec.name)
        key = ValidationResultIdentifier(
            expectation_suite_identifier=suite_id,
            run_id=RunIdentifier(run_name=run_id, run_time=datetime.now(UTC)),
            batch_identifier=spec.table,
        )
        self.context.validation_results_store.set(key, result)
        self._unrendered += [suite_id, key]

    def build_docs(self) -> Path | None:
        """Render the pages of results stored since the last build, and the index (which lists every
        result still in the results store); returns the index.html (None without a docs folder)."""
        if self.docs_dir is None:
            return None
        index = self.docs_dir / "index.html"
        self._prune_history()
        pending, self._unrendered = list(dict.fromkeys(self._unrendered)), []
        if pending or not index.exists():
            self.context.build_data_docs(site_names=[SITE_NAME], resource_identifiers=pending or None)
        return index


    def _prune_history(self) -> None:
        """Drop stored results beyond the newest DOCS_HISTORY_PER_SUITE per suite; the index build then
        removes their pages. Layout: <results>/<suite path>/<run name>/<run time>/<batch>.json."""
        assert self.docs_dir is not None
        by_suite: dict[Path, list[Path]] = {}
        for f in (self.docs_dir / RESULTS_DIRNAME).rglob("*.json"):
            by_suite.setdefault(f.parent.parent.parent, []).append(f)
        for files in by_suite.values():
            files.sort(key=lambda f: (f.parent.name, f.stat().st_mtime), reverse=True)
            for old in files[DOCS_HISTORY_PER_SUITE:]:
                old.unlink()


_ENGINES: dict[Path | None, GXEngine] = {}


def get_engine(docs_dir: Path | None) -> GXEngine:
    """The process-wide engine for a Data Docs folder (created on first use)."""
    key = docs_dir.resolve() if docs_dir is not None else None
    if key not in _ENGINES:
        if key is not None:
            key.mkdir(parents=True, exist_ok=True)
        _ENGINES[key] = GXEngine(key)
    return _ENGINES[key]
