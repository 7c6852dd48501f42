"""The fine-tuned leave-intent model (real committed file, real encoder) and how the hybrid uses it."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.config import REPO_ROOT
from pipeline.themes.evaluate import dataset_path, evaluate, load_examples
from pipeline.themes.leave_model import DEFAULT_LEAVE_MODEL, get_leave_model, leave_model_setting
from pipeline.themes.matcher import ThemeAnalyzer
from pipeline.themes.train_classifier import TEST_SETS

# Leave intent no trigger names (hinted, not said), and ordinary posts with leaving words or none.
HINTED = [("da", "Nogen der vil overtage min parkeringsplads fra næste måned? Jeg får ikke brug for den mere 😉"),
          ("en", "Anyone know if the pension follows you, or does it stay with the company? Asking for a friend 👀")]
ORDINARY = [("da", "Frokosten er flyttet til kl. 12 i dag pga. fællesmødet."),
            ("en", "The printer on the 2nd floor is out of toner again."),
            ("da", "Tillykke til [PERSON], der går på pension efter 40 år! 🎉")]


@pytest.fixture(scope="module")
def hybrid(e5_model) -> ThemeAnalyzer:  # noqa: ANN001 - the session's sentiment model (loads the encoder once)
    return ThemeAnalyzer(classifier="e5")


@pytest.mark.slow
def test_committed_model_metadata_and_scores() -> None:
    model = get_leave_model()
    assert model is not None and leave_model_setting() == "e5-lora"
    meta = model.head.meta
    assert meta["labels"] == ["not_leave_intent", "leave_intent"] and model.head.weight.shape[0] == 2
    files = meta["training"]["files"]
    assert "tests/data/themes/dev.jsonl" in files
    assert not {p.relative_to(REPO_ROOT).as_posix() for p in TEST_SETS} & set(files)
    assert 0.2 <= model.threshold <= 0.9 and meta["validation"]["at_threshold"]["f1"] >= 0.75
    p = model.predict([t for _, t in HINTED] + ["  "] + [t for _, t in ORDINARY])
    assert p.shape == (6,) and p[2] == 0.0
    assert np.all(p[:2] >= model.threshold), p
    assert np.all(p[3:] < model.threshold), p


@pytest.mark.slow
def test_check_run_reproduces_the_committed_record() -> None:
    """Re-runs the seeded check fine-tune (a few steps from a fresh fp32 encoder on the recorded training
    files) and compares the logits with the ones recorded when the model was trained."""
    from pathlib import Path

    from pipeline.nlp.e5_convert import build
    from pipeline.nlp.heads import LinearHead
    from pipeline.themes import train_leave
    from pipeline.themes.train_classifier import load_training

    meta = LinearHead.load(DEFAULT_LEAVE_MODEL).meta
    check = meta["check"]
    assert tuple(check["texts"]) == train_leave.CHECK_TEXTS and check["steps"] == train_leave.CHECK_STEPS
    examples, _ = load_training([REPO_ROOT / Path(f) for f in meta["training"]["files"]])
    texts, labels = train_leave.check_subset(examples)
    logits = train_leave.check_run(build(), texts, labels)
    np.testing.assert_allclose(logits, np.array(check["logits"]), atol=2e-3 * np.abs(check["logits"]).max() + 1e-3)


@pytest.mark.slow
@pytest.mark.parametrize(("lang", "text"), HINTED, ids=[lg for lg, _ in HINTED])
def test_hybrid_flags_hinted_leave_intent_with_the_models_evidence(hybrid: ThemeAnalyzer, lang: str, text: str) -> None:
    off = ThemeAnalyzer(classifier="off").analyse_one(text, lang)
    assert not off.leave_intent  # no trigger names it
    result = hybrid.analyse_one(text, lang)
    assert result.leave_intent and "retention" in result.themes  # leave intent implies the theme
    evidence = [s for s in result.leave_signals if s.counts]
    assert evidence and all(s.mode == "classifier" for s in evidence)
    if any(s.trigger == "leave_model" for s in evidence):
        assert "leave model p=" in evidence[0].reason and "(whole post)" in evidence[0].reason


@pytest.mark.slow
def test_explain_names_the_leave_model(hybrid: ThemeAnalyzer, themes_cli,  # noqa: ANN001
                                      capsys: pytest.CaptureFixture[str]) -> None:
    assert themes_cli("explain", HINTED[0][1], "--lang", "da", "--classifier", "e5") == 0
    out = capsys.readouterr().out
    assert "leave_intent: 1" in out and "retention" in out
    assert "leave intent: leave model p=" in out and "(whole post)" in out


@pytest.mark.slow
def test_second_challenge_set_floor_and_second_annotator(hybrid: ThemeAnalyzer) -> None:
    """The second blind set (tests/data/themes/README.md): 595 posts two session-12 writers wrote from the
    definitions alone after every model before it, 90 with leave intent (about half hinted), labelled again
    blind (leave intent identical, themes micro-F1 0.93). Floors against regressions, below the measured
    figures (see the README)."""
    from pipeline.themes.evaluate import DATA_DIR, second_annotator_agreement

    examples = load_examples(dataset_path("challenge-2"))
    themes, leave = second_annotator_agreement(examples, DATA_DIR / "challenge_2_second_annotator.jsonl")
    assert len(examples) == 595 and sum(e.leave_intent for e in examples) == 90
    assert leave.fp == leave.fn == 0 and themes.f1 >= 0.92
    report = evaluate(examples, hybrid)
    assert report.theme_micro.f1 >= 0.73, report.theme_micro  # measured 0.750
    assert report.leave.f1 >= 0.82 and report.leave.precision >= 0.75, report.leave  # measured 0.854 (P 0.80, R 0.91)


def test_third_challenge_set_floor_and_second_annotator(hybrid: ThemeAnalyzer) -> None:
    """The newest blind set (tests/data/themes/README.md): 598 posts two session-13 writers wrote from the
    definitions alone before that session's models were trained, 90 with leave intent (46 hinted), labelled
    again blind (leave intent identical, themes micro-F1 0.89). Measured with the shipped models: themes
    0.729, leave intent 0.806 (P 0.72, R 0.92; rules + theme head alone 0.467). Floors against regressions."""
    from pipeline.themes.evaluate import DATA_DIR, second_annotator_agreement

    examples = load_examples(dataset_path("challenge-3"))
    themes, leave = second_annotator_agreement(examples, DATA_DIR / "challenge_3_second_annotator.jsonl")
    assert len(examples) == 598 and sum(e.leave_intent for e in examples) == 90
    assert leave.fp == leave.fn == 0 and themes.f1 >= 0.88
    report = evaluate(examples, hybrid)
    assert report.theme_micro.f1 >= 0.70, report.theme_micro
    assert report.leave.f1 >= 0.77 and report.leave.recall >= 0.85 and report.leave.precision >= 0.66, report.leave


def test_setting_switches_the_model_off(monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline.themes.classifier import classifier_version, head_sha256
    from pipeline.themes.leave_model import leave_model_sha256

    monkeypatch.setenv("STEMNING_LEAVE_MODEL", "off")
    assert leave_model_setting() == "off" and classifier_version() == f"themes-e5-{head_sha256()[:10]}"
    assert get_leave_model() is None
    monkeypatch.setenv("STEMNING_LEAVE_MODEL", "e5-lora")
    assert classifier_version() == f"themes-e5-{head_sha256()[:10]}+leave-{leave_model_sha256()[:10]}"
    monkeypatch.setenv("STEMNING_LEAVE_MODEL", "bert")
    with pytest.raises(ValueError, match="e5-lora, off"):
        leave_model_setting()


def test_best_threshold_by_hand() -> None:
    from pipeline.themes.train_leave import best_threshold

    p, y = np.array([0.9, 0.6, 0.3, 0.1]), np.array([True, True, False, False])
    t, scores = best_threshold(p, y)
    assert t == 0.6 and scores == {"precision": 1.0, "recall": 1.0, "f1": 1.0, "tp": 2, "fp": 0, "fn": 0}  # ties: higher
    t, scores = best_threshold(np.array([0.95, 0.25, 0.5]), np.array([True, True, False]))
    assert t == 0.25 and (scores["tp"], scores["fp"], scores["fn"]) == (2, 1, 0) and scores["f1"] == 0.8
