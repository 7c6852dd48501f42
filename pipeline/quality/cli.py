"""`stemning quality`: run the data-quality gates by hand (the DAGs run them between stages)."""

from __future__ import annotations

import argparse
import sys

from pipeline.quality.suites import LAYERS


def register_cli(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "quality",
        help="run the great-expectations data-quality suites (raw, staging, nlp, marts)",
        description=(
            "Validates the warehouse layer by layer with the suites in pipeline/quality/suites/. Failing raw "
            "rows move to quarantine.rows (reason: the failed expectation); a failing batch-level expectation "
            "stops and exits 1. Results go to quality.validation_results, Data Docs to "
            "<warehouse folder>/data_docs/index.html."
        ),
        epilog=(
            "Examples:\n"
            "  stemning quality                        # every layer\n"
            "  stemning quality --layer raw --layer staging\n"
            "  stemning quality --no-docs"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--layer", action="append", choices=LAYERS, help="layer to validate (repeatable; default all)")
    p.add_argument("--no-docs", action="store_true", help="do not render the Data Docs")
    p.set_defaults(func=run_validate_cli)


def run_validate_cli(args: argparse.Namespace) -> int:
    from pipeline.config import get_settings
    from pipeline.db import connect
    from pipeline.quality.runner import QualityGateError, docs_dir_for, validate_layers

    settings = get_settings(db_path=getattr(args, "db", None))
    layers = tuple(args.layer or LAYERS)
    try:
        with connect(settings.db_path) as con:
            reports = validate_layers(con, settings, layers, build_docs=not args.no_docs)
    except QualityGateError as exc:
        print(f"stemning: error: {exc}", file=sys.stderr)
        return 1
    for r in reports:
        print(r.summary())
        for w in r.warnings:
            print(f"  warning: {w.suite}: {w.expectation} — {w.unexpected_percent or 0:.1f}% unexpected")
    if not args.no_docs:
        print(f"Data Docs: {docs_dir_for(settings) / 'index.html'}")
    return 0
