"""Head training is deterministic and reproduces the committed head; metrics are computed correctly."""

from __future__ import annotations

import json

import numpy as np
import pytest

from pipeline.nlp.evaluate import macro_f1, score
from pipeline.nlp.heads import (
    LinearHead,
    expected_calibration_error,
    fit_softmax_regression,
    fit_temperature,
    softmax,
)
from pipeline.nlp.transformer import DEFAULT_HEAD


def _blobs(seed: int = 0, n: int = 300, d: int = 8) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 3
    centres = rng.normal(size=(3, d)) * 2
    return centres[y] + rng.normal(size=(n, d)), y


def test_fit_is_deterministic_and_learns() -> None:
    x, y = _blobs()
    w1, b1 = fit_softmax_regression(x, y, l2=1.0)
    w2, b2 = fit_softmax_regression(x, y, l2=1.0)
    np.testing.assert_array_equal(w1, w2)
    np.testing.assert_array_equal(b1, b2)
    assert np.mean((x @ w1.T + b1).argmax(1) == y) > 0.9


def test_temperature_recovers_a_known_temperature() -> None:
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(4000, 3)) * 3
    y = np.array([rng.choice(3, p=p) for p in softmax(logits / 2.0)])
    assert fit_temperature(logits, y) == pytest.approx(2.0, rel=0.1)


def test_ece_of_calibrated_and_overconfident_predictions() -> None:
    rng = np.random.default_rng(2)
    conf = rng.uniform(0.5, 1.0, size=20000)
    correct = rng.uniform(size=conf.size) < conf
    assert expected_calibration_error(conf, correct) < 0.02
    assert expected_calibration_error(np.ones(100), np.zeros(100)) == pytest.approx(1.0)


def test_metrics_on_a_hand_checked_example() -> None:
    gold = np.array([0, 1, 2, 2])
    proba = np.array([[0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.1, 0.2, 0.7], [0.0, 1.0, 0.0]])
    m = score(proba, gold, three_class=True)
    assert m["accuracy"] == 0.75
    assert m["binary_accuracy"] == pytest.approx((1 + 1 + 0.5) / 3)  # p_pos == p_neg: a tie counts half
    assert m["macro_f1"] == pytest.approx(macro_f1(gold, proba.argmax(1)))
    assert macro_f1(np.array([0, 1, 2]), np.array([0, 1, 2])) == 1.0


def test_committed_head_is_complete() -> None:
    head = LinearHead.load(DEFAULT_HEAD)
    meta = json.loads(DEFAULT_HEAD.with_suffix(".json").read_text())
    layers = meta.get("layers", [12])
    assert all(1 <= k <= 12 for k in layers) and meta["check"].get("layers", [12]) == layers
    assert head.weight.shape == (3, 384 * len(layers)) and head.temperature > 0
    assert meta["labels"] == ["negative", "neutral", "positive"] and meta["npz_sha256"] == head.meta["npz_sha256"]
    assert set(head.meta["_check_arrays"]) == {"weight", "bias", "mean", "scale"}


@pytest.mark.slow
@pytest.mark.needs_shared
def test_training_reproduces_the_committed_head(e5_model_fp32) -> None:
    """Re-runs data selection (full pool, checked by fingerprint) and re-trains the check head from
    fresh fp32 embeddings (heads are trained in fp32); both must match what was committed with the head."""
    from pipeline.nlp import sentiment_data, train_head

    committed = LinearHead.load(DEFAULT_HEAD)
    try:
        labelled, lcc = train_head.training_pool(**train_head.RECIPES[committed.meta["recipe"]])
    except sentiment_data.SharedDataMissing as exc:
        pytest.fail(f"needs ../shared/data: {exc}")
    fp = committed.meta["fingerprints"]
    assert train_head.fingerprint([e.text for e in labelled], [e.label for e in labelled]) == fp["labelled"]
    assert train_head.fingerprint(lcc) == fp["lcc_unlabelled"]
    subset = train_head.check_subset()
    assert train_head.fingerprint([e.text for e in subset]) == fp["check_subset"]
    x = e5_model_fp32.encoder.embed([e.text for e in subset], layers=committed.meta.get("layers"))
    head = train_head.fit_check_head(x, np.array([e.label for e in subset]))
    ref = committed.meta["_check_arrays"]
    np.testing.assert_allclose(head.weight, ref["weight"], atol=2e-3 * np.abs(ref["weight"]).max())
    np.testing.assert_allclose(head.bias, ref["bias"], atol=2e-3 * np.abs(ref["bias"]).max() + 1e-4)
    ref_head = LinearHead(ref["weight"], ref["bias"], ref["mean"], ref["scale"])
    np.testing.assert_allclose(head.predict_proba(x), ref_head.predict_proba(x), atol=5e-3)


def test_every_workplace_post_round_has_a_sentiment_label_per_post() -> None:
    """Each theme-classifier posts file has its blind sentiment labels (one per post, valid label), and the
    round-1 slice the default head v3 trains on is unchanged by later rounds."""
    from collections import Counter

    from pipeline.nlp import sentiment_data as data

    first, everything = data.workplace_posts("1"), data.workplace_posts("1-4")
    assert len(first) == 900 and len(everything) == 3160
    assert everything[:900] == first
    assert {e.source for e in everything} == {"hr-posts-da", "hr-posts-en"}
    counts = Counter(e.label for e in everything)
    assert min(counts.values()) > 400  # every class is well represented
