"""Learned HR theme classifier: per-sentence theme probabilities from frozen e5-small sentence embeddings.

The term matcher (``matcher.py``) finds themes named by a term; this head catches implicit mentions
("haven't had a weekend off since August" = workload). It is one logistic unit per theme (14,
``THEME_IDS`` order) on e5 features like the sentiment head's: hidden states of multilingual-e5-small
(which ones: the head's metadata, chosen by CV; v1 reads 6, 8, 10, 12), each mean-pooled and
L2-normalised, concatenated. A head may also read character n-gram TF-IDF features (``CharTfidf``:
Danish compounds and chat spellings that e5 and the terms miss); whether it does is chosen by CV, and its
vocabulary, idf and weights are stored in the head. The head file
(``models/heads/themes-e5-small-v1.npz`` + ``.json``) also stores one decision threshold per theme,
chosen by cross-validation on the training data (``pipeline.themes.train_classifier``). A head may also
carry a leave-intent unit (``LeaveUnit``) on the same features, which the matcher combines with its rules.

The encoder is shared with the sentiment model when that is the same e5 rebuild without adapters (no
second copy in memory); otherwise the default ``e5-small-sentiment`` model's encoder is used, which the
model registry caches process-wide. Nothing is downloaded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from pipeline.config import REPO_ROOT, THEME_CLASSIFIERS, checked_choice, get_settings
from pipeline.themes.taxonomy import THEME_IDS

DEFAULT_THEME_HEAD = REPO_ROOT / "models" / "heads" / "themes-e5-small-v1.npz"
CLASSIFIER_CHOICES: tuple[str, ...] = THEME_CLASSIFIERS
_FALLBACK_MODEL = "e5-small-sentiment"
ArrayOrBool = np.ndarray | bool
ArrayOrFloat = np.ndarray | float


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # overflow-free logistic


NGRAM_RANGE = (2, 5)


def char_ngrams(text: str, ngram_range: tuple[int, int] = NGRAM_RANGE) -> list[str]:
    """Character n-grams inside word boundaries of the lower-cased text: each whitespace-separated word is
    padded with one space on either side, and every n-gram of each length in ``ngram_range`` (inclusive)
    that fits in the padded word is taken, in order."""
    lo, hi = ngram_range
    grams: list[str] = []
    for word in text.lower().split():
        padded = f" {word} "
        for n in range(lo, min(hi, len(padded)) + 1):
            grams.extend(padded[i : i + n] for i in range(len(padded) - n + 1))
    return grams


def ngram_counts(texts: Sequence[str], index: dict[str, int]) -> sp.csr_matrix:
    """(n, len(index)) raw counts of the n-grams of ``index``; others are ignored."""
    indptr, indices, data = [0], [], []
    for text in texts:
        row: dict[int, int] = {}
        for g in char_ngrams(text):
            j = index.get(g)
            if j is not None:
                row[j] = row.get(j, 0) + 1
        cols = sorted(row)
        indices.extend(cols)
        data.extend(row[j] for j in cols)
        indptr.append(len(indices))
    return sp.csr_matrix((np.array(data, dtype=np.float64), np.array(indices, dtype=np.int64),
                          np.array(indptr, dtype=np.int64)), shape=(len(texts), len(index)))


def tfidf_from_counts(counts: sp.csr_matrix, idf: np.ndarray) -> sp.csr_matrix:
    """Sublinear tf (1 + ln count) times idf, each row L2-normalised (an all-zero row stays zero)."""
    x = sp.csr_matrix(counts, dtype=np.float64, copy=True)
    x.data = (1.0 + np.log(x.data)) * idf[x.indices]
    norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=1)).ravel())
    x.data /= np.repeat(np.where(norms > 0, norms, 1.0), np.diff(x.indptr))
    return x


@dataclass(frozen=True)
class CharTfidf:
    """Character n-gram TF-IDF featuriser (char_wb 2-5-grams of lower-cased text, sublinear tf, smooth idf,
    L2-normalised rows). Deterministic: the vocabulary is sorted, ties in the cap are broken by the n-gram."""

    vocabulary: tuple[str, ...]
    idf: np.ndarray  # (len(vocabulary),)

    @classmethod
    def fit_counts(cls, counts: sp.csr_matrix, grams: Sequence[str], min_df: int = 2,
                   max_features: int = 50_000) -> tuple[CharTfidf, np.ndarray]:
        """From raw counts of training units over all n-grams ``grams`` (sorted): keep n-grams in >= ``min_df``
        units, the ``max_features`` most frequent; returns the featuriser and the kept columns (sorted)."""
        df = np.asarray((counts > 0).sum(axis=0)).ravel()
        eligible = np.flatnonzero(df >= min_df)
        if len(eligible) > max_features:  # stable sort by -df keeps the alphabetical order among equals
            eligible = np.sort(eligible[np.argsort(-df[eligible], kind="stable")[:max_features]])
        idf = np.log((1.0 + counts.shape[0]) / (1.0 + df[eligible])) + 1.0
        return cls(tuple(grams[j] for j in eligible), idf), eligible

    @classmethod
    def fit(cls, texts: Sequence[str], min_df: int = 2, max_features: int = 50_000) -> CharTfidf:
        grams = sorted({g for t in texts for g in char_ngrams(t)})
        return cls.fit_counts(ngram_counts(texts, {g: j for j, g in enumerate(grams)}), grams, min_df,
                              max_features)[0]

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        return tfidf_from_counts(ngram_counts(texts, _vocabulary_index(self.vocabulary)), self.idf)


@cache
def _vocabulary_index(vocabulary: tuple[str, ...]) -> dict[str, int]:
    return {g: j for j, g in enumerate(vocabulary)}


def leave_verdict(rules: ArrayOrBool, p: ArrayOrFloat, may_add: ArrayOrBool, threshold: float,
                  veto: float) -> ArrayOrBool:
    """The hybrid's leave-intent decision, for one post (bools and a float) or many (numpy arrays): the
    rules' verdict unless the classifier's p is below ``veto``, or the classifier alone at p >= ``threshold``
    where it ``may_add`` (the post has the retention theme and the rules negated no trigger in it). Training
    scores it vectorised; ``matcher._classifier_leave`` turns it into evidence for one post."""
    return (rules & (p >= veto)) | (may_add & (p >= threshold))


@dataclass(frozen=True)
class LeaveUnit:
    """One logistic unit for leave intent on the head's features, with the hybrid's decision levels: the
    rules' verdict stands unless the post's p (max over its sentences) < ``veto``; p >= ``threshold`` alone
    flags the post."""

    weight: np.ndarray  # (d,)
    bias: float
    tfidf_weight: np.ndarray | None  # (len(tfidf.vocabulary),) when the head reads TF-IDF
    threshold: float
    veto: float


@dataclass
class ThemeHead:
    """One-vs-rest logistic regressions on standardised e5 features (and, when the head has them, character
    n-gram TF-IDF features), plus per-theme thresholds."""

    weight: np.ndarray  # (14, d); d = 0 when the head reads no e5 features
    bias: np.ndarray  # (14,)
    mean: np.ndarray  # (d,)
    scale: np.ndarray  # (d,)
    thresholds: np.ndarray  # (14,) probability at or above which the classifier adds the theme
    meta: dict[str, Any] = field(default_factory=dict)
    tfidf: CharTfidf | None = None
    tfidf_weight: np.ndarray | None = None  # (14, len(tfidf.vocabulary))
    leave: LeaveUnit | None = None

    @property
    def layers(self) -> tuple[int, ...]:
        return tuple(self.meta.get("layers", (8, 12)))

    @property
    def uses_e5(self) -> bool:
        return self.weight.shape[1] > 0

    @property
    def sha256(self) -> str:
        return str(self.meta.get("npz_sha256", ""))

    def __post_init__(self) -> None:
        # Checked here, so a mismatched head file is refused when it is loaded, not at its first prediction.
        if self.leave is not None and (self.tfidf_weight is None) != (self.leave.tfidf_weight is None):
            raise ValueError("theme head: the leave unit must read the same features as the themes (TF-IDF "
                             "weights on both or neither); retrain with `python -m pipeline.themes.train_classifier`")

    def _units(self) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """Weights of every unit: the 14 themes, then the leave unit when there is one."""
        if self.leave is None:
            return self.weight, self.bias, self.tfidf_weight
        tfidf_weight = None if self.tfidf_weight is None or self.leave.tfidf_weight is None else \
            np.vstack([self.tfidf_weight, self.leave.tfidf_weight])
        return (np.vstack([self.weight, self.leave.weight]), np.append(self.bias, self.leave.bias), tfidf_weight)

    def predict(self, features: np.ndarray | None, texts: Sequence[str] | None = None
                ) -> tuple[np.ndarray, np.ndarray | None]:
        """Theme probabilities (n, 14) and leave-intent probabilities (n,) (None without a leave unit).
        ``features``: e5 features (None when the head reads none); ``texts``: needed when it reads TF-IDF."""
        weight, bias, tfidf_weight = self._units()
        if self.uses_e5:
            x = (np.asarray(features, dtype=np.float64) - self.mean) / self.scale
            z = x @ weight.T + bias
        else:
            z = np.tile(bias, (len(texts or ()), 1))
        if self.tfidf is not None and tfidf_weight is not None:
            if texts is None:
                raise ValueError("this theme head reads character n-grams: pass the texts")
            z = z + self.tfidf.transform(texts) @ tfidf_weight.T
        p = sigmoid(z)
        return (p[:, :-1], p[:, -1]) if self.leave is not None else (p, None)

    def predict_proba(self, features: np.ndarray | None, texts: Sequence[str] | None = None) -> np.ndarray:
        return self.predict(features, texts)[0]

    def save(self, path: Path) -> str:
        """Write ``<path>.npz`` (arrays, byte-stable) + ``<path>.json`` (metadata); returns the npz sha256."""
        from pipeline.nlp.heads import write_head_files

        arrays = {"weight": self.weight, "bias": self.bias, "mean": self.mean, "scale": self.scale,
                  "thresholds": self.thresholds}
        if self.tfidf is not None and self.tfidf_weight is not None:
            arrays |= {"tfidf_weight": self.tfidf_weight, "tfidf_idf": self.tfidf.idf}
        meta = dict(self.meta)
        if self.leave is not None:
            arrays |= {"leave_weight": self.leave.weight, "leave_bias": np.array([self.leave.bias])}
            if self.leave.tfidf_weight is not None:
                arrays["leave_tfidf_weight"] = self.leave.tfidf_weight
            meta["leave"] = {**meta.get("leave", {}), "threshold": self.leave.threshold, "veto": self.leave.veto}
        arrays = {k: np.asarray(v, dtype=np.float32) for k, v in arrays.items()}
        if self.tfidf is not None:  # n-grams never hold a newline (words are split on whitespace)
            arrays["tfidf_vocabulary"] = np.frombuffer("\n".join(self.tfidf.vocabulary).encode(), dtype=np.uint8)
        digest, self.meta = write_head_files(path, arrays, {**meta, "themes": list(THEME_IDS)})
        return digest

    @classmethod
    def load(cls, path: Path) -> ThemeHead:
        from pipeline.nlp.heads import read_head_files

        path = Path(path).with_suffix(".npz")
        if not path.is_file():
            raise FileNotFoundError(f"no theme classifier head at {path} (train one with "
                                    "`python -m pipeline.themes.train_classifier`)")
        stored, meta = read_head_files(path)
        raw_vocabulary = stored.pop("tfidf_vocabulary", None)
        vocabulary = None if raw_vocabulary is None else raw_vocabulary.tobytes().decode()
        arrays = {k: v.astype(np.float64) for k, v in stored.items()}
        if tuple(meta.get("themes", THEME_IDS)) != THEME_IDS:
            raise ValueError(f"{path}: head was trained for themes {meta.get('themes')}, expected {THEME_IDS}")
        tfidf = None if vocabulary is None else CharTfidf(tuple(vocabulary.split("\n")), arrays["tfidf_idf"])
        leave = None
        if "leave_weight" in arrays:
            levels = meta.get("leave", {})
            leave = LeaveUnit(arrays["leave_weight"], float(arrays["leave_bias"][0]), arrays.get("leave_tfidf_weight"),
                              float(levels["threshold"]), float(levels["veto"]))
        return cls(arrays["weight"], arrays["bias"], arrays["mean"], arrays["scale"], arrays["thresholds"], meta,
                   tfidf, arrays.get("tfidf_weight"), leave)


class ThemeClassifier:
    """Per-sentence theme probabilities, shape (n, 14) in ``THEME_IDS`` order."""

    def __init__(self, head: ThemeHead, encoder: Any) -> None:  # encoder: pipeline.nlp.transformer.E5Encoder
        self.head = head
        self.encoder = encoder

    @property
    def veto(self) -> float:
        """A term hit (not a leave-intent trigger) is dropped where the classifier's p is below this (0: never)."""
        return float(self.head.meta.get("veto", 0.0))

    @property
    def version(self) -> str:
        return f"themes-e5-{self.head.sha256[:10]}"

    def features(self, texts: Sequence[str]) -> np.ndarray | None:
        """e5 features of ``texts`` (None when the head reads none: no forward pass)."""
        return self.encoder.embed(list(texts), layers=self.head.layers) if self.head.uses_e5 else None

    def predict(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray | None]:
        """Theme probabilities (n, 14) and, when the head has a leave unit, leave-intent probabilities (n,).
        Blank texts get probability 0 (no forward pass)."""
        themes = np.zeros((len(texts), len(THEME_IDS)))
        leave = None if self.head.leave is None else np.zeros(len(texts))
        idx = [i for i, t in enumerate(texts) if t.strip()]
        if idx:
            kept = [texts[i] for i in idx]
            p_themes, p_leave = self.head.predict(self.features(kept), kept)
            themes[idx] = p_themes
            if leave is not None and p_leave is not None:
                leave[idx] = p_leave
        return themes, leave

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Theme probabilities (n, 14); blank texts get 0 for every theme."""
        return self.predict(texts)[0]

    def decide(self, proba: np.ndarray) -> np.ndarray:
        """Boolean (n, 14): which themes the classifier adds."""
        return proba >= self.head.thresholds


def shared_encoder(head: ThemeHead) -> Any:
    """The sentiment model's encoder when it computes the features the head was trained on (same weights,
    no LoRA adapters, not int8); else the default e5 model's (cached by the model registry)."""
    from pipeline.nlp.base import get_model
    from pipeline.nlp.transformer import E5SentimentModel

    model = get_model(get_settings().sentiment_model)
    tag = str(head.meta.get("weights_tag", ""))
    reusable = (isinstance(model, E5SentimentModel) and not model.head.adapters
                and model.encoder.precision != "int8" and model.model_version.startswith(tag))
    if not reusable:
        model = get_model(_FALLBACK_MODEL)
    return model.encoder  # type: ignore[attr-defined]


def classifier_setting(value: str | None = None) -> str:
    """``value`` or the ``STEMNING_THEME_CLASSIFIER`` setting, checked."""
    return checked_choice(value, get_settings().theme_classifier, CLASSIFIER_CHOICES, "theme classifier")


def head_sha256(path: Path = DEFAULT_THEME_HEAD) -> str:
    from pipeline.nlp.heads import cached_sha256

    return cached_sha256(path)


def classifier_version(value: str | None = None) -> str:
    """``off`` or ``themes-e5-<head hash>`` (+ ``+leave-<model hash>`` with the fine-tuned leave model, see
    ``leave_model.py``), without loading the encoder (for cache keys)."""
    from pipeline.themes.leave_model import leave_model_version

    return "off" if classifier_setting(value) == "off" else f"themes-e5-{head_sha256()[:10]}{leave_model_version()}"


@cache
def get_classifier(path: Path = DEFAULT_THEME_HEAD) -> ThemeClassifier:
    """Process-wide classifier with the committed head."""
    head = ThemeHead.load(path)
    return ThemeClassifier(head, shared_encoder(head))
