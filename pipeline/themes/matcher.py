"""Sentence-level HR theme and leave-intent detection on spaCy (Danish and English).

Per language: ``spacy.blank(lang)`` + sentencizer (+ sentence breaks at line breaks and at an emoji before
a capitalised word, since chat posts often have no final punctuation) + a lower-case lookup lemmatizer from ``spacy-lookups-data`` (spaCy's own
lookup mode is case-sensitive, so "Lønnen" at a sentence start would not be lemmatised). The term lists in
``taxonomy.yaml`` are compiled into three ``PhraseMatcher`` s (LOWER, LEMMA, ORTH) plus a cached per-token
compound scanner (Danish heads/prefixes) and a small proximity rule; see the header of ``taxonomy.yaml``
for the matching rules. Placeholders such as ``[PERSON]`` are single tokens and never match a term.

Languages: "da" and "en" use their own lexicon. Any other value (nb, sv, "", None, "und" …) runs both
pipelines and merges their matches into the Danish sentence segmentation, so a post in an unexpected
language still gets every theme either lexicon recognises.

Themes are attributed per sentence (``ThemeResult.sentences``) so sentence-level sentiment can be
attributed to the themes of that sentence; the post's themes are the union.

Hybrid (``STEMNING_THEME_CLASSIFIER=e5``): a learned classifier (``classifier.py``) scores every sentence of
the matcher's segmentation and adds each theme whose probability reaches its threshold, recorded as a
``ThemeMatch`` with rule "classifier" and its probability ``p`` (the sentence is its evidence). Leave intent
combines the rules, the head's leave unit and, unless ``STEMNING_LEAVE_MODEL=off``, a fine-tuned model that
reads the whole post (``leave_model.py``; ``_classifier_leave`` says how); a post it flags also gets the
retention theme.
"""

from __future__ import annotations

import re
import sys
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import NamedTuple

import numpy
import spacy
from spacy.attrs import LEMMA, LOWER
from spacy.language import Language
from spacy.lookups import load_lookups
from spacy.matcher import PhraseMatcher
from spacy.strings import get_string_id
from spacy.tokens import Doc, Span
from spacy.util import compile_prefix_regex

from pipeline.themes.classifier import LeaveUnit, classifier_setting, get_classifier, leave_verdict
from pipeline.themes.leave import LeaveSignal, SentenceContext, assess_trigger, is_emoji
from pipeline.themes.leave_model import get_leave_model
from pipeline.themes.taxonomy import LANGS, THEME_IDS, NearRule, Taxonomy, TermSet, load_taxonomy

PLACEHOLDER = r"\[[A-Za-z][A-Za-z_]*\]"
_FULL_PLACEHOLDER = re.compile(rf"^{PLACEHOLDER}$")
BOTH = "da+en"

# Lower wins when one (theme, span) is found by several rules; "exact" rules may suppress other themes.
_RULE_PRIORITY = {"word": 0, "cased": 1, "lemma": 2, "leave_trigger": 3, "head": 4, "prefix": 5, "near": 6,
                  "classifier": 7}
_EXACT_RULES = frozenset({"word", "cased", "lemma", "leave_trigger"})
_COMPOUND_RULES = frozenset({"head", "prefix"})


@dataclass(frozen=True, slots=True)
class ThemeMatch:
    """One piece of evidence for a theme: ``term`` from the taxonomy matched ``text`` by ``rule``; for rule
    "classifier", ``text`` is the whole sentence and ``p`` the classifier's probability."""

    theme: str
    term: str
    text: str
    start_char: int
    end_char: int
    rule: str  # word | lemma | cased | head | prefix | near | leave_trigger | classifier
    sentence: int
    p: float | None = None


@dataclass(frozen=True, slots=True)
class SentenceThemes:
    start_char: int
    end_char: int
    themes: list[str]
    leave_intent: bool


@dataclass(frozen=True, slots=True)
class ThemeResult:
    lang: str
    themes: list[str]  # sorted theme ids
    leave_intent: bool
    sentences: list[SentenceThemes]
    matches: list[ThemeMatch]
    leave_signals: list[LeaveSignal]

    @property
    def themes_column(self) -> str:
        """The ``themes`` output column: ids joined by ';' (empty string if none)."""
        return ";".join(self.themes)


SentenceOf = Callable[[int], int]  # token index -> sentence index


class _Hit(NamedTuple):
    theme: str
    term: str
    start: int  # token indices
    end: int
    rule: str


# --- spaCy pipeline -------------------------------------------------------------------------------------


class LowercaseLookupLemmatizer:
    """Sets ``token.lemma_`` from the spacy-lookups-data table, looked up by the lower-case form."""

    def __init__(self, lang: str) -> None:
        self.table = load_lookups(lang, ["lemma_lookup"]).get_table("lemma_lookup")
        self._cache: dict[int, int] = {}  # lower-case hash -> lemma hash

    def _lemma_hash(self, lower_hash: int, strings) -> int:  # noqa: ANN001 - spacy StringStore
        lemma = self._cache.get(lower_hash)
        if lemma is None:
            low = strings[lower_hash]
            lemma = strings.add(self.table.get(low, low))
            if len(self._cache) < 1_000_000:
                self._cache[lower_hash] = lemma
        return lemma

    def __call__(self, doc: Doc) -> Doc:
        if not len(doc):
            return doc
        strings = doc.vocab.strings
        arr = doc.to_array([LOWER])
        lemmas = numpy.array([self._lemma_hash(int(h), strings) for h in arr], dtype="uint64").reshape(-1, 1)
        doc.from_array([LEMMA], lemmas)
        return doc


@Language.factory("stemning_lookup_lemma")
def make_lookup_lemmatizer(nlp: Language, name: str) -> LowercaseLookupLemmatizer:
    return LowercaseLookupLemmatizer(nlp.lang)


@Language.component("stemning_chat_sentences")
def chat_sentences(doc: Doc) -> Doc:
    """Chat rarely ends sentences with punctuation: also start one after a line break, and after an emoji
    that is followed by a capitalised word ("Har sagt op 😬 Fortæller mere mandag")."""
    if doc.text.isascii() and "\n" not in doc.text and "  " not in doc.text:
        return doc
    for tok in doc[1:]:
        prev = doc[tok.i - 1]
        if prev.is_space and prev.i > 0 and prev.is_sent_start:
            prev.is_sent_start = False  # whitespace after "!" belongs to the sentence it follows
            tok.is_sent_start = True
        elif (prev.is_space and "\n" in prev.text) or (tok.text[:1].isupper() and is_emoji(prev.text)):
            tok.is_sent_start = True
    return doc


def build_theme_nlp(lang: str) -> Language:
    """Blank pipeline whose tokenizer keeps placeholders such as ``[PERSON]`` as one token."""
    nlp = spacy.blank(lang)
    nlp.tokenizer.prefix_search = compile_prefix_regex([PLACEHOLDER, *nlp.Defaults.prefixes]).search
    base_match = nlp.tokenizer.token_match

    def token_match(text: str) -> bool:
        return bool(_FULL_PLACEHOLDER.match(text)) or bool(base_match and base_match(text))

    nlp.tokenizer.token_match = token_match
    nlp.add_pipe("sentencizer")
    nlp.add_pipe("stemning_chat_sentences")
    nlp.add_pipe("stemning_lookup_lemma")
    return nlp


# Words at least this frequent (natural log probability in spacy-lookups-data's English table) are
# ordinary words; rarer capitalised sentence openers are taken for names ("Anna resigned").
_EN_KNOWN_WORD_LOGPROB = -12.5


def _known_words(lang: str, lemma_table) -> frozenset[int]:  # noqa: ANN001 - spacy.lookups.Table
    if lang == "en":  # the English lemma table lists names ("anna"); word frequency separates them better
        prob = load_lookups("en", ["lexeme_prob"]).get_table("lexeme_prob")
        return frozenset(k for k, v in prob.items() if v >= _EN_KNOWN_WORD_LOGPROB)
    known = set(lemma_table.keys())
    known.update(get_string_id(v) for v in lemma_table.values())
    return frozenset(known)


# --- one language ---------------------------------------------------------------------------------------


class _LanguageMatcher:
    def __init__(self, lang: str, taxonomy: Taxonomy) -> None:
        self.lang = lang
        self.tax = taxonomy
        self.leave = taxonomy.leave[lang]
        self.nlp = build_theme_nlp(lang)
        self._lemmas = self.nlp.get_pipe("stemning_lookup_lemma").table
        self._known: frozenset[int] | None = None  # loaded on first use (only needed for names)
        vocab = self.nlp.vocab
        self._lower = PhraseMatcher(vocab, attr="LOWER")
        self._lemma = PhraseMatcher(vocab, attr="LEMMA")
        self._cased = PhraseMatcher(vocab, attr="ORTH")
        self._payload: dict[int, tuple[str, str, str]] = {}  # match id -> (kind, theme or mode, term)
        self._compile_phrases()
        self._compile_compounds()
        self._compile_near()

    # ..... compilation .....

    def _add(self, kind: str, owner: str, terms: Iterable[str], cased: bool = False) -> None:
        for term in dict.fromkeys(terms):
            key = f"{kind}|{owner}|{term}"
            self._payload[self.nlp.vocab.strings.add(key)] = (kind, owner, term)
            if cased:
                self._cased.add(key, [self.nlp.make_doc(term)])
                continue
            self._lower.add(key, [self.nlp.make_doc(term)])
            lemma_doc = self.nlp(term)
            # Only base-form terms expand through the lemma table (see taxonomy.yaml, "words").
            if all(t.lemma_ == t.lower_ for t in lemma_doc) and any(t.is_alpha for t in lemma_doc):
                self._lemma.add(key, [lemma_doc])

    def _compile_phrases(self) -> None:
        for theme in self.tax.themes.values():
            terms = theme.terms[self.lang]
            self._add("T", theme.id, terms.words)
            self._add("T", theme.id, terms.cased, cased=True)
        self._add("L", "implicit", self.leave.implicit)
        self._add("L", "explicit", self.leave.explicit)
        self._add("H", "-", self.leave.hard_negatives)
        self._add("h", "-", self.leave.local_negatives)
        self._add("S", "-", self.leave.stay_phrases)
        self._add("O", "-", self.leave.other_in_sentence)
        self._add("I", "-", self.tax.ignore_phrases[self.lang])

    def _compile_compounds(self) -> None:
        self._heads: dict[str, list[tuple[str, str]]] = defaultdict(list)
        self._prefixes: dict[str, list[tuple[str, str]]] = defaultdict(list)
        self._single_words: dict[str, set[str]] = defaultdict(set)
        self._exclude: dict[str, frozenset[str]] = {}
        for theme in self.tax.themes.values():
            terms: TermSet = theme.terms[self.lang]
            self._exclude[theme.id] = terms.exclude
            for head in terms.heads:
                self._heads[head].append((theme.id, head))
            for prefix in terms.prefixes:
                self._prefixes[prefix].append((theme.id, prefix))
            for word in terms.words:
                if " " not in word:
                    self._single_words[word].add(theme.id)
        self._head_lengths = sorted({len(h) for h in self._heads})
        self._prefix_lengths = sorted({len(p) for p in self._prefixes})
        self._endings = sorted(self.tax.endings[self.lang], key=len)
        self._compound_cache: dict[str, tuple[tuple[str, str, str], ...]] = {}

    def _compile_near(self) -> None:
        # (owner kind, owner, rule): owner kind "T" = theme, "L" = leave trigger mode
        self._near_rules: list[tuple[str, str, NearRule]] = []
        for theme in self.tax.themes.values():
            self._near_rules += [("T", theme.id, r) for r in theme.terms[self.lang].near]
        self._near_rules += [("L", r.mode, r) for r in self.leave.near]
        self._near_index: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for i, (_, _, rule) in enumerate(self._near_rules):
            for word in rule.first:
                self._near_index[word].append((i, 0))
            for word in rule.second:
                self._near_index[word].append((i, 1))

    # ..... per-token compound scan (cached) .....

    def _head_hits(self, low: str, hits: set[tuple[str, str, str]]) -> None:
        min_mod = self.tax.min_modifier
        for ending in self._endings:
            if ending and not low.endswith(ending):
                continue
            stem = low[: len(low) - len(ending)]
            stems = [stem]
            if ending and len(stem) > 2 and stem[-1] == stem[-2]:
                stems.append(stem[:-1])  # Danish consonant doubling: lønnen, presset
            for st in stems:
                for length in self._head_lengths:
                    if length > len(st):
                        break
                    entries = self._heads.get(st[-length:])
                    if not entries:
                        continue
                    modifier = st[:-length].rstrip("-")
                    if modifier and len(modifier) < min_mod:
                        continue
                    hits.update((theme, head, "head") for theme, head in entries)

    def _prefix_hits(self, low: str, hits: set[tuple[str, str, str]]) -> None:
        for length in self._prefix_lengths:
            if len(low) - length < self.tax.min_rest:
                break
            for theme, prefix in self._prefixes.get(low[:length], ()):
                hits.add((theme, prefix, "prefix"))

    def _compound(self, low: str) -> tuple[tuple[str, str, str], ...]:
        cached = self._compound_cache.get(low)
        if cached is not None:
            return cached
        hits: set[tuple[str, str, str]] = set()
        if len(low) >= 3:
            self._head_hits(low, hits)
            self._prefix_hits(low, hits)
            if "-" in low.strip("-"):  # Danish keeps "exit-samtalerne" as one token: also try its parts
                for part in filter(None, low.split("-")):
                    hits.update((theme, part, "word") for theme in self._single_words.get(part, ()))
                    self._head_hits(part, hits)
        result = tuple(sorted(h for h in hits if low not in self._exclude[h[0]]))
        if len(self._compound_cache) < 500_000:
            self._compound_cache[low] = result
        return result

    # ..... per-doc analysis .....

    def is_known_word(self, low: str) -> bool:
        """Is ``low`` an ordinary word (so a capitalised sentence opener is not taken for a name)?"""
        if self._known is None:
            self._known = _known_words(self.lang, self._lemmas)
        return get_string_id(low) in self._known

    def _near_hits(self, lowers: list[str], lemmas: list[str],
                   sent_bounds: list[tuple[int, int]]) -> list[tuple[str, str, NearRule, int, int]]:
        if not self._near_rules:
            return []
        found: list[tuple[str, str, NearRule, int, int]] = []
        index = self._near_index
        for s_start, s_end in sent_bounds:
            positions: dict[tuple[int, int], list[int]] = defaultdict(list)
            for i in range(s_start, s_end):
                keys = index.get(lowers[i], []) + (index.get(lemmas[i], []) if lemmas[i] != lowers[i] else [])
                for key in keys:
                    positions[key].append(i)
            for i, (kind, owner, rule) in enumerate(self._near_rules):
                firsts, seconds = positions.get((i, 0)), positions.get((i, 1))
                if not firsts or not seconds:
                    continue
                pair = next(((a, b) for a in firsts for b in seconds if a < b <= a + rule.window), None)
                if pair:
                    found.append((kind, owner, rule, pair[0], pair[1] + 1))
        return found

    def analyse_doc(self, doc: Doc) -> ThemeResult:
        sents = list(doc.sents)
        sent_bounds = [(s.start, s.end) for s in sents]
        sent_starts = [s.start for s in sents]

        def sent_of(token_i: int) -> int:
            return bisect_right(sent_starts, token_i) - 1

        # Plain strings from one array pass: much cheaper than creating a Token object per token per rule.
        strings = doc.vocab.strings
        attrs = doc.to_array([LOWER, LEMMA])
        lowers = [strings[int(h)] for h in attrs[:, 0]]
        lemmas = [strings[int(h)] for h in attrs[:, 1]]
        placeholders = ({i for i, low in enumerate(lowers) if _FULL_PLACEHOLDER.match(low)}
                        if "[" in doc.text else set())
        hits: list[_Hit] = []
        triggers: dict[tuple[int, int], tuple[str, str]] = {}  # span -> (mode, term)
        # (kind, sentence) -> terms: hard negatives (H), stay phrases (S), congratulations etc. (O)
        sentence_terms: dict[tuple[str, int], list[str]] = defaultdict(list)
        local: dict[int, list[tuple[int, str]]] = defaultdict(list)
        ignored: set[int] = set()
        for matcher, rule in ((self._lower, "word"), (self._lemma, "lemma"), (self._cased, "cased")):
            for match_id, start, end in matcher(doc):
                kind, owner, term = self._payload[match_id]
                if kind == "T":
                    hits.append(_Hit(owner, term, start, end, rule))
                elif kind == "L":
                    # explicit wins over implicit for the same span: it is the stricter reading
                    if triggers.get((start, end), ("", ""))[0] != "explicit":
                        triggers[(start, end)] = (owner, term)
                elif kind in {"H", "S", "O"}:
                    if term not in sentence_terms[(kind, sent_of(start))]:
                        sentence_terms[(kind, sent_of(start))].append(term)
                elif kind == "h":
                    local[sent_of(start)].append((start, term))
                else:
                    ignored.update(range(start, end))
        for i, low in enumerate(lowers):
            if i in placeholders or not (low.isalpha() or "-" in low):
                continue
            for theme, term, rule in self._compound(low):
                hits.append(_Hit(theme, term, i, i + 1, rule))
        for kind, owner, rule, start, end in self._near_hits(lowers, lemmas, sent_bounds):
            if kind == "T":
                hits.append(_Hit(owner, rule.name, start, end, "near"))
            elif (start, end) not in triggers:
                triggers[(start, end)] = (owner, rule.name)

        hits = [h for h in hits if not ignored.issuperset(range(h.start, h.end))
                and ("[" in h.term or not placeholders.intersection(range(h.start, h.end)))]
        signals = self._assess_triggers(doc, sents, sent_of, triggers, sentence_terms, local)
        hits += [_Hit("retention", s.trigger, *span, "leave_trigger")
                 for span, s in signals if s.vetoed_by is None]
        return _build_result(doc, sents, self.lang, _resolve_overlaps(hits), [s for _, s in signals], sent_of)

    def _assess_triggers(self, doc: Doc, sents: list[Span], sent_of: SentenceOf,
                         triggers: dict[tuple[int, int], tuple[str, str]],
                         sentence_terms: dict[tuple[str, int], list[str]],
                         local: dict[int, list[tuple[int, str]]]) -> list[tuple[tuple[int, int], LeaveSignal]]:
        spans = sorted(triggers, key=lambda se: (se[0], -(se[1] - se[0])))
        # A trigger inside a longer trigger adds nothing ("leaving" inside "leaving the company").
        outer = [sp for sp in spans if not any(o != sp and o[0] <= sp[0] and sp[1] <= o[1] for o in spans)]
        out = []
        for start, end in outer:
            mode, term = triggers[(start, end)]
            si = sent_of(start)
            signal = assess_trigger(
                doc, sents[si], si, start, end, term, mode, self.leave,
                SentenceContext(sentence_terms.get(("H", si), []), local.get(si, []),
                                sentence_terms.get(("S", si), []), sentence_terms.get(("O", si), [])),
                window=self.tax.leave_window, negation_window=self.tax.negation_window,
                local_negative_window=self.tax.local_negative_window, danish=self.lang == "da",
                is_known_word=self.is_known_word)
            out.append(((start, end), signal))
        return out

    def pipe(self, texts: Iterable[str], batch_size: int) -> Iterator[ThemeResult]:
        for doc in self.nlp.pipe(texts, batch_size=batch_size):
            yield self.analyse_doc(doc)


def _resolve_overlaps(hits: list[_Hit]) -> list[_Hit]:
    """One hit per (theme, span); a longer exact match of another theme suppresses a contained one, and
    an exact word suppresses another theme's compound guess on the same token."""
    best: dict[tuple[str, int, int], _Hit] = {}
    for h in hits:
        key = (h.theme, h.start, h.end)
        if key not in best or _RULE_PRIORITY[h.rule] < _RULE_PRIORITY[best[key].rule]:
            best[key] = h
    items = list(best.values())
    exact = [h for h in items if h.rule in _EXACT_RULES]
    kept = []
    for h in items:
        size = h.end - h.start
        dominated = any(
            e.theme != h.theme and e.start <= h.start and h.end <= e.end
            and ((e.end - e.start) > size or h.rule in _COMPOUND_RULES)
            for e in exact)
        if not dominated:
            kept.append(h)
    return sorted(kept, key=lambda h: (h.start, h.end, h.theme))


def _build_result(doc: Doc, sents: list[Span], lang: str, hits: list[_Hit], signals: list[LeaveSignal],
                  sent_of: SentenceOf) -> ThemeResult:
    matches = [ThemeMatch(h.theme, h.term, doc[h.start:h.end].text, doc[h.start].idx,
                          doc[h.end - 1].idx + len(doc[h.end - 1].text), h.rule, sent_of(h.start))
               for h in hits]
    return _assemble(lang, [(s.start_char, s.end_char) for s in sents], matches, signals)


def _assemble(lang: str, sent_chars: list[tuple[int, int]], matches: list[ThemeMatch],
              signals: list[LeaveSignal]) -> ThemeResult:
    per_sent: list[set[str]] = [set() for _ in sent_chars]
    leave_sent = [False] * len(sent_chars)
    for m in matches:
        per_sent[m.sentence].add(m.theme)
    for s in signals:
        leave_sent[s.sentence] = leave_sent[s.sentence] or s.counts
    sentences = [SentenceThemes(a, b, sorted(per_sent[i]), leave_sent[i]) for i, (a, b) in enumerate(sent_chars)]
    themes = sorted({m.theme for m in matches})
    return ThemeResult(lang, themes, any(leave_sent), sentences, matches, signals)


def _merge(first: ThemeResult, second: ThemeResult) -> ThemeResult:
    """Union of two analyses of the same text, in ``first``'s sentence segmentation."""
    bounds = [(s.start_char, s.end_char) for s in first.sentences]
    starts = [a for a, _ in bounds]

    def sent_at(char: int) -> int:
        return max(bisect_right(starts, char) - 1, 0)

    matches = list(first.matches) + [replace(m, sentence=sent_at(m.start_char)) for m in second.matches]
    seen: set[tuple[str, int, int]] = set()
    unique = []
    for m in sorted(matches, key=lambda m: (m.start_char, m.end_char, m.theme, _RULE_PRIORITY[m.rule])):
        if (m.theme, m.start_char, m.end_char) not in seen:
            seen.add((m.theme, m.start_char, m.end_char))
            unique.append(m)
    signals = list(first.leave_signals) + [replace(s, sentence=sent_at(s.start_char)) for s in second.leave_signals]
    return _assemble(BOTH, bounds, unique, signals)


# --- public API -----------------------------------------------------------------------------------------


def normalise_lang(lang: str | None) -> str:
    """"da" and "en" (also "da-DK", "EN") map to themselves; anything else means "use both lexicons"."""
    code = (lang or "").strip().lower().replace("_", "-").split("-")[0]
    return code if code in LANGS else BOTH


class ThemeAnalyzer:
    """Detect themes and leave intent in batches of texts. Pipelines are built lazily per language."""

    def __init__(self, taxonomy: Taxonomy | None = None, batch_size: int = 256, classifier: str | None = None) -> None:
        """``classifier``: "e5" (hybrid) or "off" (term matcher only); default: ``STEMNING_THEME_CLASSIFIER``."""
        self.taxonomy = taxonomy or load_taxonomy()
        self.batch_size = batch_size
        self.classifier = classifier_setting(classifier)
        self._matchers: dict[str, _LanguageMatcher] = {}

    def matcher(self, lang: str) -> _LanguageMatcher:
        if lang not in self._matchers:
            self._matchers[lang] = _LanguageMatcher(lang, self.taxonomy)
        return self._matchers[lang]

    def analyse(self, texts: Sequence[str], langs: Sequence[str | None] | str | None = None,
                progress: bool = False) -> list[ThemeResult]:
        """Analyse ``texts``; ``langs`` is one code per text, a single code for all, or None (both)."""
        if langs is None or isinstance(langs, str):
            langs = [langs] * len(texts)
        if len(langs) != len(texts):
            raise ValueError(f"got {len(texts)} texts but {len(langs)} language codes")
        groups: dict[str, list[int]] = defaultdict(list)
        for i, lang in enumerate(langs):
            groups[normalise_lang(lang)].append(i)
        results: list[ThemeResult | None] = [None] * len(texts)
        bar = _progress(len(texts)) if progress else None
        for group, idx in groups.items():
            group_texts = [t if isinstance(t, str) else "" for t in (texts[i] for i in idx)]
            if group == BOTH:
                da = self.matcher("da").pipe(group_texts, self.batch_size)
                en = self.matcher("en").pipe(group_texts, self.batch_size)
                outputs: Iterable[ThemeResult] = (_merge(a, b) for a, b in zip(da, en, strict=True))
            else:
                outputs = self.matcher(group).pipe(group_texts, self.batch_size)
            for i, res in zip(idx, outputs, strict=True):
                results[i] = res
                if bar is not None:
                    bar.update(1)
        if bar is not None:
            bar.close()
        if self.classifier == "e5" and texts:
            return self._add_classifier_themes([t if isinstance(t, str) else "" for t in texts], results)  # type: ignore[arg-type]
        return results  # type: ignore[return-value]

    def _add_classifier_themes(self, texts: Sequence[str], results: list[ThemeResult]) -> list[ThemeResult]:
        """Score every sentence in one batch; add (and, with a veto level, drop term hits of) themes, and
        combine the rules' leave intent with the head's leave unit when it has one."""
        clf = get_classifier()
        spans = [(i, j, s.start_char, s.end_char) for i, r in enumerate(results) for j, s in enumerate(r.sentences)]
        proba, leave_p = clf.predict([texts[i][a:b] for i, _, a, b in spans])
        model = get_leave_model() if clf.head.leave is not None else None  # without a unit, leave intent is the rules'
        post_p = model.predict([t if r.sentences else "" for t, r in zip(texts, results, strict=True)]) if model else None
        row = {(i, j): n for n, (i, j, _, _) in enumerate(spans)}
        added: dict[int, list[ThemeMatch]] = defaultdict(list)
        for (i, j, a, b), p_row, decided in zip(spans, proba, clf.decide(proba), strict=True):
            added[i] += [ThemeMatch(THEME_IDS[k], "classifier", texts[i][a:b], a, b, "classifier", j, round(float(p_row[k]), 3))
                         for k in numpy.flatnonzero(decided)]
        out = []
        for i, r in enumerate(results):
            kept = [m for m in r.matches if m.rule == "leave_trigger"
                    or proba[row[i, m.sentence], THEME_IDS.index(m.theme)] >= clf.veto]
            signals = list(r.leave_signals)
            if leave_p is not None and r.sentences:
                rows = [row[i, j] for j in range(len(r.sentences))]
                themes = {m.theme for m in kept + added[i]}
                whole = None if post_p is None or model is None else (float(post_p[i]), model.threshold)
                signals = _classifier_leave(texts[i], r, signals, leave_p[rows], clf.head.leave, "retention" in themes,
                                            whole)
                model_signal = next((s for s in signals if s.trigger == "leave_model"), None)
                if model_signal is not None and "retention" not in themes:  # leave intent implies the theme
                    added[i].append(ThemeMatch("retention", "leave_model", model_signal.text, model_signal.start_char,
                                               model_signal.end_char, "classifier", model_signal.sentence,
                                               round(whole[0], 3) if whole else None))
            if not added[i] and len(kept) == len(r.matches) and signals == r.leave_signals:
                out.append(r)
                continue
            bounds = [(s.start_char, s.end_char) for s in r.sentences]
            out.append(_assemble(r.lang, bounds, kept + added[i], signals))
        return out

    def analyse_one(self, text: str, lang: str | None = None) -> ThemeResult:
        return self.analyse([text], [lang])[0]


def _classifier_leave(text: str, result: ThemeResult, signals: list[LeaveSignal], p_sentences: numpy.ndarray,
                      unit: LeaveUnit | None, has_retention: bool,
                      whole_post: tuple[float, float] | None = None) -> list[LeaveSignal]:
    """The hybrid's leave-intent evidence: the post's p is its most likely sentence's, the decision is
    ``classifier.leave_verdict`` (the one training scores). Where it overrules counting rule signals they are
    marked vetoed; where it flags a post no rule signal counts for, a classifier signal (mode "classifier")
    on that sentence is added. The classifier may add only where the post has the retention theme (leave
    intent implies it) and the rules negated no trigger ("I'm not leaving" stays the rules' call).
    ``whole_post`` = (p, threshold) of the fine-tuned leave model (``leave_model.py``), which reads the whole
    post: at p >= threshold it flags the post (trigger "leave_model", on the unit's most likely sentence)
    wherever the rules negated no trigger, with or without the retention theme, and a veto does not stand."""
    if unit is None:
        return signals
    j = int(numpy.argmax(p_sentences))
    p = float(p_sentences[j])
    rules = any(s.counts for s in signals)
    negated = any(s.negated_by for s in signals)
    flagged = bool(leave_verdict(rules, p, has_retention and not negated, unit.threshold, unit.veto))
    by_model = whole_post is not None and not negated and whole_post[0] >= whole_post[1]
    if rules and not flagged and not by_model:
        return [replace(s, counts=False, vetoed_by="classifier",
                        reason=f"not leave intent: classifier p={p:.3f} < veto {unit.veto:g}") if s.counts else s
                for s in signals]
    if (flagged or by_model) and not rules:
        sent = result.sentences[j]
        if flagged:
            trigger, reason = "classifier", f"leave intent: classifier p={p:.3f} >= {unit.threshold:g}"
        else:
            assert whole_post is not None  # by_model implies it
            trigger, reason = "leave_model", (f"leave intent: leave model p={whole_post[0]:.3f} >= {whole_post[1]:g} "
                                              "(whole post)")
        return [*signals, LeaveSignal(trigger, text[sent.start_char:sent.end_char], sent.start_char,
                                      sent.end_char, j, "classifier", "unspecified", None, None, None, True, reason)]
    return signals


def _progress(total: int):  # noqa: ANN202 - tqdm bar
    from tqdm import tqdm

    return tqdm(total=total, desc="themes", unit="text", file=sys.stderr)


@lru_cache(maxsize=1)
def get_analyzer() -> ThemeAnalyzer:
    """Process-wide analyzer with the packaged taxonomy."""
    return ThemeAnalyzer()


def analyse(texts: Sequence[str], langs: Sequence[str | None] | str | None = None) -> list[ThemeResult]:
    """Themes and leave intent for each text (see ``ThemeAnalyzer.analyse``)."""
    return get_analyzer().analyse(texts, langs)
