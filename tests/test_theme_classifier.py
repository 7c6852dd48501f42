"""The learned theme classifier and the hybrid (term matcher + classifier): real encoder, real committed head."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from pipeline.config import REPO_ROOT
from pipeline.themes.classifier import (
    DEFAULT_THEME_HEAD,
    CharTfidf,
    ThemeClassifier,
    ThemeHead,
    char_ngrams,
    classifier_version,
    get_classifier,
)
from pipeline.themes.evaluate import DATA_DIR, dataset_path, evaluate, load_examples
from pipeline.themes.matcher import ThemeAnalyzer
from pipeline.themes.taxonomy import THEME_IDS
from pipeline.themes.train_classifier import TEST_SETS, load_training, train

IMPLICIT_WORKLOAD = [
    ("en", "Haven't had a weekend off since August."),
    ("da", "Vi er tre mand til at løse det, der plejede at være seks menneskers arbejde."),
]


@pytest.fixture(scope="module")
def hybrid(e5_model) -> ThemeAnalyzer:  # noqa: ANN001 - the session's sentiment model (loads the encoder once)
    return ThemeAnalyzer(classifier="e5")


@pytest.fixture(scope="module")
def matcher_only() -> ThemeAnalyzer:
    return ThemeAnalyzer(classifier="off")


def test_classifier_reuses_the_sentiment_models_encoder(hybrid: ThemeAnalyzer, e5_model) -> None:  # noqa: ANN001
    clf = get_classifier()
    assert clf.encoder is e5_model.encoder  # one encoder per process
    proba = clf.predict_proba(["Lønnen er for lav.", "   ", "The VPN drops every hour."])
    assert proba.shape == (3, len(THEME_IDS)) and np.all(proba[1] == 0)
    assert proba[0, THEME_IDS.index("pay")] > 0.5 and proba[2, THEME_IDS.index("tools")] > 0.5


@pytest.mark.parametrize(("lang", "text"), IMPLICIT_WORKLOAD, ids=[lg for lg, _ in IMPLICIT_WORKLOAD])
def test_implicit_workload_comes_from_the_classifier(hybrid: ThemeAnalyzer, matcher_only: ThemeAnalyzer,
                                                     lang: str, text: str) -> None:
    assert "workload" not in matcher_only.analyse_one(text, lang).themes  # no term names it
    result = hybrid.analyse_one(text, lang)
    assert "workload" in result.themes and "workload" in result.sentences[0].themes
    evidence = [m for m in result.matches if m.theme == "workload"]
    assert evidence and all(m.rule == "classifier" and m.p is not None and m.p >= 0.5 for m in evidence)


def test_hybrid_meets_the_theme_target_on_the_held_out_independent_set(hybrid: ThemeAnalyzer,
                                                                     matcher_only: ThemeAnalyzer) -> None:
    """Issue 5's target (theme micro-F1 >= 0.75 on realistic posts) on the set another session wrote and a
    third labelled, which no head has trained on (measured 0.776 with bf16; the matcher alone 0.656). Its posts
    hold no leave intent, and the hybrid flags none."""
    held = load_examples(dataset_path("independent"))
    report = evaluate(held, hybrid)
    assert report.theme_micro.f1 >= 0.75, report.theme_micro
    assert report.theme_micro.f1 > evaluate(held, matcher_only).theme_micro.f1 + 0.08
    assert report.leave.fp == 0


def test_off_is_exactly_the_term_matcher(hybrid: ThemeAnalyzer, matcher_only: ThemeAnalyzer) -> None:
    examples = [json.loads(line) for line in (DATA_DIR / "dev.jsonl").read_text(encoding="utf-8").splitlines()[:40]]
    texts, langs = [e["text"] for e in examples], [e["lang"] for e in examples]
    off, on = matcher_only.analyse(texts, langs), hybrid.analyse(texts, langs)
    assert not any(m.rule == "classifier" for r in off for m in r.matches)
    assert any(m.rule == "classifier" for r in on for m in r.matches)
    veto = get_classifier().veto
    for a, b in zip(off, on, strict=True):
        # The rules' leave signals are the same; the hybrid may only veto one or add a classifier signal.
        rules_b = [s for s in b.leave_signals if s.mode != "classifier"]
        assert len(rules_b) == len(a.leave_signals)
        for rule, hybrid_signal in zip(a.leave_signals, rules_b, strict=True):
            assert hybrid_signal == rule or (hybrid_signal.vetoed_by == "classifier" and not hybrid_signal.counts
                                             and replace(hybrid_signal, counts=True, vetoed_by=None, reason="")
                                             == replace(rule, vetoed_by=None, reason=""))
        assert b.leave_intent == any(s.counts for s in b.leave_signals)
        assert [(s.start_char, s.end_char) for s in a.sentences] == [(s.start_char, s.end_char) for s in b.sentences]
        if veto == 0:
            assert [m for m in b.matches if m.rule != "classifier"] == a.matches
            assert set(a.themes) <= set(b.themes)


@pytest.mark.parametrize(("lang", "text", "rules", "hybrid_flag"), [
    ("da", "Jeg er begyndt at søge andre stillinger, det her holder ikke.", False, True),  # no trigger names it
    ("en", "Our job ads are so long that nobody reads them.", True, False),  # 'job ads': the rules' false flag
    ("en", "I'm not leaving, I love this team.", False, False),  # negation stays the rules' call
])
def test_leave_intent_hybrid(hybrid: ThemeAnalyzer, matcher_only: ThemeAnalyzer, lang: str, text: str,
                             rules: bool, hybrid_flag: bool) -> None:
    """The head's leave unit adds leave intent no trigger names and vetoes an implausible trigger hit; each
    verdict carries its reason (shown by `stemning themes explain`)."""
    unit = get_classifier().head.leave
    assert unit is not None
    assert matcher_only.analyse_one(text, lang).leave_intent is rules
    result = hybrid.analyse_one(text, lang)
    assert result.leave_intent is hybrid_flag
    if rules and not hybrid_flag:
        assert any(s.vetoed_by == "classifier" and "classifier p=" in s.reason for s in result.leave_signals)
    if hybrid_flag and not rules:
        added = [s for s in result.leave_signals if s.mode == "classifier"]
        assert len(added) == 1 and added[0].counts and result.sentences[added[0].sentence].leave_intent


def test_setting_selects_the_classifier(monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline.nlp.themes_run import taxonomy_version

    monkeypatch.setenv("STEMNING_THEME_CLASSIFIER", "off")
    assert ThemeAnalyzer().classifier == "off" and taxonomy_version().endswith("+off")
    monkeypatch.setenv("STEMNING_THEME_CLASSIFIER", "e5")
    monkeypatch.setenv("STEMNING_LEAVE_MODEL", "off")  # its suffix: tests/test_leave_model.py
    head = ThemeHead.load(DEFAULT_THEME_HEAD)
    assert ThemeAnalyzer().classifier == "e5" and classifier_version() == f"themes-e5-{head.sha256[:10]}"
    assert taxonomy_version().endswith(f"+themes-e5-{head.sha256[:10]}")
    with pytest.raises(ValueError, match="e5, off"):
        ThemeAnalyzer(classifier="bert")


def test_explain_shows_classifier_evidence(hybrid: ThemeAnalyzer, themes_cli,  # noqa: ANN001
                                           capsys: pytest.CaptureFixture[str]) -> None:
    assert themes_cli("explain", IMPLICIT_WORKLOAD[0][1], "--lang", "en", "--classifier", "e5") == 0
    out = capsys.readouterr().out
    assert "workload" in out and "classifier p=" in out


def test_head_metadata_records_how_it_was_trained() -> None:
    head = ThemeHead.load(DEFAULT_THEME_HEAD)
    assert head.weight.shape == (len(THEME_IDS), 384 * len(head.layers)) and head.thresholds.shape == (len(THEME_IDS),)
    if head.tfidf is not None:
        assert head.tfidf_weight is not None
        assert head.tfidf_weight.shape == (len(THEME_IDS), len(head.tfidf.vocabulary)) == (14, len(head.tfidf.idf))
        assert head.meta["features"] in {"char-tfidf", "e5+char-tfidf"}
    files = head.meta["training"]["files"]
    assert "tests/data/themes/dev.jsonl" in files
    assert not {p.relative_to(REPO_ROOT).as_posix() for p in TEST_SETS} & set(files)
    assert head.meta["cv"]["hybrid_micro_f1_nested"] > head.meta["cv"]["matcher_only_micro_f1"]
    assert head.leave is not None and head.leave.weight.shape == (384 * len(head.layers),)
    assert 0 <= head.leave.veto < head.leave.threshold < 1
    assert head.leave.tfidf_weight is None or head.leave.tfidf_weight.shape == (len(head.tfidf.vocabulary),)
    leave_cv = head.meta["leave"]["cv"]
    assert leave_cv["hybrid_f1_nested"] > leave_cv["rules_only_f1"]


def test_training_refuses_the_test_sets() -> None:
    held_out = {dataset_path(name) for name in ("eval", "independent", "challenge", "challenge-2", "challenge-3",
                                                "challenge-4")}
    assert held_out <= set(TEST_SETS)
    for path in TEST_SETS:
        with pytest.raises(ValueError, match="test set"):
            load_training([path])


def test_training_is_deterministic(e5_model, tmp_path: Path) -> None:  # noqa: ANN001
    subset = tmp_path / "subset.jsonl"
    subset.write_text("\n".join((DATA_DIR / "dev.jsonl").read_text(encoding="utf-8").splitlines()[:60]) + "\n",
                      encoding="utf-8")
    cache = tmp_path / "features.npz"
    quick = {"layer_sets": [(8, 12)], "l2_grid": [1000.0], "tfidf_families": [(True, 1536.0)], "progress": False}
    first = train(e5_model.encoder, [subset], cache=cache, **quick)
    second = train(e5_model.encoder, [subset], cache=cache, **quick)  # same features: same fit
    a, b = first.save(tmp_path / "a.npz"), second.save(tmp_path / "b.npz")
    assert a == b
    assert first.meta["training"]["posts"] == 60 and first.meta["cv"]["folds"] == 5

    assert set(first.meta["cv"]["best_per_feature_family"]) == {"e5", "e5+tfidf(w=1536)"}


def test_char_tfidf_featuriser() -> None:
    assert char_ngrams("Løn OK") == [" l", "lø", "øn", "n ", " lø", "løn", "øn ", " løn", "løn ", " løn ",
                                     " o", "ok", "k ", " ok", "ok ", " ok "]
    texts = ["Arbejdspres igen", "arbejdspres!", "højt pres"]
    tfidf = CharTfidf.fit(texts)
    assert tfidf.vocabulary == tuple(sorted(tfidf.vocabulary)) and CharTfidf.fit(texts).vocabulary == tfidf.vocabulary
    # n-grams in >= 2 of the 3 texts: those of "arbejdspres" before its last character, and "pres"'s
    assert {" arbe", "bejds", "dspre", "pres", "res"} <= set(tfidf.vocabulary)
    assert not {"igen", "høj", "res!", "s!"} & set(tfidf.vocabulary)  # in one text only
    idf = dict(zip(tfidf.vocabulary, tfidf.idf, strict=True))
    assert idf["res"] == pytest.approx(1.0) and idf[" arbe"] == pytest.approx(np.log(4 / 3) + 1)  # smooth idf
    x = tfidf.transform(["ARBEJDSPRES arbejdspres", "zzz", ""])
    assert x.shape == (3, len(tfidf.vocabulary)) and x[1:].nnz == 0  # unknown n-grams are ignored
    row = x[0].toarray().ravel()
    assert np.linalg.norm(row) == pytest.approx(1.0)
    j, k = tfidf.vocabulary.index(" arbe"), tfidf.vocabulary.index("res")
    assert row[j] / row[k] == pytest.approx(idf[" arbe"] / idf["res"])  # sublinear tf: equal counts, idf decides


def test_tfidf_head_round_trip_without_encoder(tmp_path: Path) -> None:
    texts = ["Arbejdspresset er for højt", "arbejdspres hele tiden", "Lønnen er lav", "lønnen stiger ikke"]
    tfidf = CharTfidf.fit(texts)
    weight = np.cos(np.arange(len(THEME_IDS) * len(tfidf.vocabulary))).reshape(len(THEME_IDS), -1)
    head = ThemeHead(np.zeros((len(THEME_IDS), 0)), np.linspace(-2, 0, len(THEME_IDS)), np.zeros(0), np.ones(0),
                     np.full(len(THEME_IDS), 0.5), {"layers": []}, tfidf, weight)
    digest = head.save(tmp_path / "h.npz")
    loaded = ThemeHead.load(tmp_path / "h.npz")
    assert loaded.tfidf is not None and loaded.tfidf.vocabulary == tfidf.vocabulary
    assert loaded.save(tmp_path / "again.npz") == digest  # byte-stable
    clf = ThemeClassifier(loaded, encoder=None)  # TF-IDF alone: no forward pass
    proba = clf.predict_proba(["Arbejdspres!", " ", "helt ukendt"])
    assert proba.shape == (3, len(THEME_IDS)) and np.all(proba[1] == 0)
    np.testing.assert_allclose(proba[0], head.predict_proba(None, ["Arbejdspres!"])[0], atol=1e-5)


def test_head_whose_leave_unit_reads_other_features_is_refused_at_load(tmp_path: Path) -> None:
    from pipeline.themes.classifier import LeaveUnit

    tfidf = CharTfidf.fit(["Arbejdspresset er for højt", "arbejdspres hele tiden", "Lønnen er lav"])
    weight = np.ones((len(THEME_IDS), len(tfidf.vocabulary)))
    head = ThemeHead(np.zeros((len(THEME_IDS), 0)), np.zeros(len(THEME_IDS)), np.zeros(0), np.ones(0),
                     np.full(len(THEME_IDS), 0.5), {"layers": []}, tfidf, weight,
                     LeaveUnit(np.zeros(0), 0.0, np.ones(len(tfidf.vocabulary)), threshold=0.5, veto=0.02))
    head.save(tmp_path / "h.npz")
    assert ThemeHead.load(tmp_path / "h.npz").leave is not None
    with np.load(tmp_path / "h.npz") as z:  # the same file without the leave unit's n-gram weights
        arrays = {k: z[k] for k in z.files if k != "leave_tfidf_weight"}
    np.savez(tmp_path / "h.npz", **arrays)
    with pytest.raises(ValueError, match="leave unit must read the same features"):
        ThemeHead.load(tmp_path / "h.npz")


def test_classifier_leave_decision_rules(matcher_only: ThemeAnalyzer) -> None:
    """The hybrid's leave decision on the matcher's real output, with a hand-set leave unit: veto below 0.05;
    the classifier adds leave intent at p >= 0.55 only where the post has the retention theme and the rules
    negated no trigger in it."""
    from pipeline.themes.classifier import LeaveUnit
    from pipeline.themes.matcher import _classifier_leave

    unit = LeaveUnit(np.zeros(1), 0.0, None, threshold=0.55, veto=0.05)
    quit_sugar = matcher_only.analyse_one("I quit sugar this month.", "en")
    assert quit_sugar.leave_intent
    vetoed = _classifier_leave("I quit sugar this month.", quit_sugar, list(quit_sugar.leave_signals),
                               np.array([0.01]), unit, has_retention=True)
    assert not any(s.counts for s in vetoed) and vetoed[0].vetoed_by == "classifier"
    kept = _classifier_leave("I quit sugar this month.", quit_sugar, list(quit_sugar.leave_signals),
                             np.array([0.2]), unit, has_retention=True)
    assert kept == quit_sugar.leave_signals

    text = "Jeg er begyndt at søge andre stillinger. Lang uge."  # no trigger names it
    plain = matcher_only.analyse_one(text, "da")
    p = np.array([0.9, 0.1])
    assert len(plain.sentences) == 2 and not plain.leave_intent
    assert _classifier_leave(text, plain, [], p, unit, has_retention=False) == []
    added = _classifier_leave(text, plain, [], p, unit, has_retention=True)
    assert len(added) == 1 and added[0].counts and added[0].sentence == 0 and added[0].mode == "classifier"
    assert added[0].text == "Jeg er begyndt at søge andre stillinger."

    negated_text = "I'm not leaving."
    negated = matcher_only.analyse_one(negated_text, "en")
    assert negated.leave_signals and negated.leave_signals[0].negated_by
    assert not any(s.counts for s in _classifier_leave(negated_text, negated, list(negated.leave_signals),
                                                       np.array([0.99]), unit, has_retention=True))

    # The fine-tuned leave model (whole post p, threshold): adds without the retention theme, overrules a
    # veto, never a negation.
    by_model = _classifier_leave(text, plain, [], np.array([0.1, 0.1]), unit, has_retention=False,
                                 whole_post=(0.8, 0.45))
    assert len(by_model) == 1 and by_model[0].counts and by_model[0].trigger == "leave_model"
    assert by_model[0].reason == "leave intent: leave model p=0.800 >= 0.45 (whole post)"
    assert _classifier_leave(text, plain, [], p, unit, has_retention=False, whole_post=(0.3, 0.45)) == []
    assert _classifier_leave("I quit sugar this month.", quit_sugar, list(quit_sugar.leave_signals),
                             np.array([0.01]), unit, has_retention=True, whole_post=(0.9, 0.45)) == quit_sugar.leave_signals
    assert not any(s.counts for s in _classifier_leave(negated_text, negated, list(negated.leave_signals),
                                                       np.array([0.99]), unit, has_retention=True,
                                                       whole_post=(0.99, 0.45)))
