"""``stemning simulate``: write a simulated company (inputs + ground truth) to a folder."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

EPILOG = """\
examples:
  stemning simulate --employees 100 --weeks 14 --seed 42 --out sample_data --start-date 2026-03-02
  stemning simulate --employees 400 --weeks 26 --seed 1 --out /tmp/company1

The folder gets roster.csv, slack/ (a Slack workspace export), posts.csv (intranet, Teams chat and
pulse-survey free text), reviews.csv (public employer reviews), truth.json (planted at-risk teams,
sentiment drops, leavers) and labels.csv (per-post ground truth for evaluation). Same seed and
arguments give byte-identical files.
"""


def _iso_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, got {value!r}") from exc


def register_cli(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "simulate",
        help="simulate a company: roster, Slack export, posts, reviews and ground truth",
        description="Simulate a Danish company with planted signals (at-risk teams, sentiment drops, leavers) "
                    "and write it in Stemning's input formats, with the ground truth next to it.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--employees", type=int, required=True, help="head count at the start (20-5000)")
    parser.add_argument("--weeks", type=int, required=True, help="length of the period in weeks (1-104)")
    parser.add_argument("--seed", type=int, required=True, help="random seed; same seed + arguments = same bytes")
    parser.add_argument("--out", type=Path, required=True, help="output folder (created if missing)")
    parser.add_argument("--start-date", type=_iso_date, default=None,
                        help="first day, YYYY-MM-DD, snapped to its Monday (default 2025-06-30)")
    parser.add_argument("--activity", type=float, default=1.0,
                        help="posting volume multiplier (1.0 = about two posts per person-week)")
    parser.set_defaults(func=run_simulate)


def run_simulate(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from pipeline.simulate.company import simulate_company

    stages = ["organisation", "posts", "slack export", "csv files", "truth"]
    try:
        with tqdm(total=len(stages), desc="simulate", unit="stage", file=sys.stderr) as bar:
            def progress(stage: str) -> None:
                bar.set_postfix_str(stage)
                if stage != stages[0]:
                    bar.update(1)

            out = simulate_company(args.employees, args.weeks, args.seed, args.out, args.start_date,
                                   activity=args.activity, progress=progress)
            bar.update(1)
    except (ValueError, FileExistsError) as exc:
        # After the progress bar has closed, so the error is the last line the user sees.
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote simulated company to {out}")
    return 0
