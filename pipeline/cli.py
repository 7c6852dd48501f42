"""`stemning` — the command line for Stemning.

Every subcommand has --help with examples. Global options come before the subcommand:
    stemning --db warehouse/stemning.duckdb ingest posts landing/posts/slack_export
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from pathlib import Path

from pipeline.config import SETTINGS_DOC, get_settings

# Feature modules that add their own subcommands via register_cli(subparsers).
PLUGIN_MODULES = (
    "pipeline.simulate.cli",
    "pipeline.nlp.models_cli",
    "pipeline.themes.cli",
    "pipeline.privacy.audit",
    "pipeline.privacy.erase",
    "pipeline.quality.cli",
    "pipeline.retention",
    "pipeline.validate",
)

EPILOG = """\
Typical session:
  stemning demo                                   # everything, on the bundled sample data
  stemning ingest roster hris_export.csv
  stemning ingest posts slack_export.zip          # or --format csv|jsonl
  stemning ingest reviews glassdoor.csv
  stemning run                                    # language ID, sentiment, marts
  stemning score comments.csv --text-column text -o scored.csv

Environment (defaults in parentheses):
""" + "\n".join(f"  {var:<32} {meaning} ({default})" for var, default, meaning in SETTINGS_DOC.values())


class _Formatter(argparse.RawDescriptionHelpFormatter):
    pass


def _settings(args: argparse.Namespace):  # noqa: ANN202 - Settings
    return get_settings(db_path=args.db)


def cmd_ingest(args: argparse.Namespace) -> int:
    from pipeline.db import connect
    from pipeline.ingest.reviews import parse_mapping
    from pipeline.ingest.service import IngestOptions, ingest_path

    settings = _settings(args)
    options = IngestOptions(
        fmt=args.format,
        mapping=parse_mapping(getattr(args, "map", None)),
        preset=getattr(args, "preset", None),
        force=args.force,
    )
    with connect(settings.db_path) as con:
        report = ingest_path(con, settings, args.kind, Path(args.path), options)
    print(report.summary())
    if report.quarantined:
        print(f"  inspect: SELECT * FROM quarantine.rows WHERE file_hash = '{report.file_hash}'")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from pipeline.steps import marts_step, sentiment_step

    settings = _settings(args)
    if args.model:
        settings = get_settings(db_path=settings.db_path, sentiment_model=args.model)
    print(sentiment_step(settings, progress=True)["summary"])
    print(marts_step(settings)["summary"])
    return 0


def cmd_score(args: argparse.Namespace) -> int:
    from pipeline.score_csv import score_csv

    settings = _settings(args)
    n = score_csv(Path(args.input), Path(args.output), args.text_column, args.lang, args.model or settings.sentiment_model,
                  batch_size=settings.batch_size)
    print(f"scored {n} rows -> {args.output}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from pipeline.demo import run_demo

    return run_demo(_settings(args), sample_dir=Path(args.sample_dir), fresh=args.fresh)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="stemning",
        description="Stemning: employee-sentiment pipeline (Airflow DAGs, Danish/English sentiment, DuckDB marts).",
        epilog=EPILOG,
        formatter_class=_Formatter,
    )
    parser.add_argument("--db", help=f"DuckDB warehouse file (env STEMNING_DB; default {SETTINGS_DOC['db_path'][1]})")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser(
        "demo",
        help="run the whole pipeline through the Airflow DAGs on the bundled sample data",
        description="Copies the bundled sample company into the landing folder, runs the ingestion, NLP and "
        "marts DAGs with dag.test() (no scheduler needed), and prints a summary of the dashboard tables. "
        "Running it twice gives the same tables.",
        epilog="Example:\n  stemning demo\n  stemning --db /tmp/demo.duckdb demo --fresh",
        formatter_class=_Formatter,
    )
    p.add_argument("--sample-dir", default=str(Path(__file__).resolve().parent.parent / "sample_data"),
                   help="simulated company to load (default: the bundled sample_data/)")
    p.add_argument("--fresh", action="store_true", help="delete the warehouse file first")
    p.set_defaults(func=cmd_demo)

    ingest = sub.add_parser("ingest", help="load posts, reviews or a roster into the raw layer",
                            description="Load one file or export into DuckDB. Authors are pseudonymised and PII is redacted "
                            "before anything is stored; bad rows go to quarantine.rows with a reason. Re-ingesting the "
                            "same file is a no-op.", formatter_class=_Formatter)
    isub = ingest.add_subparsers(dest="kind", metavar="KIND", required=True)
    for kind, fmts, example in (
        ("posts", ("slack", "csv", "jsonl"), "stemning ingest posts slack_export.zip\n  stemning ingest posts intranet.csv --format csv"),
        ("reviews", ("csv", "jsonl"), "stemning ingest reviews glassdoor.csv\n"
         "  stemning ingest reviews ../shared/data/en_employer_reviews/reviews.csv --preset hrdatasets\n"
         "  stemning ingest reviews other.csv --map pros=like,cons=dislike,rating=score"),
        ("roster", ("csv",), "stemning ingest roster hris_export.csv"),
    ):
        k = isub.add_parser(kind, help=f"ingest {kind} ({', '.join(fmts)})", epilog=f"Examples:\n  {example}",
                            formatter_class=_Formatter,
                            description=f"Ingest {kind}. Formats: {', '.join(fmts)} (detected from the file name when "
                            "--format is omitted). See README 'Input formats' for the columns.")
        k.add_argument("path", help="file, or for Slack an export directory or .zip")
        k.add_argument("--format", choices=fmts, help="input format (default: from the file name)")
        k.add_argument("--force", action="store_true", help="re-read a file already ingested (rows still dedupe)")
        if kind == "reviews":
            k.add_argument("--map", help="column mapping OUR=THEIRS,… e.g. pros=like,cons=dislike,rating=score")
            k.add_argument("--preset", help="named mapping for a known dataset: hrdatasets")
        k.set_defaults(func=cmd_ingest, kind=kind)

    p = sub.add_parser("run", help="score pending texts and rebuild the dashboard tables",
                       description="Everything pending after ingestion: language ID and sentiment for new/changed texts "
                       "(cached by text hash and model version), then the marts.", formatter_class=_Formatter,
                       epilog="Examples:\n  stemning run\n  stemning run --model afinn-lexicon")
    p.add_argument("--model", help="sentiment model id (default: STEMNING_SENTIMENT_MODEL)")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("score", help="score any CSV ad hoc (adds language, sentiment, themes columns)",
                       description="Reads INPUT.csv, keeps every column, and adds language, sentiment_label, "
                       "sentiment_score (p_positive - p_negative, in [-1, 1]), p_negative, p_neutral, p_positive, "
                       "themes and leave_intent. Nothing is written to the warehouse. Text is PII-redacted "
                       "(patterns only) before it reaches the model.", formatter_class=_Formatter,
                       epilog="Example:\n  stemning score comments.csv --text-column comment -o scored.csv --lang auto")
    p.add_argument("input", help="input CSV (UTF-8)")
    p.add_argument("--text-column", required=True, help="column holding the text")
    p.add_argument("-o", "--output", required=True, help="output CSV")
    p.add_argument("--lang", choices=("auto", "da", "en"), default="auto", help="language (default: detect per row)")
    p.add_argument("--model", help="sentiment model id (default: STEMNING_SENTIMENT_MODEL)")
    p.set_defaults(func=cmd_score)

    for name in PLUGIN_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        module.register_cli(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(message)s")
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    from pipeline.ingest.common import UnsupportedInputError

    try:
        return int(args.func(args) or 0)
    except (UnsupportedInputError, FileNotFoundError, KeyError, ValueError) as exc:
        msg = exc.args[0] if exc.args else str(exc)
        print(f"stemning: error: {msg}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
