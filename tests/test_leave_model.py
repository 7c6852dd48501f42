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


# The four blind challenge sets (tests/data/themes/README.md): ~600 posts each by two writers who saw only the
# definitions, guidelines and leave convention; 90 with leave intent (about half hinted), 90 look-alikes;
# labelled again blind by two more sessions (leave intent identical on every set). Columns: posts, second
# annotator's theme agreement floor, then floors for the shipped hybrid (theme micro-F1, leave F1, leave
# precision, leave recall), a few points below what session 14 measured (in the comment; see the README).
CHALLENGE_FLOORS = {
    "challenge": (597, 0.90, 0.72, 0.77, 0.78, 0.74),  # themes 0.747, leave 0.811 (P 0.835, R 0.789)
    "challenge-2": (595, 0.92, 0.73, 0.83, 0.77, 0.85),  # themes 0.751, leave 0.868 (P 0.828, R 0.911)
    "challenge-3": (598, 0.88, 0.70, 0.79, 0.70, 0.85),  # themes 0.732, leave 0.830 (P 0.755, R 0.922)
    "challenge-4": (599, 0.94, 0.73, 0.85, 0.79, 0.87),  # themes 0.757, leave 0.889 (P 0.848, R 0.933)
}


@pytest.mark.slow
@pytest.mark.parametrize("name", list(CHALLENGE_FLOORS))
def test_challenge_set_floors_and_second_annotator(hybrid: ThemeAnalyzer, name: str) -> None:
    from pipeline.themes.evaluate import second_annotator_agreement

    posts, agreement, theme_f1, leave_f1, leave_precision, leave_recall = CHALLENGE_FLOORS[name]
    path = dataset_path(name)
    examples = load_examples(path)
    themes, leave = second_annotator_agreement(examples, path.with_name(f"{path.stem}_second_annotator.jsonl"))
    assert len(examples) == posts and sum(e.leave_intent for e in examples) == 90
    assert leave.fp == leave.fn == 0 and themes.f1 >= agreement
    report = evaluate(examples, hybrid)
    assert report.theme_micro.f1 >= theme_f1, report.theme_micro
    assert report.leave.f1 >= leave_f1, report.leave
    assert report.leave.precision >= leave_precision and report.leave.recall >= leave_recall, report.leave


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


def test_look_alike_weights_single_out_retention_posts_without_leave_intent() -> None:
    from pipeline.themes.evaluate import Example
    from pipeline.themes.train_leave import look_alike_weights

    examples = [Example("1", "en", "I handed in my notice", frozenset({"retention"}), True),
                Example("2", "en", "[PERSON] handed in her notice", frozenset({"retention"}), False),
                Example("3", "en", "Off on parental leave from May", frozenset({"work_life_balance"}), False)]
    assert look_alike_weights(examples, 3.0).tolist() == [1.0, 3.0, 1.0]
    assert look_alike_weights(examples, 1.0).tolist() == [1.0, 1.0, 1.0]
