"""Load and validate the HR theme taxonomy (``taxonomy.yaml``) into typed, immutable objects.

The YAML is the single source of truth for theme ids, labels and term lists; this module only checks
its shape (fixed theme ids, known keys, both languages present) so a typo fails loudly at load time
instead of silently matching nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

THEME_IDS: tuple[str, ...] = (
    "recruitment", "onboarding", "retention", "motivation", "learning", "knowledge_sharing", "communication",
    "management", "pay", "workload", "work_life_balance", "tools", "culture", "alumni",
)
LANGS: tuple[str, ...] = ("da", "en")
DEFAULT_PATH = Path(__file__).with_name("taxonomy.yaml")

_TERM_KEYS = {"words", "cased", "heads", "prefixes", "exclude", "near"}
_LEAVE_KEYS = {"implicit", "explicit", "not_negatable", "near", "hard_negatives", "local_negatives", "negators",
               "self_markers", "other_markers", "clause_breaks", "stay_phrases", "other_in_sentence"}


class TaxonomyError(ValueError):
    """The taxonomy file is malformed."""


@dataclass(frozen=True)
class NearRule:
    """``first`` followed by ``second`` within ``window`` tokens of the same sentence."""

    first: tuple[str, ...]
    second: tuple[str, ...]
    window: int
    mode: str = "implicit"  # leave triggers only: implicit | explicit

    @property
    def name(self) -> str:
        return f"{self.first[0]} … {self.second[0]}"


@dataclass(frozen=True)
class TermSet:
    words: tuple[str, ...] = ()
    cased: tuple[str, ...] = ()
    heads: tuple[str, ...] = ()
    prefixes: tuple[str, ...] = ()
    exclude: frozenset[str] = frozenset()
    near: tuple[NearRule, ...] = ()


@dataclass(frozen=True)
class Theme:
    id: str
    label: dict[str, str]
    description: dict[str, str]
    terms: dict[str, TermSet]


@dataclass(frozen=True)
class LeaveLexicon:
    implicit: tuple[str, ...]
    explicit: tuple[str, ...]
    not_negatable: frozenset[str]
    near: tuple[NearRule, ...]
    hard_negatives: tuple[str, ...]  # veto a trigger anywhere in its sentence
    local_negatives: tuple[str, ...]  # veto a trigger in the same clause
    stay_phrases: tuple[str, ...]  # the writer says they stay: negate every trigger in the sentence
    other_in_sentence: tuple[str, ...]  # "congrats": an unspecified subject is someone else
    negators: frozenset[str]
    self_markers: frozenset[str]
    other_markers: frozenset[str]
    clause_breaks: frozenset[str]


@dataclass(frozen=True)
class Taxonomy:
    version: int
    themes: dict[str, Theme]
    min_modifier: int
    min_rest: int
    endings: dict[str, tuple[str, ...]]
    ignore_phrases: dict[str, tuple[str, ...]]
    leave: dict[str, LeaveLexicon]
    leave_window: int
    negation_window: int
    local_negative_window: int  # a local negative vetoes a trigger at most this many tokens away

    def label(self, theme_id: str, lang: str = "en") -> str:
        return self.themes[theme_id].label.get(lang, theme_id)


def _strs(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str | int) for v in value):
        raise TaxonomyError(f"{where}: expected a list of strings")
    if any(isinstance(v, bool) for v in value):  # YAML reads unquoted no/yes/on/off as booleans
        raise TaxonomyError(f"{where}: quote words such as \"no\" or \"on\" (YAML reads them as booleans)")
    return tuple(str(v).strip() for v in value)


def _near(value: Any, where: str, with_mode: bool) -> tuple[NearRule, ...]:
    rules = []
    for i, item in enumerate(value or []):
        size = 4 if with_mode else 3
        if not isinstance(item, list) or len(item) != size or not isinstance(item[2], int):
            shape = "[first words, second words, window, implicit|explicit]" if with_mode else \
                "[first words, second words, window]"
            raise TaxonomyError(f"{where}.near[{i}]: expected {shape}")
        mode = item[3] if with_mode else "implicit"
        if mode not in {"implicit", "explicit"}:
            raise TaxonomyError(f"{where}.near[{i}]: mode must be implicit or explicit, got {mode!r}")
        rules.append(NearRule(_strs(item[0], where), _strs(item[1], where), int(item[2]), mode))
    return tuple(rules)


def _term_set(raw: dict[str, Any], where: str) -> TermSet:
    unknown = set(raw) - _TERM_KEYS
    if unknown:
        raise TaxonomyError(f"{where}: unknown keys {sorted(unknown)}; allowed {sorted(_TERM_KEYS)}")
    return TermSet(
        words=tuple(w.lower() for w in _strs(raw.get("words"), f"{where}.words")),
        cased=_strs(raw.get("cased"), f"{where}.cased"),
        heads=tuple(w.lower() for w in _strs(raw.get("heads"), f"{where}.heads")),
        prefixes=tuple(w.lower() for w in _strs(raw.get("prefixes"), f"{where}.prefixes")),
        exclude=frozenset(w.lower() for w in _strs(raw.get("exclude"), f"{where}.exclude")),
        near=_near(raw.get("near"), where, with_mode=False),
    )


def _leave(raw: dict[str, Any], where: str) -> LeaveLexicon:
    unknown = set(raw) - _LEAVE_KEYS
    if unknown:
        raise TaxonomyError(f"{where}: unknown keys {sorted(unknown)}")

    def low(key: str) -> tuple[str, ...]:
        return tuple(w.lower() for w in _strs(raw.get(key), f"{where}.{key}"))

    return LeaveLexicon(
        implicit=low("implicit"), explicit=low("explicit"), not_negatable=frozenset(low("not_negatable")),
        near=_near(raw.get("near"), where, with_mode=True), hard_negatives=low("hard_negatives"),
        local_negatives=low("local_negatives"), stay_phrases=low("stay_phrases"),
        other_in_sentence=low("other_in_sentence"),
        negators=frozenset(low("negators")), self_markers=frozenset(low("self_markers")),
        other_markers=frozenset(low("other_markers")), clause_breaks=frozenset(low("clause_breaks")),
    )


def parse_taxonomy(data: dict[str, Any]) -> Taxonomy:
    themes_raw = data.get("themes") or {}
    if tuple(themes_raw) != THEME_IDS:
        missing, extra = set(THEME_IDS) - set(themes_raw), set(themes_raw) - set(THEME_IDS)
        raise TaxonomyError(f"theme ids must be exactly {THEME_IDS} in that order "
                            f"(missing {sorted(missing)}, unexpected {sorted(extra)})")
    themes: dict[str, Theme] = {}
    for tid, raw in themes_raw.items():
        for key in ("label", "description"):
            if set(raw.get(key) or {}) != set(LANGS):
                raise TaxonomyError(f"themes.{tid}.{key}: needs exactly da and en")
        terms = raw.get("terms") or {}
        if set(terms) != set(LANGS):
            raise TaxonomyError(f"themes.{tid}.terms: needs da and en term lists")
        themes[tid] = Theme(tid, dict(raw["label"]), {k: " ".join(str(v).split()) for k, v in
                                                       raw["description"].items()},
                            {lang: _term_set(terms[lang], f"themes.{tid}.terms.{lang}") for lang in LANGS})
    matching = data.get("matching") or {}
    leave_raw = data.get("leave_intent") or {}
    if not set(LANGS) <= set(leave_raw):
        raise TaxonomyError("leave_intent: needs da and en sections")
    ignore = data.get("ignore_phrases") or {}
    return Taxonomy(
        version=int(data.get("version", 1)),
        themes=themes,
        min_modifier=int(matching.get("min_modifier", 3)),
        min_rest=int(matching.get("min_rest", 3)),
        endings={lang: _strs(matching.get(f"{lang}_endings", [""]), f"matching.{lang}_endings") for lang in LANGS},
        ignore_phrases={lang: tuple(w.lower() for w in _strs(ignore.get(lang), f"ignore_phrases.{lang}"))
                        for lang in LANGS},
        leave={lang: _leave(leave_raw[lang], f"leave_intent.{lang}") for lang in LANGS},
        leave_window=int(leave_raw.get("window", 8)),
        negation_window=int(leave_raw.get("negation_window", 5)),
        local_negative_window=int(leave_raw.get("local_negative_window", 4)),
    )


@lru_cache(maxsize=4)
def load_taxonomy(path: Path | str | None = None) -> Taxonomy:
    """Load (and cache) the taxonomy; ``path`` defaults to the packaged ``taxonomy.yaml``."""
    file = Path(path) if path else DEFAULT_PATH
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise TaxonomyError(f"cannot read taxonomy {file}: {exc}") from exc
    return parse_taxonomy(data)
