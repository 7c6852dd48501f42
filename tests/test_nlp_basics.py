"""Language ID, the lexicon baseline behind the model interface, and the spaCy sentiment component."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.nlp.base import Sentiment, available_models, get_model, labels_from_proba, scores_from_proba
from pipeline.nlp.langid import detect_languages
from pipeline.nlp.spacy_component import build_nlp


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Tak for en rigtig god introduktionsdag i går!", "da"),
        ("Hej [PERSON], kan du sende rapporten inden fredag?", "da"),  # placeholders ignored
        ("Tak!", "da"),  # lingua says Norwegian; in a Danish workplace that is Danish
        ("Thanks everyone for the great onboarding session yesterday", "en"),
        ("Jag tycker att det är bra och vi ska fortsätta arbeta så här", "other"),  # confident Swedish: flagged
        ("🎉🎉 :tada:", "other"),
        ("https://intranet.example/x", "other"),
    ],
)
def test_language_id(text, expected):
    assert detect_languages([text])[0][0] == expected


def test_lexicon_model_probabilities_and_labels():
    model = get_model("afinn-lexicon")
    proba = model.predict_proba(
        ["Det er en fantastisk god dag", "This is a terrible, awful place", "Mødet er flyttet til kl 14"], ["da", "en", "da"]
    )
    assert proba.shape == (3, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert labels_from_proba(proba) == ["positive", "negative", "neutral"]
    scores = scores_from_proba(proba)
    assert scores[0] > 0.5 and scores[1] < -0.5 and scores[2] == 0
    # The label is the sign of the AFINN sum, however small: "god" is +3, "cool" +1.
    mild = model.predict_proba(["Det var en god dag", "That is cool"], ["da", "en"])
    assert labels_from_proba(mild) == ["positive", "positive"]
    np.testing.assert_allclose(mild[0], [0.0, 0.5 - 0.5 * np.tanh(1.0), 0.5 + 0.5 * np.tanh(1.0)])
    np.testing.assert_allclose(mild[1], [0.0, 0.5 - 0.5 * np.tanh(1 / 3), 0.5 + 0.5 * np.tanh(1 / 3)])


def test_registry_lists_models_and_rejects_unknown():
    assert "afinn-lexicon" in available_models()
    with pytest.raises(KeyError, match="unknown sentiment model 'nope'"):
        get_model("nope")


def test_spacy_component_gives_doc_and_sentence_sentiment():
    nlp = build_nlp("da", "afinn-lexicon")
    assert "stemning_sentiment" in nlp.pipe_names
    doc = nlp("Kollegerne er fantastiske. Men ledelsen er elendig og arbejdspresset er forfærdeligt.")
    sents = list(doc.sents)
    assert len(sents) == 2
    assert sents[0]._.sentiment.label == "positive"
    assert sents[1]._.sentiment.label == "negative"
    assert isinstance(doc._.sentiment, Sentiment)
    single = nlp("Det var en god dag")
    # A one-sentence doc reuses its sentence score (no second model call).
    assert single._.sentiment == next(iter(single.sents))._.sentiment
