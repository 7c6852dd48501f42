"""Labelled sentiment data for training heads and evaluating models, with fixed train/eval splits.

Sources (read in place from ``../shared/data``; never copied into the repo):
* English UCI sentences (Amazon + Yelp, pos/neg): 30 % held out for evaluation by a hash of the text.
* English employer reviews (HRdatasets): "like" = positive, "dislike" = negative; 15 % of review ids
  held out; "Nothing"/"None"-style answers (< 3 words) are dropped, since they carry no sentiment.
* Danish LCC news sentences: the 98 with a human valence are evaluation only (<0 / 0 / >0 → 3 classes);
  the ~9,900 unlabelled ones are available for pseudo-labelling.
* Hand-written Danish/English workplace sentences in ``models/training/hr_examples.csv`` (training).

Splits depend only on hashes, so training and evaluation agree on them in every process.
"""

from __future__ import annotations

import csv
import hashlib
import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from pipeline.config import REPO_ROOT

NEG, NEU, POS = 0, 1, 2
LABEL_IDS = {"negative": NEG, "neutral": NEU, "positive": POS}
HR_EXAMPLES = REPO_ROOT / "models" / "training" / "hr_examples.csv"
# Workplace posts written for the theme classifier (theme_examples_<round>.jsonl) and, separately, their
# sentiment read by another annotator who saw neither the themes nor any model output
# (sentiment_labels_theme_examples_<round>.csv). Round 1 (da, en) trained head v3; v4 adds rounds 2 to 4.
_TRAINING_DIR = REPO_ROOT / "models" / "training"
WORKPLACE_ROUNDS: dict[str, tuple[str, ...]] = {"1": ("da", "en"),
                                                 "1-4": ("da", "en", "da_2", "en_2", "da_3", "en_3", "da_4", "en_4")}
WORKPLACE_POSTS = {name: (_TRAINING_DIR / f"theme_examples_{name}.jsonl",
                          _TRAINING_DIR / f"sentiment_labels_theme_examples_{name}.csv")
                   for name in WORKPLACE_ROUNDS["1-4"]}
EMPLOYER_AUDIT = REPO_ROOT / "models" / "evaluation" / "employer_label_audit.csv"
UCI_EVAL_SHARE = 0.30
EMPLOYER_EVAL_SHARE = 0.15
EMPLOYER_EVAL_MAX_REVIEWS = 600  # bounds eval time (two texts per review)


class SharedDataMissing(FileNotFoundError):
    pass


def shared_data_dir() -> Path:
    path = Path(os.environ.get("STEMNING_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))
    if not path.is_dir():
        raise SharedDataMissing(f"shared data folder {path} not found; set STEMNING_SHARED_DATA to the "
                                "folder holding en_uci_sentences/, en_employer_reviews/, da_lcc_sentiment/")
    return path


def _read_csv(relative: str) -> list[dict[str, str]]:
    path = shared_data_dir() / relative
    if not path.is_file():
        raise SharedDataMissing(f"{path} is missing from the shared data folder")
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def bucket(key: str, salt: str) -> float:
    """A stable pseudo-random number in [0, 1) for ``key``: the basis of every split."""
    digest = hashlib.sha256(f"{salt}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


@dataclass(frozen=True)
class Example:
    text: str
    lang: str
    label: int  # NEG / NEU / POS
    source: str


def _clean(text: str) -> str:
    return " ".join(text.replace('"""', '"').split())


@cache
def uci_sentences() -> tuple[tuple[Example, ...], tuple[Example, ...]]:
    """(train, eval) English review sentences."""
    train: list[Example] = []
    held: list[Example] = []
    seen: set[str] = set()
    for name in ("amazon", "yelp"):
        for row in _read_csv(f"en_uci_sentences/{name}.csv"):
            text = _clean(row["text"])
            if not text or text.lower() in seen:
                continue
            seen.add(text.lower())
            ex = Example(text, "en", POS if row["label"].strip() == "1" else NEG, f"uci-{name}")
            (held if bucket(text.lower(), "uci") < UCI_EVAL_SHARE else train).append(ex)
    return tuple(train), tuple(held)


def _informative(text: str) -> bool:
    return len(text.split()) >= 3


@cache
def employer_reviews() -> tuple[tuple[Example, ...], tuple[Example, ...]]:
    """(train, eval) English employer-review pros (positive) and cons (negative)."""
    train: list[Example] = []
    held: list[Example] = []
    seen: set[str] = set()
    rows = _read_csv("en_employer_reviews/reviews.csv")
    held_ids = sorted((r["review_id"] for r in rows if bucket(r["review_id"], "employer") < EMPLOYER_EVAL_SHARE),
                      key=lambda i: bucket(i, "employer-order"))[:EMPLOYER_EVAL_MAX_REVIEWS]
    held_set = set(held_ids)
    # Held-out texts first, so a text duplicated across reviews can never also land in training.
    for row in sorted(rows, key=lambda r: r["review_id"] not in held_set):
        in_eval = row["review_id"] in held_set
        for col, label in (("like", POS), ("dislike", NEG)):
            text = _clean(row.get(col) or "")
            if not _informative(text) or text.lower() in seen:
                continue
            seen.add(text.lower())
            ex = Example(text, "en", label, f"employer-{col}")
            (held if in_eval else train).append(ex)
    return tuple(train), tuple(held)


@cache
def lcc_danish() -> tuple[tuple[Example, ...], tuple[str, ...]]:
    """(labelled eval sentences, unlabelled sentences with every eval text removed)."""
    labelled: list[Example] = []
    unlabelled: list[str] = []
    for row in _read_csv("da_lcc_sentiment/newscrawl_2011.csv"):
        text = _clean(row["text"])
        if not text:
            continue
        if row["valence"].strip():
            v = float(row["valence"])
            labelled.append(Example(text, "da", NEG if v < 0 else POS if v > 0 else NEU, "lcc"))
        else:
            unlabelled.append(text)
    eval_texts = {e.text.lower() for e in labelled}
    return tuple(labelled), tuple(dict.fromkeys(t for t in unlabelled if t.lower() not in eval_texts))


def text_key(text: str) -> str:
    """How the label audit names a text without holding it (the data stays in ../shared)."""
    return hashlib.sha256(text.lower().encode()).hexdigest()[:16]


def employer_audited() -> tuple[Example, ...]:
    """Held-out employer texts that a blind re-annotation (field not shown) calls clearly positive or
    negative, labelled by that reading. The field labels ("like" = positive) are noisy: people write
    complaints under "like" and praise under "dislike"; on a random 200 of the held-out texts the blind
    reading agreed with the field on only 146 (see models/evaluation/README.md)."""
    with EMPLOYER_AUDIT.open(newline="", encoding="utf-8") as f:
        audit = {r["text_sha256_16"]: r["audit_label"] for r in csv.DictReader(f)}
    return tuple(Example(e.text, e.lang, LABEL_IDS[audit[k]], "employer-audited")
                 for e in employer_reviews()[1]
                 if (k := text_key(e.text)) in audit and audit[k] in ("positive", "negative"))


def hr_examples(files: tuple[Path, ...] | None = None) -> list[Example]:
    """Hand-written workplace sentences (``models/training/hr_examples*.csv``; file order = name order)."""
    out: list[Example] = []
    for path in files or tuple(sorted(HR_EXAMPLES.parent.glob("hr_examples*.csv"))):
        with path.open(newline="", encoding="utf-8") as f:
            out += [Example(_clean(r["text"]), r["lang"], LABEL_IDS[r["label"]], f"hr-{r['lang']}")
                    for r in csv.DictReader(f)]
    return out


def workplace_posts(rounds: str = "1") -> list[Example]:
    """The theme-classifier posts of ``rounds`` (a ``WORKPLACE_ROUNDS`` key) with their separately annotated
    sentiment (source ``hr-posts-<lang>``)."""
    from pipeline.themes.evaluate import load_examples  # the theme-set JSONL format, validated

    out: list[Example] = []
    for name in WORKPLACE_ROUNDS[rounds]:
        posts_path, labels_path = WORKPLACE_POSTS[name]
        with labels_path.open(newline="", encoding="utf-8") as f:
            labels = {r["id"]: r["label"] for r in csv.DictReader(f)}
        posts = load_examples(posts_path)
        missing = [p.id for p in posts if p.id not in labels]
        if missing:
            raise ValueError(f"{labels_path.name}: no sentiment label for {len(missing)} posts, e.g. {missing[0]}")
        out += [Example(_clean(p.text), p.lang, LABEL_IDS[labels[p.id]], f"hr-posts-{p.lang}") for p in posts]
    return out


@dataclass(frozen=True)
class EvalSet:
    name: str
    lang: str
    examples: tuple[Example, ...]
    three_class: bool  # True when the gold labels include neutral
    description: str


def eval_sets() -> list[EvalSet]:
    lcc, _ = lcc_danish()
    return [
        EvalSet("da-lcc", "da", lcc, True,
                "Danish LCC news sentences with human valence (<0/0/>0), all 98; never trained on"),
        EvalSet("en-uci", "en", uci_sentences()[1], False,
                "English Amazon+Yelp sentences, 30 % held out by text hash"),
        EvalSet("en-employer", "en", employer_reviews()[1], False,
                "English employer-review pros/cons of 600 held-out reviews (15 % of ids)"),
        EvalSet("en-employer-audited", "en", employer_audited(), False,
                "the same texts, a random 200 re-annotated blind; the 170 read as clearly pos/neg, by that reading"),
    ]
