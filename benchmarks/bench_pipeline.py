"""Pipeline benchmark: ingestion throughput and "scoring cost is proportional to new texts only".

    .venv/bin/python benchmarks/bench_pipeline.py [--employees 200] [--weeks 12] [--model e5-small-sentiment]

A simulated company is ingested in two parts: Slack + roster + reviews first (the "backfill"), then the
generic posts file (the "increment"). The NLP step runs after each, and once more with nothing new.
Printed ratios are measured in this same run (this machine is noisy, absolute numbers are not the
point): per-text NLP cost of the increment vs the backfill (≈ 1 means the cost follows the new texts),
and the no-op re-run vs the backfill.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--employees", type=int, default=200)
    parser.add_argument("--weeks", type=int, default=12)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--model", default=None, help="sentiment model id (default: the configured default)")
    args = parser.parse_args()
    os.environ.setdefault("STEMNING_PSEUDONYM_KEY", "benchmark-key-0123456789abcdef")

    from pipeline.config import get_settings
    from pipeline.db import connect
    from pipeline.ingest.service import ingest_path
    from pipeline.nlp.base import get_model
    from pipeline.simulate import simulate_company
    from pipeline.steps import marts_step, sentiment_step

    work = Path(tempfile.mkdtemp(prefix="stemning-bench-"))
    company = simulate_company(args.employees, args.weeks, args.seed, work / "company")
    overrides = {"db_path": work / "bench.duckdb"}
    if args.model:
        overrides["sentiment_model"] = args.model
    settings = get_settings(**overrides)
    # One-off start-up costs (model load, spaCy pipelines, lingua, theme matcher) stay outside the timings.
    from pipeline.nlp.langid import detect_languages
    from pipeline.nlp.run import score_texts
    from pipeline.themes import analyse

    model = get_model(settings.sentiment_model)
    score_texts(["Varm op.", "Warm up."], ["da", "en"], settings.sentiment_model)
    detect_languages(["varm op"])
    analyse(["Varm op.", "Warm up."], ["da", "en"])

    rows: list[tuple[str, float, int, str]] = []

    def timed(label: str, fn, count_of) -> dict:  # noqa: ANN001
        t0 = time.perf_counter()
        result = fn()
        seconds = time.perf_counter() - t0
        n = count_of(result)
        rows.append((label, seconds, n, f"{n / seconds:,.0f}/s" if seconds and n else "-"))
        return result

    def ingest(kind: str, name: str):  # noqa: ANN202
        with connect(settings.db_path) as con:
            return ingest_path(con, settings, kind, company / name)

    timed("ingest roster", lambda: ingest("roster", "roster.csv"), lambda r: r.rows_seen)
    timed("ingest Slack export", lambda: ingest("posts", "slack"), lambda r: r.rows_seen)
    timed("ingest reviews", lambda: ingest("reviews", "reviews.csv"), lambda r: r.rows_seen)
    backfill = timed("NLP backfill", lambda: sentiment_step(settings), lambda r: r["pending"])
    timed("ingest posts.csv", lambda: ingest("posts", "posts.csv"), lambda r: r.rows_seen)
    increment = timed("NLP increment", lambda: sentiment_step(settings), lambda r: r["pending"])
    timed("NLP re-run (nothing new)", lambda: sentiment_step(settings), lambda r: r["pending"])
    timed("marts rebuild", lambda: marts_step(settings), lambda r: sum(r["tables"].values()))

    print(f"\nPipeline benchmark — {args.employees} employees × {args.weeks} weeks, model {model.model_id} "
          f"({model.model_version}), {os.cpu_count()} cores")
    print(f"{'step':<28} {'seconds':>9} {'items':>8} {'rate':>10}")
    for label, seconds, n, rate in rows:
        print(f"{label:<28} {seconds:>9.2f} {n:>8} {rate:>10}")
    t = {label: seconds for label, seconds, _, _ in rows}
    per_text_backfill = t["NLP backfill"] / max(backfill["pending"], 1)
    per_text_increment = t["NLP increment"] / max(increment["pending"], 1)
    print("\nRatios (same run):")
    print(f"  per-text NLP cost, increment / backfill : {per_text_increment / per_text_backfill:.2f}  (≈1: cost follows new texts)")
    print(f"  NLP re-run with nothing new / backfill  : {t['NLP re-run (nothing new)'] / t['NLP backfill']:.3f}")
    print(f"  cache hits in increment                 : {increment['cache_hits']} of {increment['pending']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
