"""The one interface every sentiment model implements, and the registry that names them.

A model turns texts into calibrated 3-class probabilities (negative, neutral, positive). Everything
else (label, score in [-1, 1]) is derived here, once, so lexicon baselines and transformer models are
interchangeable behind ``get_model(model_id)``. Models register themselves lazily: the registry maps an
id to an import path, so importing this module never imports torch.
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

LABELS: tuple[str, str, str] = ("negative", "neutral", "positive")


@runtime_checkable
class SentimentModel(Protocol):
    """A sentiment model. ``languages`` is None for multilingual models."""

    model_id: str
    model_version: str
    languages: frozenset[str] | None

    def predict_proba(self, texts: Sequence[str], langs: Sequence[str] | None = None) -> np.ndarray:
        """Return an (n, 3) float array of P(negative), P(neutral), P(positive); rows sum to 1."""
        ...


@dataclass(frozen=True)
class Sentiment:
    p_negative: float
    p_neutral: float
    p_positive: float

    @property
    def label(self) -> str:
        return LABELS[int(np.argmax([self.p_negative, self.p_neutral, self.p_positive]))]

    @property
    def score(self) -> float:
        """p_pos - p_neg, in [-1, 1]."""
        return float(self.p_positive - self.p_negative)

    @classmethod
    def from_row(cls, row: Sequence[float]) -> Sentiment:
        return cls(float(row[0]), float(row[1]), float(row[2]))


def labels_from_proba(proba: np.ndarray) -> list[str]:
    return [LABELS[i] for i in np.asarray(proba).argmax(axis=1)]


def scores_from_proba(proba: np.ndarray) -> np.ndarray:
    proba = np.asarray(proba)
    return proba[:, 2] - proba[:, 0]


# model id -> "module:factory". Factories take no arguments and return a SentimentModel.
_REGISTRY: dict[str, str] = {
    "afinn-lexicon": "pipeline.nlp.lexicon:AfinnModel",
}
_CACHE: dict[str, SentimentModel] = {}


def register_model(model_id: str, target: str) -> None:
    """Register a model factory by import path ("package.module:callable")."""
    _REGISTRY[model_id] = target


def available_models() -> list[str]:
    _load_plugins()
    return sorted(_REGISTRY)


def _load_plugins() -> None:
    # Optional model families register themselves on import; a missing optional dependency must not
    # hide the lexicon baseline.
    for mod in ("pipeline.nlp.transformer",):
        with contextlib.suppress(ImportError):
            importlib.import_module(mod)


def get_model(model_id: str) -> SentimentModel:
    """Return a (cached, process-wide) model instance by id."""
    if model_id in _CACHE:
        return _CACHE[model_id]
    _load_plugins()
    if model_id not in _REGISTRY:
        raise KeyError(f"unknown sentiment model {model_id!r}; known: {', '.join(sorted(_REGISTRY))}")
    module, _, attr = _REGISTRY[model_id].partition(":")
    factory: Callable[[], SentimentModel] = getattr(importlib.import_module(module), attr)
    model = factory()
    _CACHE[model_id] = model
    return model
