"""``stemning validate``: simulate companies, run the whole pipeline on each, and score the indicators
against the planted ground truth (see ``pipeline.indicators.validation`` for the exact metrics).

Each seed: ``simulate_company`` → ingest roster, Slack export, CSV posts and reviews → language ID,
sentiment, themes → marts, into a temporary DuckDB file (the same library functions the Airflow tasks
call). Prints one line per seed and a final line ending in
``auc=<x> false_alerts_per_100_team_weeks=<y> detected_drops=<k>/<n>``.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from pipeline.indicators.validation import Metrics

TARGET_AUC = 0.85
TARGET_DETECTED = 0.80
TARGET_FALSE_PER_100 = 1.0

EPILOG = """\
examples:
  stemning validate                                      # 5 seeds, 400 employees, 26 weeks, default model
  stemning validate --model afinn-lexicon                # fast: the lexicon baseline
  stemning validate --seeds 11,12,13 --employees 200 --weeks 20 --keep /tmp/validation

Targets (issue 5): mean AUC >= 0.85 over 5 seeds, >= 80 % of planted drops detected, <= 1 false alert
per 100 team-weeks, on >= 400 employees over >= 26 weeks. --strict exits 1 when a target is missed.
"""


@dataclass
class SeedResult:
    seed: int
    metrics: Metrics
    seconds: float

    def line(self) -> str:
        m = self.metrics
        auc = "n/a" if m.auc is None else f"{m.auc:.3f}"
        return (f"seed={self.seed} teams_ranked={m.teams_ranked} (at_risk={m.at_risk_ranked}, unranked={m.teams_unranked}) "
                f"team_weeks={m.team_weeks} false_alerts={m.false_alerts} time={self.seconds:.0f}s "
                f"auc={auc} false_alerts_per_100_team_weeks={m.false_alerts_per_100:.2f} "
                f"detected_drops={m.detected_drops}/{m.drops}")


def run_pipeline(company_dir: Path, db_path: Path, model: str, progress: bool = False) -> None:
    """Ingest a simulated company's files and run sentiment, themes and marts into ``db_path``."""
    from pipeline.config import get_settings
    from pipeline.db import connect
    from pipeline.ingest.service import ingest_path
    from pipeline.steps import marts_step, sentiment_step

    settings = get_settings(db_path=db_path, sentiment_model=model, landing_dir=db_path.parent / "landing")
    with connect(settings.db_path) as con:
        ingest_path(con, settings, "roster", company_dir / "roster.csv")
        ingest_path(con, settings, "posts", company_dir / "slack")
        ingest_path(con, settings, "posts", company_dir / "posts.csv")
        ingest_path(con, settings, "reviews", company_dir / "reviews.csv")
    sentiment_step(settings, progress=progress)
    marts_step(settings)


def validate_seed(seed: int, employees: int, weeks: int, model: str, workdir: Path, progress: bool = False) -> SeedResult:
    from pipeline.db import connect
    from pipeline.indicators.validation import evaluate
    from pipeline.simulate import simulate_company

    t0 = time.perf_counter()
    company = simulate_company(employees, weeks, seed, workdir / f"company-{seed}")
    db_path = workdir / f"seed-{seed}.duckdb"
    if db_path.exists():
        db_path.unlink()
    run_pipeline(company, db_path, model, progress=progress)
    truth = json.loads((company / "truth.json").read_text(encoding="utf-8"))
    with connect(db_path, read_only=True) as con:
        metrics = evaluate(con, truth)
    return SeedResult(seed, metrics, time.perf_counter() - t0)


def summary_line(results: list[SeedResult]) -> str:
    aucs = [r.metrics.auc for r in results if r.metrics.auc is not None]
    auc = sum(aucs) / len(aucs) if aucs else float("nan")
    false_alerts = sum(r.metrics.false_alerts for r in results)
    team_weeks = sum(r.metrics.team_weeks for r in results)
    detected = sum(r.metrics.detected_drops for r in results)
    drops = sum(r.metrics.drops for r in results)
    per_100 = 100.0 * false_alerts / team_weeks if team_weeks else 0.0
    return (f"{len(results)} seeds, mean over seeds: auc={auc:.3f} "
            f"false_alerts_per_100_team_weeks={per_100:.2f} detected_drops={detected}/{drops}")


def targets_met(results: list[SeedResult]) -> bool:
    aucs = [r.metrics.auc for r in results if r.metrics.auc is not None]
    team_weeks = sum(r.metrics.team_weeks for r in results)
    drops = sum(r.metrics.drops for r in results)
    return (
        bool(aucs) and sum(aucs) / len(aucs) >= TARGET_AUC
        and (drops == 0 or sum(r.metrics.detected_drops for r in results) / drops >= TARGET_DETECTED)
        and 100.0 * sum(r.metrics.false_alerts for r in results) / max(team_weeks, 1) <= TARGET_FALSE_PER_100
    )


def _seeds(value: str) -> list[int]:
    try:
        seeds = [int(s) for s in value.split(",") if s.strip()]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers like 1,2,3, got {value!r}") from exc
    if not seeds:
        raise argparse.ArgumentTypeError("give at least one seed")
    return seeds


def cmd_validate(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    # Simulated people only: an ephemeral key is fine when none is configured.
    os.environ.setdefault("STEMNING_PSEUDONYM_KEY", secrets.token_hex(32))
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    results: list[SeedResult] = []
    with tempfile.TemporaryDirectory(prefix="stemning-validate-") as tmp:
        workdir = Path(args.keep) if args.keep else Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        for seed in tqdm(args.seeds, desc="validate", unit="seed", file=sys.stderr):
            result = validate_seed(seed, args.employees, args.weeks, args.model, workdir, progress=args.verbose)
            results.append(result)
            tqdm.write(result.line())
    print(f"employees={args.employees} weeks={args.weeks} model={args.model}")
    print(summary_line(results))
    if args.strict and not targets_met(results):
        print("targets missed (AUC >= 0.85, >= 80 % drops detected, <= 1 false alert per 100 team-weeks)",
              file=sys.stderr)
        return 1
    return 0


def register_cli(subparsers: argparse._SubParsersAction) -> None:
    from pipeline.config import get_settings

    p = subparsers.add_parser(
        "validate",
        help="simulate companies, run the whole pipeline and score the indicators against the ground truth",
        description="For each seed: simulate a company with planted at-risk teams and sentiment drops, ingest it, "
                    "score sentiment and themes, build the marts in a temporary DuckDB, then measure how well "
                    "the retention risk index ranks at-risk teams (ROC AUC) and how the alerts catch planted "
                    "drops without false alarms. See README 'Indicators' for the exact definitions.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--seeds", type=_seeds, default=[1, 2, 3, 4, 5], help="comma-separated seeds (default 1,2,3,4,5)")
    p.add_argument("--employees", type=int, default=400, help="head count of each simulated company (default 400)")
    p.add_argument("--weeks", type=int, default=26, help="weeks simulated (default 26)")
    p.add_argument("--model", default=get_settings().sentiment_model,
                   help="sentiment model id, e.g. afinn-lexicon or e5-small-sentiment (default: STEMNING_SENTIMENT_MODEL)")
    p.add_argument("--keep", metavar="DIR", help="keep the simulated companies and warehouses in DIR")
    p.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    p.set_defaults(func=cmd_validate)
