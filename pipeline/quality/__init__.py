"""Data quality gates with great-expectations 1.x: suites per layer (``pipeline/quality/suites/*.yaml``),
validation of DuckDB query results as pandas batches, quarantine of failing raw rows, results in
``quality.validation_results`` and GX Data Docs under ``<warehouse folder>/data_docs``.

Entry point: :func:`pipeline.quality.runner.validate_layers` (the Airflow tasks call it through
``pipeline.steps.validate_step``; the CLI is ``stemning quality``).
"""
