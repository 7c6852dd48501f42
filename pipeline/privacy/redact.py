"""Replace PII with typed placeholders before text is stored or reaches a model.

Placeholders: ``[EMAIL] [PHONE] [CPR] [IBAN] [ACCOUNT] [URL] [MENTION] [PERSON]``. Structured PII is found
by :mod:`pipeline.privacy.patterns` (rules and false-positive guards documented there); names of known people
by a hash-only :class:`~pipeline.privacy.names.NameIndex`. An optional ``person_detector`` (e.g. a spaCy NER
pipeline, see :func:`spacy_person_detector`) can add names; the offline default does not need one.

Overlaps: Slack mention > personal URL > e-mail > IBAN > CPR > account > phone > @handle > known name >
detector name. Generic URLs (no profile path, no PII inside) are kept verbatim and shield their inside.
Redaction is idempotent: placeholders are never matched again.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from pipeline.privacy.names import NameIndex
from pipeline.privacy.patterns import PERSON, URL, find_structured, find_urls, overlaps, placeholder

PersonDetector = Callable[[str], Iterable[tuple[int, int]]]


@dataclass(frozen=True, slots=True)
class RedactionResult:
    text: str
    counts: dict[str, int] = field(default_factory=dict)  # placeholder ("[EMAIL]") -> replacements

    @property
    def total(self) -> int:
        return sum(self.counts.values())


class Redactor:
    """Thread-safe for reading; one instance per process is enough (regexes are compiled at import)."""

    def __init__(self, name_index: NameIndex | None = None, *,
                 person_detector: PersonDetector | None = None) -> None:
        self.name_index = name_index
        self.person_detector = person_detector

    def find(self, text: str) -> list[tuple[int, int, str]]:
        """Non-overlapping ``(start, end, kind)`` spans of PII in ``text``, sorted by position."""
        spans: list[tuple[int, int, str]] = []
        shielded: list[tuple[int, int, str]] = []
        for start, end, personal in find_urls(text):
            url = text[start:end]
            if personal or "@" in url or find_structured(url) or self._person_spans(url):
                spans.append((start, end, URL))
            else:
                shielded.append((start, end, URL))
        for start, end, kind in find_structured(text):
            if not overlaps(spans, start, end) and not overlaps(shielded, start, end):
                spans.append((start, end, kind))
        for start, end in self._person_spans(text, spans + shielded):
            if not overlaps(spans, start, end) and not overlaps(shielded, start, end):
                spans.append((start, end, PERSON))
        return sorted(spans)

    def _person_spans(self, text: str, exclude: list[tuple[int, int, str]] | None = None
                      ) -> list[tuple[int, int]]:
        found = self.name_index.find_spans(text, exclude or ()) if self.name_index is not None else []
        if self.person_detector is not None:
            taken = [(s, e, PERSON) for s, e in found]
            found += [(s, e) for s, e in self.person_detector(text) if not overlaps(taken, s, e)]
        return found

    def redact(self, text: str) -> RedactionResult:
        spans = self.find(text)
        if not spans:
            return RedactionResult(text, {})
        parts: list[str] = []
        counts: Counter[str] = Counter()
        cursor = 0
        for start, end, kind in spans:
            token = placeholder(kind)
            parts += [text[cursor:start], token]
            counts[token] += 1
            cursor = end
        parts.append(text[cursor:])
        return RedactionResult("".join(parts), dict(counts))

    def redact_many(self, texts: Iterable[str]) -> Iterator[RedactionResult]:
        return (self.redact(t) for t in texts)


def spacy_person_detector(nlp: Any, labels: Iterable[str] = ("PERSON", "PER")) -> PersonDetector:
    """Adapt a spaCy pipeline with an NER (or entity ruler) component: its person entities become spans."""
    wanted = frozenset(labels)

    def detect(text: str) -> list[tuple[int, int]]:
        return [(ent.start_char, ent.end_char) for ent in nlp(text).ents if ent.label_ in wanted]

    return detect
