"""Decide whether one leave-intent trigger in a sentence is the writer's own, un-negated intent to leave.

Rules (the word lists live in ``taxonomy.yaml`` under ``leave_intent``):

* hard negatives (parental leave, retirement, internal moves) anywhere in the same sentence, and local
  negatives (lunch, meetings, builds, "early" …) in the same clause, veto the trigger entirely;
* clauses end at the taxonomy's clause breaks (",", "but", "men" …) and at emoji, which chat uses as
  punctuation;
* the subject is the nearest marker in the clause before the trigger (markers inside the trigger span
  win): a first-person word -> ``self``; a third-person word, a ``[PERSON]`` placeholder or a
  capitalised name -> ``other``; nothing -> ``unspecified`` (chat style "Har sagt op 😬");
* implicit triggers ("søger nyt job", "handed in my notice") count for ``self`` and ``unspecified``;
  explicit, ambiguous ones ("stopper", "quit", "leaving") only for ``self``;
* a negator inside the trigger, shortly before it in the same clause, or (Danish) right after it ("Jeg
  stopper ikke") means the writer says they are *not* leaving.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

from spacy.tokens import Doc, Span

from pipeline.themes.taxonomy import LeaveLexicon

PERSON_PLACEHOLDERS = frozenset({"[person]", "[name]", "[navn]"})


@dataclass(frozen=True, slots=True)
class LeaveSignal:
    """One leave-intent trigger and the verdict on it (``counts`` = it makes the post leave intent)."""

    trigger: str
    text: str
    start_char: int
    end_char: int
    sentence: int
    mode: str  # implicit | explicit | classifier (the theme head's leave unit, ``matcher._classifier_leave``)
    subject: str  # self | other | unspecified
    subject_word: str | None
    negated_by: str | None
    vetoed_by: str | None
    counts: bool
    reason: str


@dataclass(frozen=True, slots=True)
class SentenceContext:
    """Leave-relevant terms found in the trigger's sentence."""

    hard_negatives: list[str]  # veto anywhere in the sentence
    local_negatives: list[tuple[int, str]]  # (token index, term): veto within the trigger's clause
    stay_phrases: list[str]  # the writer says they stay: negation
    other_in_sentence: list[str]  # "congrats": an unspecified subject is someone else


def _is_name_like(tok, sent_start: int, is_known_word: Callable[[str], bool]) -> bool:
    text = tok.text
    if not (text[:1].isupper() and text[1:].islower() and text.isalpha()):
        return False
    # A capitalised word that opens the sentence is usually just a capitalised common word.
    return tok.i != sent_start or not is_known_word(text.lower())


def _marker(tok, lex: LeaveLexicon, sent_start: int, is_known_word: Callable[[str], bool]) -> str | None:
    low = tok.lower_
    if low in lex.self_markers:
        return "self"
    if low in lex.other_markers or low in PERSON_PLACEHOLDERS:
        return "other"
    if _is_name_like(tok, sent_start, is_known_word):
        return "other"
    return None


def is_emoji(text: str) -> bool:
    return any(unicodedata.category(c) == "So" for c in text) and all(
        unicodedata.category(c) in {"So", "Sk", "Mn", "Cf"} for c in text)


def _is_break(tok, lex: LeaveLexicon) -> bool:
    return tok.lower_ in lex.clause_breaks or is_emoji(tok.text)


def clause_bounds(doc: Doc, sent: Span, start: int, end: int, lex: LeaveLexicon) -> tuple[int, int]:
    """Token range of the clause around ``doc[start:end]`` (within its sentence)."""
    first = start
    while first > sent.start and not _is_break(doc[first - 1], lex):
        first -= 1
    last = end
    while last < sent.end and not _is_break(doc[last], lex):
        last += 1
    return first, last


def _find_subject(doc: Doc, sent: Span, start: int, end: int, clause_start: int, lex: LeaveLexicon,
                  is_known_word: Callable[[str], bool]) -> tuple[str, str | None]:
    for tok in doc[start:end]:  # "min sidste dag", "handed in her notice"
        if tok.lower_ in lex.self_markers:
            return "self", tok.text
        if tok.lower_ in lex.other_markers or tok.lower_ in PERSON_PLACEHOLDERS:
            return "other", tok.text
    for i in range(start - 1, clause_start - 1, -1):
        kind = _marker(doc[i], lex, sent.start, is_known_word)
        if kind:
            return kind, doc[i].text
    return "unspecified", None


def _find_negation(doc: Doc, start: int, end: int, clause: tuple[int, int], lex: LeaveLexicon,
                   negation_window: int, look_after: bool) -> str | None:
    for tok in doc[start:end]:  # inside a proximity trigger: "overvejer ikke at skifte job"
        if tok.lower_ in lex.negators:
            return tok.text
    for i in range(start - 1, max(clause[0], start - negation_window) - 1, -1):
        if doc[i].lower_ in lex.negators:
            return doc[i].text
    if look_after:  # Danish main clauses put the negation after the verb: "Jeg stopper ikke"
        for i in range(end, min(end + 2, clause[1])):
            if doc[i].lower_ in lex.negators:
                return doc[i].text
    return None


def assess_trigger(doc: Doc, sent: Span, sent_index: int, start: int, end: int, trigger: str, mode: str,
                   lex: LeaveLexicon, context: SentenceContext, *, window: int, negation_window: int,
                   local_negative_window: int, danish: bool, is_known_word: Callable[[str], bool]) -> LeaveSignal:
    """Judge the trigger ``doc[start:end]`` found in ``sent``."""
    span = doc[start:end]
    clause = clause_bounds(doc, sent, start, end, lex)
    subject, subject_word = _find_subject(doc, sent, start, end, max(clause[0], start - window), lex,
                                          is_known_word)
    if subject == "unspecified" and context.other_in_sentence:
        subject, subject_word = "other", context.other_in_sentence[0]
    negated_by = None if trigger in lex.not_negatable else _find_negation(
        doc, start, end, clause, lex, negation_window, look_after=danish)
    if negated_by is None and context.stay_phrases:
        negated_by = context.stay_phrases[0]
    hard_negatives = context.hard_negatives
    # Near the trigger only: "forlader kontoret" is leaving the building, but in "Jeg siger op hvis vi skal
    # tilbage på kontoret" the office is the condition, not what is left.
    local = [term for i, term in context.local_negatives if clause[0] <= i < clause[1]
             and start - local_negative_window <= i < end + local_negative_window]
    vetoed_by = (hard_negatives or local or [None])[0]
    subject_ok = subject == "self" or (mode == "implicit" and subject == "unspecified")
    counts = vetoed_by is None and negated_by is None and subject_ok
    if vetoed_by:
        scope = "sentence" if vetoed_by in hard_negatives else "clause"
        reason = f"not leave intent: hard negative '{vetoed_by}' in the same {scope}"
    elif negated_by:
        reason = f"not leave intent: negated by '{negated_by}'"
    elif not subject_ok:
        who = f"'{subject_word}'" if subject_word else "no first-person subject"
        reason = (f"not leave intent: subject is someone else ({who})" if subject == "other"
                  else f"not leave intent: ambiguous trigger needs a first-person subject ({who})")
    else:
        reason = ("leave intent: first-person subject" if subject == "self"
                  else "leave intent: unambiguous trigger, no other subject")
        if subject_word:
            reason += f" ('{subject_word}')"
    return LeaveSignal(trigger, span.text, span.start_char, span.end_char, sent_index, mode, subject,
                       subject_word, negated_by, vetoed_by, counts, reason)
