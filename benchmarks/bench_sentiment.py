"""Sentiment scoring throughput: batched vs a naive per-text loop, at fp32, bf16 and dynamic int8.

    .venv/bin/python benchmarks/bench_sentiment.py            # or: stemning models bench

Texts are real employer-review text (../shared/data) cut to exactly ~20 ("short") and ~120 ("long")
tokens, so lengths are controlled; without the shared data the repo's hand-written examples are used.
Each precision runs in its own child process so its peak RSS is its own. "naive" = the same model
called once per text (no batching, no length sorting): what a straightforward loop would do. bf16 is
only fast on CPUs with native bf16 (AMX / AVX512-BF16); the table says whether this one has it and
which precision ``STEMNING_PRECISION=auto`` (the default) picks here.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def corpus(tokenizer, n: int, tokens: int) -> list[str]:
    """``n`` texts of exactly ``tokens`` tokens (before prefix/specials) from real review text."""
    from pipeline.nlp import sentiment_data

    try:
        train, held = sentiment_data.employer_reviews()
        pool = [e.text for e in (*train, *held)]
    except sentiment_data.SharedDataMissing:
        pool = [e.text for e in sentiment_data.hr_examples()]
    texts: list[str] = []
    i = 0
    while len(texts) < n:
        ids: list[int] = []
        while len(ids) < tokens:  # join consecutive texts until long enough
            ids += tokenizer(pool[i % len(pool)], add_special_tokens=False)["input_ids"]
            i += 1
        texts.append(tokenizer.decode(ids[:tokens]))
    return texts


PRECISIONS = ("fp32", "bf16", "int8")


def run_config(precision: str, n_short: int, n_long: int, n_naive: int, model_dir: str | None) -> dict:
    from pipeline.config import get_settings
    from pipeline.nlp.e5_convert import build
    from pipeline.nlp.transformer import E5SentimentModel

    started = time.perf_counter()
    model = E5SentimentModel.from_pretrained("bench", model_dir or build(), quantize=precision == "int8",
                                             precision=None if precision == "int8" else precision)
    load_s = time.perf_counter() - started
    tok = model.encoder.tokenizer
    out: dict = {"precision": precision, "load_s": round(load_s, 1),
                 "batch_size": model.encoder.batch_size, "threads": get_settings().torch_threads}
    import torch

    out["torch_threads"] = torch.get_num_threads()
    for name, n, tokens in (("short", n_short, 20), ("long", n_long, 120)):
        texts = corpus(tok, n, tokens)
        model.predict_proba(texts[:16])  # warm-up
        t0 = time.perf_counter()
        model.predict_proba(texts)
        batched = n / (time.perf_counter() - t0)
        naive_texts = texts[: min(n_naive, n)]
        t0 = time.perf_counter()
        for text in naive_texts:
            model.predict_proba([text])
        naive = len(naive_texts) / (time.perf_counter() - t0)
        mean_tokens = sum(len(c) for c in model.encoder.chunk(texts).ids) / n
        out[name] = {"n": n, "model_tokens": round(mean_tokens, 1), "docs_per_s": round(batched, 1),
                     "naive_docs_per_s": round(naive, 1)}
    out["loadavg"] = round(os.getloadavg()[0], 1)
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return out


def table(results: list[dict]) -> str:
    from pipeline.nlp.transformer import native_bf16, resolve_precision

    fp32 = next(r for r in results if r["precision"] == "fp32")
    lines = ["| precision | texts | tokens/text | docs/s (batched) | docs/s (naive loop) | speed-up vs naive "
             "(same precision) | vs naive fp32 | peak RSS MB |", "|---|---|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        for name in ("short", "long"):
            m = r[name]
            lines.append(f"| {r['precision']} | {name} ({m['n']}) | {m['model_tokens']} | {m['docs_per_s']} | "
                         f"{m['naive_docs_per_s']} | {m['docs_per_s'] / m['naive_docs_per_s']:.1f}× | "
                         f"{m['docs_per_s'] / fp32[name]['naive_docs_per_s']:.1f}× | {r['peak_rss_mb']} |")
    r0 = results[0]
    lines.append(f"\nbatch size {r0['batch_size']}, torch threads {r0['torch_threads']}; model load: "
                 + ", ".join(f"{r['precision']} {r['load_s']} s" for r in results)
                 + f"; machine load average {r0['loadavg']} on {os.cpu_count()} cores"
                 + (" (busy: numbers are pessimistic)" if r0["loadavg"] > (os.cpu_count() or 1) else "")
                 + f"; native bf16 on this CPU: {'yes' if native_bf16() else 'no'}, so the default "
                 f"(STEMNING_PRECISION=auto) runs {resolve_precision('auto')}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--short", type=int, default=640)
    parser.add_argument("--long", type=int, default=160)
    parser.add_argument("--naive", type=int, default=96)
    parser.add_argument("--model", help="model directory (default: the offline build)")
    parser.add_argument("--child", choices=PRECISIONS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(run_config(args.child, args.short, args.long, args.naive, args.model)))
        return 0
    results = []
    for precision in PRECISIONS:
        cmd = [sys.executable, __file__, "--child", precision, "--short", str(args.short), "--long",
               str(args.long), "--naive", str(args.naive)] + (["--model", args.model] if args.model else [])
        print(f"[bench] {precision} …", file=sys.stderr, flush=True)
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            print(proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "benchmark child failed",
                  file=sys.stderr)
            return 1
        results.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    print(table(results))
    out_dir = REPO / "benchmarks" / "results"
    out_dir.mkdir(exist_ok=True)
    (out_dir / "bench_sentiment.json").write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
