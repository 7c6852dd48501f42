"""AFINN word-list baseline (Danish + English), behind the common ``SentimentModel`` interface.

AFINN gives an integer valence sum per text. We map it to 3-class probabilities with
``z = tanh(sum / 3)``: P(pos) = max(z, 0), P(neg) = max(-z, 0), P(neu) = 1 - |z|. A text with no
lexicon hits is fully neutral. This is a baseline, not a calibrated model; `stemning models eval`
reports how it compares.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from importlib.metadata import version

import numpy as np


class AfinnModel:
    model_id = "afinn-lexicon"
    languages: frozenset[str] | None = frozenset({"da", "en"})

    def __init__(self) -> None:
        self.model_version = f"afinn-{version('afinn')}"

    @cached_property
    def _lexicons(self) -> dict[str, object]:
        from afinn import Afinn

        return {"da": Afinn(language="da", emoticons=True), "en": Afinn(language="en", emoticons=True)}

    def _valence(self, text: str, lang: str | None) -> float:
        lex = self._lexicons
        if lang in lex:
            return float(lex[lang].score(text))  # type: ignore[attr-defined]
        # Unknown language: use whichever lexicon recognises more words.
        best = max(lex.values(), key=lambda a: len(a.find_all(text)))  # type: ignore[attr-defined]
        return float(best.score(text))  # type: ignore[attr-defined]

    def predict_proba(self, texts: Sequence[str], langs: Sequence[str] | None = None) -> np.ndarray:
        langs = list(langs) if langs is not None else [None] * len(texts)  # type: ignore[list-item]
        z = np.tanh(np.array([self._valence(t, lg) for t, lg in zip(texts, langs, strict=True)]) / 3.0)
        out = np.zeros((len(texts), 3))
        out[:, 0] = np.clip(-z, 0, None)
        out[:, 2] = np.clip(z, 0, None)
        out[:, 1] = 1.0 - np.abs(z)
        return out
