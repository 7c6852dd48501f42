"""The transformer sentiment backend on the real rebuilt e5 model: interface, labels, batching,
chunking of long texts, mixed languages, versioning, and the spaCy component."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pipeline.config import get_settings
from pipeline.nlp.base import SentimentModel, available_models, labels_from_proba, scores_from_proba

pytestmark = pytest.mark.slow


def test_importing_the_backend_does_not_import_torch() -> None:
    code = "import sys, pipeline.nlp.transformer; print('torch' in sys.modules, 'transformers' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_default_model_is_registered() -> None:
    models = available_models()
    assert get_settings().sentiment_model in models
    assert {"e5-small-sentiment", "e5-small-sentiment-fp32", "e5-small-sentiment-int8", "e5-small-sentiment-ft",
            "e5-small-hub-sentiment", "afinn-lexicon"} <= set(models)


def test_interface_and_label_mapping(e5_model) -> None:
    texts = [
        "Jeg elsker mit job, mine kolleger er fantastiske!",
        "Det her er den værste arbejdsplads, jeg nogensinde har haft.",
        "I absolutely love the new flexible working policy.",
        "My manager is rude and the pay is terrible.",
        "Personalemødet starter kl. 14 i kantinen på fjerde sal.",
    ]
    assert isinstance(e5_model, SentimentModel) and e5_model.languages is None
    proba = e5_model.predict_proba(texts)
    assert proba.shape == (5, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)
    assert labels_from_proba(proba) == ["positive", "negative", "positive", "negative", "neutral"]
    scores = scores_from_proba(proba)
    assert scores[0] > 0.5 and scores[1] < -0.5 and abs(scores[4]) < 0.5


def batch_tolerance(model) -> float:
    """Padding changes the kernels' blocking, hence rounding: ~1e-5 in fp32, ~3e-3 with bf16 weights."""
    return 2e-4 if model.encoder.precision == "fp32" else 1e-2


def test_batching_and_length_sorting_do_not_change_scores(e5_model) -> None:
    texts = ["Kort.", "A somewhat longer sentence about the quarterly budget meeting next week.",
             "Mellemlang sætning om kantinen.", "ok", "Vi er glade for den nye leder, hun lytter til os alle."]
    batched = e5_model.predict_proba(texts)
    one_by_one = np.vstack([e5_model.predict_proba([t]) for t in texts])
    np.testing.assert_allclose(batched, one_by_one, atol=batch_tolerance(e5_model))
    reversed_order = e5_model.predict_proba(texts[::-1])[::-1]
    np.testing.assert_allclose(batched, reversed_order, atol=batch_tolerance(e5_model))
    assert labels_from_proba(batched) == labels_from_proba(one_by_one)


def test_long_texts_are_chunked_at_sentences_and_nothing_is_dropped(e5_model, e5_encoder) -> None:
    sentence = "Arbejdsmiljøet i afdelingen er blevet meget bedre efter omstruktureringen sidste år. "
    long_text = sentence * 60  # ~1,000 tokens: two or more windows
    chunks = e5_encoder.chunk([long_text, "Kort tekst."])
    owned = chunks.owner == 0
    assert owned.sum() >= 2 and (chunks.owner == 1).sum() == 1
    assert max(len(ids) for ids in chunks.ids) <= e5_encoder.max_tokens
    full = e5_encoder.tokenizer(long_text.strip(), add_special_tokens=False)["input_ids"]
    assert chunks.weight[owned].sum() == len(full)  # every token of the text is scored once
    # The text's probability is the length-weighted mean of its chunks' probabilities.
    per_chunk = e5_model.head.predict_proba(e5_encoder.embed_chunks(chunks, layers=e5_model.layers))
    expected = np.average(per_chunk[owned], axis=0, weights=chunks.weight[owned])
    np.testing.assert_allclose(e5_model.predict_proba([long_text])[0], expected, atol=2e-4)


def test_fast_tokenizer_gives_the_same_ids_as_auto_tokenizer(e5_encoder) -> None:
    from transformers import AutoTokenizer

    reference = AutoTokenizer.from_pretrained(e5_encoder.source, local_files_only=True)
    texts = ["Jeg elsker mit job, mine kolleger er fantastiske!", "query: two  spaces and trailing  ",
             "\t\n tabs\u00a0and nbsp ", "ﬁ ＡＢＣ ① ½", "😀 emoji", "zero\u200bwidth", "", " ", "ÆØÅ æøå",
             "Ich liebe meine Arbeit.", "My manager is rude... and the pay is terrible!!!"]
    got = e5_encoder.tokenizer(texts, add_special_tokens=False)["input_ids"]
    assert got == reference(texts, add_special_tokens=False)["input_ids"]
    assert (e5_encoder.bos, e5_encoder.eos, e5_encoder.pad) == (reference.bos_token_id, reference.eos_token_id,
                                                                 reference.pad_token_id)
    assert e5_encoder.tokenizer.decode(got[0]) == reference.decode(got[0])


def test_layer_features_are_per_layer_normalised_pools(e5_encoder) -> None:
    texts = ["Kantinen er lukket i dag.", "I love this team."]
    last = e5_encoder.embed(texts)
    both = e5_encoder.embed(texts, layers=(10, 12))
    assert both.shape == (2, 768)
    np.testing.assert_allclose(both[:, 384:], last, atol=1e-5)  # hidden state 12 = last_hidden_state
    np.testing.assert_allclose(np.linalg.norm(both[:, :384], axis=1), 1.0, atol=1e-5)
    assert not np.allclose(both[:, :384], last, atol=1e-2)


def test_one_overlong_sentence_is_split_into_windows(e5_encoder) -> None:
    run_on = " ".join(["medarbejder"] * 700)  # no sentence boundary at all
    chunks = e5_encoder.chunk([run_on])
    assert len(chunks.ids) >= 2 and max(len(ids) for ids in chunks.ids) <= e5_encoder.max_tokens
    assert chunks.weight.sum() == len(e5_encoder.tokenizer(run_on, add_special_tokens=False)["input_ids"])


def test_mixed_language_batch_scores_every_language(e5_model) -> None:
    texts = ["Jeg er glad for min nye arbejdsplads.", "I hate the endless meetings.",
             "Ich liebe meine Arbeit.", "Jag är mycket nöjd med mitt team.", "", "😀"]
    langs = ["da", "en", "other", "sv", "da", "other"]
    mixed = e5_model.predict_proba(texts, langs)
    assert mixed.shape == (6, 3) and np.isfinite(mixed).all()
    np.testing.assert_allclose(mixed[:2], e5_model.predict_proba(texts[:2]), atol=batch_tolerance(e5_model))
    assert labels_from_proba(mixed[:4]) == ["positive", "negative", "positive", "positive"]
    assert e5_model.predict_proba([]).shape == (0, 3)


def test_model_version_tracks_weights_and_head(e5_model, tmp_path: Path) -> None:
    from pipeline.nlp.heads import LinearHead
    from pipeline.nlp.transformer import DEFAULT_HEAD, E5SentimentModel

    head = LinearHead.load(DEFAULT_HEAD)
    assert e5_model.model_version.startswith("e5s1-")
    assert head.meta["npz_sha256"][:10] in e5_model.model_version
    changed = LinearHead.load(DEFAULT_HEAD)
    changed.bias = changed.bias + 0.1
    shutil.copyfile(DEFAULT_HEAD.with_suffix(".json"), tmp_path / "h.json")
    changed.meta = {k: v for k, v in changed.meta.items() if k != "_check_arrays"}
    changed.save(tmp_path / "h.npz")
    other = E5SentimentModel("e5-small-sentiment", e5_model.encoder, LinearHead.load(tmp_path / "h.npz"),
                             e5_model.model_version.split("+")[0])
    assert other.model_version != e5_model.model_version


def test_spacy_component_gives_doc_and_sentence_sentiment(e5_model) -> None:
    from pipeline.nlp.spacy_component import build_nlp

    nlp = build_nlp("da", "e5-small-sentiment")
    doc = nlp("Kantinen er fantastisk. Men parkeringen er en katastrofe.")
    sents = list(doc.sents)
    assert len(sents) == 2
    assert sents[0]._.sentiment.label == "positive" and sents[1]._.sentiment.label == "negative"
    assert doc._.sentiment is not None


def test_precision_setting_resolves_and_rejects_unknown_values(monkeypatch) -> None:
    from pipeline.nlp.transformer import native_bf16, resolve_precision

    assert resolve_precision("fp32") == "fp32" and resolve_precision("bf16") == "bf16"
    assert resolve_precision("auto") == ("bf16" if native_bf16() else "fp32")
    with pytest.raises(ValueError, match="auto, fp32 or bf16"):
        resolve_precision("fp16")
    monkeypatch.setenv("STEMNING_PRECISION", "fp8")
    with pytest.raises(ValueError, match="STEMNING_PRECISION"):
        get_settings()


def test_bf16_and_fp32_agree_and_are_versioned_apart(e5_model, e5_model_fp32) -> None:
    """bf16 weights must give the same labels (held-out accuracy was identical) and a different model
    version, so cached fp32 scores are never mixed with bf16 ones."""
    from pipeline.nlp.transformer import E5SentimentModel

    assert e5_model_fp32.encoder.precision == "fp32"
    bf16 = e5_model if e5_model.encoder.precision == "bf16" else E5SentimentModel.from_pretrained(
        "e5-small-sentiment", e5_model.encoder.source, precision="bf16")
    assert bf16.encoder.precision == "bf16"
    texts = ["Jeg elsker mit job.", "Ledelsen lytter aldrig til os.", "Mødet flyttes til torsdag kl. 10.",
             "Great colleagues and a fair bonus.", "The new laptop policy is a disaster."]
    p_bf16, p_fp32 = bf16.predict_proba(texts), e5_model_fp32.predict_proba(texts)
    assert labels_from_proba(p_bf16) == labels_from_proba(p_fp32)
    np.testing.assert_allclose(p_bf16, p_fp32, atol=0.05)
    assert bf16.model_version == e5_model_fp32.model_version + "+bf16"
