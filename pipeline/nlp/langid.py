"""Language identification with lingua, restricted to the languages a Danish workplace writes in.

Lingua is asked about {da, en, nb, sv} only and its most likely language wins. Short Danish is often
tagged Norwegian Bokmål, so nb counts as Danish; Swedish counts as Danish unless lingua is confident
(then it is ``other``: scored by the multilingual model but flagged). When the winner's confidence is
below ``MIN_CONFIDENCE`` (barely above the 0.25 of a four-way coin toss), or the text has no letters,
the language is ``other``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

MIN_CONFIDENCE = 0.3
CONFIDENT_SWEDISH = 0.6
_NOISE = re.compile(r"\[[A-Z_]+\]|<[^>]*>|https?://\S+|:[a-z0-9_+\-]+:")
_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)


@lru_cache(maxsize=1)
def _detector():  # noqa: ANN202 - lingua.LanguageDetector
    from lingua import Language, LanguageDetectorBuilder

    return LanguageDetectorBuilder.from_languages(
        Language.DANISH, Language.ENGLISH, Language.BOKMAL, Language.SWEDISH
    ).build()


def clean_for_detection(text: str) -> str:
    return _NOISE.sub(" ", text)


def detect_languages(texts: Sequence[str]) -> list[tuple[str, float]]:
    """(language, confidence) per text; language is da, en or other."""
    cleaned = [clean_for_detection(t) for t in texts]
    has_letters = [bool(_LETTER.search(t)) for t in cleaned]
    todo = [t for t, ok in zip(cleaned, has_letters, strict=True) if ok]
    confidences = _detector().compute_language_confidence_values_in_parallel(todo) if todo else []
    out: list[tuple[str, float]] = []
    it = iter(confidences)
    for ok in has_letters:
        if not ok:
            out.append(("other", 0.0))
            continue
        values = {c.language.iso_code_639_1.name.lower(): c.value for c in next(it)}
        out.append(_decide(values))
    return out


def _decide(values: dict[str, float]) -> tuple[str, float]:
    lang, confidence = max(values.items(), key=lambda kv: kv[1])
    if confidence < MIN_CONFIDENCE:
        return "other", confidence
    if lang == "sv":
        return ("other", confidence) if confidence >= CONFIDENT_SWEDISH else ("da", confidence)
    return ("da" if lang == "nb" else lang), confidence
