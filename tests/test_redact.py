"""Redaction: adversarial corpus (PII gone, placeholders in place), negative set (untouched), name rules."""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from pathlib import Path

import pytest
import spacy

from pipeline.privacy.audit import scan_text
from pipeline.privacy.names import KIND_AMBIGUOUS, KIND_NAME, NameIndex, names_from_email
from pipeline.privacy.patterns import PLACEHOLDER_RE
from pipeline.privacy.redact import Redactor, spacy_person_detector

DATA = Path(__file__).parent / "data" / "pii"
KEY = os.environ["STEMNING_PSEUDONYM_KEY"].encode()


def _jsonl(name: str) -> list[dict[str, str]]:
    with open(DATA / name, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


ADVERSARIAL = _jsonl("adversarial.jsonl")
NEGATIVE = _jsonl("negative.jsonl")


def roster_names() -> list[str]:
    """Names the way ingestion will gather them: roster names + e-mail local parts + Slack names."""
    data = json.loads((DATA / "roster.json").read_text(encoding="utf-8"))
    names = [person["name"] for person in data["roster"]]
    names += [n for person in data["roster"] if (n := names_from_email(person["email"]))]
    names += [u[field] for u in data["slack_users"] for field in ("real_name", "display_name")]
    return names


@pytest.fixture(scope="module")
def name_index() -> NameIndex:
    # Round-trip through the persisted form: redaction must work from hashes alone.
    return NameIndex.from_hashes(NameIndex.from_names(roster_names(), KEY).to_hashes(), KEY)


@pytest.fixture(scope="module")
def redactor(name_index: NameIndex) -> Redactor:
    return Redactor(name_index)


def test_corpora_are_big_enough_and_bilingual() -> None:
    assert len(ADVERSARIAL) >= 60 and len(NEGATIVE) >= 40
    assert {i["lang"] for i in ADVERSARIAL} == {"da", "en"} == {i["lang"] for i in NEGATIVE}
    assert len({i["id"] for i in ADVERSARIAL + NEGATIVE}) == len(ADVERSARIAL) + len(NEGATIVE)


@pytest.mark.parametrize("item", ADVERSARIAL, ids=[i["id"] for i in ADVERSARIAL])
def test_adversarial_pii_is_replaced_in_place(redactor: Redactor, item: dict[str, str]) -> None:
    result = redactor.redact(item["text"])
    assert result.text == item["expected"]
    assert scan_text(result.text) == []
    added = Counter(PLACEHOLDER_RE.findall(item["expected"])) - Counter(PLACEHOLDER_RE.findall(item["text"]))
    assert result.counts == dict(added)


@pytest.mark.parametrize("item", NEGATIVE, ids=[i["id"] for i in NEGATIVE])
def test_negative_set_is_untouched(redactor: Redactor, item: dict[str, str]) -> None:
    result = redactor.redact(item["text"])
    assert (result.text, result.counts) == (item["text"], {})


def test_redaction_is_idempotent(redactor: Redactor) -> None:
    for item in ADVERSARIAL:
        once = redactor.redact(item["text"])
        twice = redactor.redact(once.text)
        assert (twice.text, twice.counts) == (once.text, {}), item["id"]


def test_name_index_persists_no_clear_names(name_index: NameIndex) -> None:
    rows = name_index.to_hashes()
    assert rows and all(len(h) == 32 and int(h, 16) >= 0 for h, _ in rows)
    assert {kind for _, kind in rows} == {"name", "ambiguous", "bigram"}
    dump = repr(rows).casefold()
    for name in roster_names():
        for token in name.replace("-", " ").replace(".", " ").split():
            if len(token) >= 3:
                assert token.casefold() not in dump


def test_hashes_only_match_under_their_key(name_index: NameIndex) -> None:
    other_key = NameIndex.from_hashes(name_index.to_hashes(), b"another-key-0123456789abcdef")
    text = "Mette Kjærgaard og Jens Østergaard"
    assert Redactor(other_key).redact(text).text == text
    assert Redactor(name_index).redact(text).text == "[PERSON] og [PERSON]"
    with pytest.raises(ValueError, match="not a name-index row"):
        NameIndex.from_hashes([("abc", "name")], KEY)


def test_token_kinds_and_possessives() -> None:
    index = NameIndex.from_names(["Per Holm", "Mette Kjærgaard", "Søren Østergaard"], KEY,
                                 extra_ambiguous=["Kjærgaard"])
    assert index.token_kind("Per") == (KIND_AMBIGUOUS, False)
    assert index.token_kind("Mettes") == (KIND_NAME, True)
    assert index.token_kind("METTE") == (KIND_NAME, False)
    assert index.token_kind("Kjaergaard") == (KIND_AMBIGUOUS, False)  # extra_ambiguous + transliteration
    assert index.token_kind("Oestergaard") == index.token_kind("Ostergaard") == (KIND_NAME, False)
    assert index.token_kind("kontor") == (None, False)
    redactor = Redactor(index)
    assert redactor.redact("spørg kjærgaard").text == "spørg kjærgaard"  # ambiguous: needs a capital
    assert redactor.redact("spørg Kjærgaard").text == "spørg [PERSON]"
    assert redactor.redact("mette kjærgaard").text == "[PERSON]"  # full name matches in any case


@pytest.mark.parametrize(("address", "expected"), [
    ("mette.kjaergaard@firma.dk", "mette kjaergaard"),
    ("jens_peter.lund@firma.dk", "jens peter lund"),
    ("abn@firma.dk", None),
    ("jens123@firma.dk", None),
    ("hr@firma.dk", None),
    ("m.k@firma.dk", None),
])
def test_names_from_email(address: str, expected: str | None) -> None:
    assert names_from_email(address) == expected


def test_optional_spacy_person_detector_adds_names() -> None:
    nlp = spacy.blank("da")
    ruler = nlp.add_pipe("entity_ruler")
    ruler.add_patterns([{"label": "PER", "pattern": [{"LOWER": "kirsten"}, {"LOWER": "petersen"}]}])
    redactor = Redactor(None, person_detector=spacy_person_detector(nlp))
    result = redactor.redact("Kirsten Petersen skrev til hr@firma.dk")
    assert (result.text, result.counts) == ("[PERSON] skrev til [EMAIL]", {"[PERSON]": 1, "[EMAIL]": 1})


def test_throughput_is_well_above_50k_texts_per_minute(redactor: Redactor) -> None:
    texts = [i["text"] for i in ADVERSARIAL + NEGATIVE] * 60  # ~9,000 short texts, half of them with PII
    start = time.perf_counter()
    for text in texts:
        redactor.redact(text)
    per_minute = len(texts) / (time.perf_counter() - start) * 60
    assert per_minute > 50_000, f"{per_minute:,.0f} texts/min"
