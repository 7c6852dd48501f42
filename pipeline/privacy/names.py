"""Known-name matching that never holds a name in clear.

:class:`NameIndex` stores only keyed hashes (HMAC-SHA-256 under a sub-key of the pseudonymisation key,
truncated to 128 bits) of normalised name tokens and of token pairs (full names). The redactor hashes each
word of a text (and its possessive-stripped form) and looks the hash up. Persist ``to_hashes()`` (e.g. table
``private.name_hashes(hash, kind)``); without the key the hashes cannot be checked against a list of names.

Normalisation: NFKC, case-folded, æ/ø/å written ae/oe/aa and other accents dropped, so "Søren", "SØREN" and
"Soeren" match; the index also holds the single-letter spelling ("Soren").

Matching rules (``kind`` is decided while the index is built, from the clear names):

* ``name``: any case matches ("mette", "METTE", "Mette"), also Danish possessives ("Mettes", "Jens'",
  "Anders'") and English "Mette's".
* ``ambiguous`` (the token is also a common word, see :mod:`pipeline.privacy.common_words`, or has at most
  2 letters): matched only when written Capitalised and not at the start of a sentence (a title such as
  "Hr."/"Dr." before it does not start one), or at the start of
  a sentence when possessive ("Pers bil", "Mark's idea") or followed by "," or ":" (addressing someone:
  "Per, kan du …"). So "Hej Bo", "spørg Per"
  and "Mark's idea" are redacted, but "vi bor per 1. marts", "Will you join?" and "mark" are not.
* ``bigram``: a known full name (consecutive tokens, or first + last) always matches, in any case and even
  when its tokens are ambiguous ("per hansen", "Will Smith").

Adjacent name tokens (separated by one space or a hyphen) are merged into one ``[PERSON]``.
"""

from __future__ import annotations

import hmac
import re
import unicodedata
from collections.abc import Iterable, Sequence
from itertools import pairwise, product

from pipeline.privacy.common_words import COMMON_WORD_NAMES
from pipeline.privacy.pseudonym import derive_key, key_fingerprint

KIND_NAME, KIND_AMBIGUOUS, KIND_BIGRAM = "name", "ambiguous", "bigram"
KINDS = (KIND_NAME, KIND_AMBIGUOUS, KIND_BIGRAM)
HASH_BYTES = 16
_PURPOSE = "name-index/v1"
_CACHE_LIMIT = 200_000

_WORD_RE = re.compile(r"[^\W\d_]+")
_EMAIL_PART_RE = re.compile(r"[._\-+]")
_TRANSLIT = str.maketrans({"æ": "ae", "ø": "oe", "å": "aa"})
_TRANSLIT_SHORT = str.maketrans({"æ": "ae", "ø": "o", "å": "a"})
# Name particles and titles are too common to redact on their own; they still take part in full names.
_PARTICLES = frozenset(("af", "da", "de", "del", "der", "di", "du", "la", "le", "van", "von", "den", "ten", "ter",
                        "zu", "al", "el", "bin", "ibn", "dr", "mr", "mrs", "ms", "prof"))
_OPENERS = frozenset("\"'“”‘’«»(*•>-–—_")
_SENTENCE_END = frozenset(".!?:;\n…")
_TITLE_BEFORE_RE = re.compile(r"\b(?:hr|fr|fru|frk|dr|mr|mrs|ms|prof)\.?\s+$", re.IGNORECASE)


def _strip_accents(word: str) -> str:
    if word.isascii():
        return word
    return "".join(c for c in unicodedata.normalize("NFKD", word) if not unicodedata.combining(c))


def fold(word: str) -> str:
    """The normal form that is hashed: NFKC, case-folded, æ/ø/å → ae/oe/aa, accents dropped."""
    return _strip_accents(unicodedata.normalize("NFKC", word).casefold().translate(_TRANSLIT))


def _spellings(word: str) -> set[str]:
    base = unicodedata.normalize("NFKC", word).casefold()
    return {fold(word), _strip_accents(base.translate(_TRANSLIT_SHORT))}


def names_from_email(address: str) -> str | None:
    """"mette.frederiksen@firma.dk" → "mette frederiksen"; None when the local part is not a name
    (one part, initials or digits: "mfr", "hr", "jens123")."""
    local = address.strip().split("@", 1)[0]
    parts = [p for p in _EMAIL_PART_RE.split(local) if p]
    words = [p for p in parts if p.isalpha()]
    if len(parts) < 2 or len(words) != len(parts) or sum(len(w) >= 2 for w in words) < 2:
        return None
    return " ".join(words)


class NameIndex:
    """A set of keyed hashes of known names; see the module docstring for the matching rules."""

    def __init__(self, entries: dict[bytes, str], key: bytes) -> None:
        self._entries = entries
        self._subkey = derive_key(key, _PURPOSE)
        self.key_fingerprint = key_fingerprint(key)
        self._cache: dict[str, tuple[str | None, bool]] = {}

    # --- building and persisting ---------------------------------------------------------------------
    @classmethod
    def from_names(cls, names: Iterable[str], key: bytes, *, extra_ambiguous: Iterable[str] = ()) -> NameIndex:
        """Index full names or single names ("Mette Frederiksen", "Jens-Peter", "mette frederiksen").

        Words listed in ``extra_ambiguous`` are treated like the built-in common words.
        """
        ambiguous = {fold(w) for w in COMMON_WORD_NAMES.union(extra_ambiguous)}
        index = cls({}, key)
        entries = index._entries
        for name in names:
            tokens = [t for t in _WORD_RE.findall(name) if len(t) >= 2]  # initials ("Mette F.") are skipped
            for token in tokens:
                folded = fold(token)
                if folded in _PARTICLES:
                    continue
                kind = KIND_AMBIGUOUS if len(folded) <= 2 or folded in ambiguous else KIND_NAME
                for spelling in _spellings(token):
                    digest = index._hash(spelling)
                    # A word that is ambiguous in one name is ambiguous everywhere.
                    if entries.get(digest) != KIND_AMBIGUOUS:
                        entries[digest] = kind
            pairs = list(pairwise(tokens))
            if len(tokens) > 2:
                pairs.append((tokens[0], tokens[-1]))
            for first, second in pairs:
                for a, b in product(_spellings(first), _spellings(second)):
                    entries[index._hash(f"{a} {b}")] = KIND_BIGRAM
        return index

    @classmethod
    def from_hashes(cls, rows: Iterable[tuple[str, str]], key: bytes) -> NameIndex:
        """Rebuild from ``to_hashes()`` rows; ``key`` must be the key the hashes were made with."""
        entries: dict[bytes, str] = {}
        for hex_hash, kind in rows:
            if kind not in KINDS or len(hex_hash) != 2 * HASH_BYTES:
                raise ValueError(f"not a name-index row: kind={kind!r}, hash of {len(hex_hash)} chars")
            entries[bytes.fromhex(hex_hash)] = kind
        return cls(entries, key)

    def to_hashes(self) -> list[tuple[str, str]]:
        """``(hex hash, kind)`` rows, sorted (so the order reveals nothing about the input order)."""
        return sorted((digest.hex(), kind) for digest, kind in self._entries.items())

    def __len__(self) -> int:
        return len(self._entries)

    def _hash(self, normalised: str) -> bytes:
        return hmac.digest(self._subkey, normalised.encode("utf-8"), "sha256")[:HASH_BYTES]

    # --- matching ------------------------------------------------------------------------------------
    def token_kind(self, word: str) -> tuple[str | None, bool]:
        """``(kind, possessive)`` of one word as written: kind is None when it is not a known name token;
        possessive is True when it matched only after removing a genitive "s" ("Mettes")."""
        cached = self._cache.get(word)
        if cached is not None:
            return cached
        folded = fold(word)
        kind: str | None = None
        possessive = False
        if len(folded) >= 2:
            kind = self._entries.get(self._hash(folded))
            if kind is None and len(folded) > 3 and folded.endswith("s"):
                kind = self._entries.get(self._hash(folded[:-1]))
                possessive = kind is not None
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache.clear()
        self._cache[word] = (kind, possessive)
        return kind, possessive

    def is_full_name(self, first: str, second: str) -> bool:
        a, b = fold(first), fold(second)
        if self._entries.get(self._hash(f"{a} {b}")) == KIND_BIGRAM:
            return True
        return b.endswith("s") and self._entries.get(self._hash(f"{a} {b[:-1]}")) == KIND_BIGRAM

    def find_spans(self, text: str, exclude: Sequence[tuple[int, int, str]] = ()) -> list[tuple[int, int]]:
        """Character spans of known names in ``text`` (possessive endings included, neighbours merged).

        Words overlapping an ``exclude`` span (PII already found, e.g. the "@Mette" of "@Mette Kjærgaard")
        are skipped, so the rest of the name is still found.
        """
        words = [(m.start(), m.end(), m.group()) for m in _WORD_RE.finditer(text)
                 if not any(m.start() < e and s < m.end() for s, e, _ in exclude)]
        kinds = [self.token_kind(w)[0] for _, _, w in words]
        flagged = [False] * len(words)
        for i in range(len(words) - 1):
            (_, end1, w1), (start2, _, w2) = words[i], words[i + 1]
            if (kinds[i] or kinds[i + 1]) and _joins_name(text[end1:start2]) and self.is_full_name(w1, w2):
                flagged[i] = flagged[i + 1] = True
        spans: list[tuple[int, int]] = []
        for i, (start, end, word) in enumerate(words):
            kind, possessive = self.token_kind(word)
            if not flagged[i] and not (kind == KIND_NAME or (
                    kind == KIND_AMBIGUOUS and _reads_as_name(text, start, end, word, possessive))):
                continue
            if text[start - 1:start] == "[" and text[end:end + 1] == "]":
                continue  # our own placeholder, e.g. "[PERSON]"
            end = _possessive_end(text, end, word)
            if spans and _joins_name(text[spans[-1][1]:start]):
                spans[-1] = (spans[-1][0], end)
            elif not spans or start >= spans[-1][1]:
                spans.append((start, end))
        return spans


def _joins_name(gap: str) -> bool:
    return gap == "-" or (0 < len(gap) <= 2 and gap.isspace() and "\n" not in gap)


def _possessive_end(text: str, end: int, word: str) -> int:
    """Extend a name over "'s" (English) or a bare apostrophe after s/x/z (Danish "Jens'", "Anders'")."""
    nxt = text[end:end + 1]
    if nxt not in ("'", "’"):
        return end
    if text[end + 1:end + 2] in ("s", "S") and not text[end + 2:end + 3].isalnum():
        return end + 2
    if word[-1:].casefold() in ("s", "x", "z") and not text[end + 1:end + 2].isalnum():
        return end + 1
    return end


def _reads_as_name(text: str, start: int, end: int, word: str, possessive: bool) -> bool:
    """An ambiguous token reads as a name when Capitalised and either mid-sentence, or sentence-initial but
    possessive ("Pers bil", "Mark's idea") or followed by "," / ":" (addressing someone)."""
    if not (len(word) > 1 and word[0].isupper() and word[1:] == word[1:].lower()):
        return False
    i = start - 1
    while i >= 0 and ((text[i].isspace() and text[i] != "\n") or text[i] in _OPENERS):
        i -= 1
    if i >= 0 and text[i] not in _SENTENCE_END:
        return True
    if _TITLE_BEFORE_RE.search(text, max(0, start - 12), start):
        return True  # "Hr. Holm", "Dr. Will"
    name_end = _possessive_end(text, end, word)
    return possessive or name_end > end or text[name_end:].lstrip(" ")[:1] in (",", ":")
