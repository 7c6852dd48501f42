"""AFINN word-list baseline (Danish + English), behind the common ``SentimentModel`` interface.

AFINN gives an integer valence sum per text; the standard reading is its sign (positive / neutral /
negative). The 3-class probabilities keep that argmax and grade the confidence: for a non-zero sum,
P(its side) = 0.5 + 0.5·tanh(|sum| / 3) and P(neutral) = the rest; a text with a zero sum (no hits, or
hits that cancel) is fully neutral. This is a baseline, not a calibrated model; `stemning models eval`
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
        # "+map2": the sign-based probability mapping (a new version re-scores texts cached under the old one).
        self.model_version = f"afinn-{version('afinn')}+map2"

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
        valence = np.array([self._valence(t, lg) for t, lg in zip(texts, langs, strict=True)])
        side = np.where(valence != 0, 0.5 + 0.5 * np.tanh(np.abs(valence) / 3.0), 0.0)
        out = np.zeros((len(texts), 3))
        out[:, 0] = np.where(valence < 0, side, 0.0)
        out[:, 2] = np.where(valence > 0, side, 0.0)
        out[:, 1] = 1.0 - side
        return out
