"""Evaluate theme and leave-intent detection against hand-labelled posts (JSONL).

Each line: ``{"id", "lang", "text", "themes": [ids], "leave_intent": bool}``. Theme scores are
micro-averaged over (post, theme) pairs; per-theme precision/recall/F1 and leave-intent P/R/F1 are
reported alongside. The packaged sets live in ``tests/data/themes/`` (``dev.jsonl`` was used for tuning
the term lists; ``eval.jsonl``, ``independent.jsonl`` and ``challenge{,_2,_3,_4}.jsonl`` are held out).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.config import REPO_ROOT
from pipeline.themes.matcher import ThemeAnalyzer, ThemeResult, get_analyzer
from pipeline.themes.taxonomy import THEME_IDS

DATA_DIR = REPO_ROOT / "tests" / "data" / "themes"


@dataclass(frozen=True)
class Example:
    id: str
    lang: str
    text: str
    themes: frozenset[str]
    leave_intent: bool


@dataclass(frozen=True)
class PRF:
    tp: int
    fp: int
    fn: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    @property
    def support(self) -> int:
        return self.tp + self.fn


@dataclass
class EvalReport:
    n: int
    theme_micro: PRF
    per_theme: dict[str, PRF]
    leave: PRF
    by_lang: dict[str, tuple[PRF, PRF]] = field(default_factory=dict)  # lang -> (themes micro, leave)
    errors: list[tuple[Example, ThemeResult]] = field(default_factory=list)


def load_examples(path: Path | str) -> list[Example]:
    rows = []
    with Path(path).open(encoding="utf-8") as fh:
        for line_no, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                raw = json.loads(line)
                themes = frozenset(raw["themes"])
                unknown = themes - set(THEME_IDS)
                if unknown:
                    raise ValueError(f"unknown theme ids {sorted(unknown)}")
                rows.append(Example(str(raw["id"]), raw["lang"], raw["text"], themes, bool(raw["leave_intent"])))
            except (KeyError, ValueError, TypeError) as exc:
                raise ValueError(f"{path}:{line_no}: bad example ({exc})") from exc
    return rows


# eval: held out; dev: tuning; independent: another session's posts, a third session's labels, held out;
# independent-dev: the other half of those posts (used to widen the terms and to train the classifier).
PACKAGED_SETS = ("eval", "dev", "independent", "independent-dev", "challenge", "challenge-2", "challenge-3",
                 "challenge-4")


def dataset_path(name: str) -> Path:
    """A packaged set (``PACKAGED_SETS``; ``independent-dev`` -> ``independent_dev.jsonl``); anything else is
    taken as a file path."""
    return DATA_DIR / f"{name.replace('-', '_')}.jsonl" if name in PACKAGED_SETS else Path(name)


def second_annotator_agreement(examples: Sequence[Example], path: Path) -> tuple[PRF, PRF]:
    """Theme and leave-intent agreement of ``examples``' labels with a second annotator's (``path``: JSONL of
    ``{"id", "themes", "leave_intent"}`` for exactly these ids; the first labels play gold)."""
    second = {r["id"]: r for r in map(json.loads, Path(path).read_text(encoding="utf-8").splitlines())}
    if second.keys() != {e.id for e in examples}:
        raise ValueError(f"{path} does not label exactly the posts of the set")
    themes = _count([e.themes for e in examples], [set(second[e.id]["themes"]) for e in examples], THEME_IDS)
    leave = _leave_counts([e.leave_intent for e in examples], [bool(second[e.id]["leave_intent"]) for e in examples])
    return themes, leave


def _count(gold: list[frozenset[str]], pred: list[set[str]], labels: Sequence[str]) -> PRF:
    tp = fp = fn = 0
    for g, p in zip(gold, pred, strict=True):
        g, p = g & set(labels), p & set(labels)
        tp += len(g & p)
        fp += len(p - g)
        fn += len(g - p)
    return PRF(tp, fp, fn)


def _leave_counts(gold: list[bool], pred: list[bool]) -> PRF:
    return PRF(sum(g and p for g, p in zip(gold, pred, strict=True)),
               sum(p and not g for g, p in zip(gold, pred, strict=True)),
               sum(g and not p for g, p in zip(gold, pred, strict=True)))


def score(examples: Sequence[Example], results: Sequence[ThemeResult]) -> EvalReport:
    gold = [e.themes for e in examples]
    pred = [set(r.themes) for r in results]
    per_theme = {t: _count(gold, pred, [t]) for t in THEME_IDS}
    leave = _leave_counts([e.leave_intent for e in examples], [r.leave_intent for r in results])
    by_lang = {}
    for lang in sorted({e.lang for e in examples}):
        idx = [i for i, e in enumerate(examples) if e.lang == lang]
        by_lang[lang] = (_count([gold[i] for i in idx], [pred[i] for i in idx], THEME_IDS),
                         _leave_counts([examples[i].leave_intent for i in idx], [results[i].leave_intent for i in idx]))
    errors = [(e, r) for e, r in zip(examples, results, strict=True)
              if set(r.themes) != set(e.themes) or r.leave_intent != e.leave_intent]
    return EvalReport(len(examples), _count(gold, pred, THEME_IDS), per_theme, leave, by_lang, errors)


def evaluate(examples: Sequence[Example], analyzer: ThemeAnalyzer | None = None,
             langs: Sequence[str | None] | None = None) -> EvalReport:
    """Run the analyzer on ``examples`` (with their labelled language unless ``langs`` is given)."""
    analyzer = analyzer or get_analyzer()
    results = analyzer.analyse([e.text for e in examples], langs or [e.lang for e in examples])
    return score(examples, results)


def throughput(texts: Sequence[str], langs: Sequence[str], analyzer: ThemeAnalyzer | None = None,
               min_texts: int = 5000) -> float:
    """Texts per second of ``analyse`` on ``texts`` repeated to at least ``min_texts`` (warm pipelines)."""
    analyzer = analyzer or get_analyzer()
    analyzer.analyse(list(texts), list(langs))  # build pipelines and load lazy tables outside the timing
    reps = max(1, -(-min_texts // max(len(texts), 1)))
    big_texts, big_langs = list(texts) * reps, list(langs) * reps
    start = time.perf_counter()
    analyzer.analyse(big_texts, big_langs)
    return len(big_texts) / (time.perf_counter() - start)


def format_report(report: EvalReport, name: str) -> str:
    lines = [f"{name}: {report.n} posts",
             f"themes micro  P={report.theme_micro.precision:.3f} R={report.theme_micro.recall:.3f} "
             f"F1={report.theme_micro.f1:.3f}",
             f"leave intent  P={report.leave.precision:.3f} R={report.leave.recall:.3f} F1={report.leave.f1:.3f} "
             f"(support {report.leave.support})",
             "", f"{'theme':<20}{'P':>7}{'R':>7}{'F1':>7}{'support':>9}"]
    for tid, prf in report.per_theme.items():
        lines.append(f"{tid:<20}{prf.precision:>7.3f}{prf.recall:>7.3f}{prf.f1:>7.3f}{prf.support:>9}")
    lines.append("")
    for lang, (themes, leave) in report.by_lang.items():
        lines.append(f"[{lang}] themes micro-F1={themes.f1:.3f}  leave F1={leave.f1:.3f} (support {leave.support})")
    return "\n".join(lines)
