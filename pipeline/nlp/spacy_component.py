"""The sentiment model as a registered spaCy component.

``build_nlp("da")`` returns ``spacy.blank("da")`` + sentencizer + ``stemning_sentiment``; the model is
chosen by config (``model_id``), so swapping the lexicon baseline for a transformer is a config change.
Results: ``doc._.sentiment`` and, for each sentence, ``span._.sentiment`` (both ``Sentiment``).

The component batches in ``pipe``: all sentences of a batch of docs go to the model in one call.
A one-sentence doc reuses its sentence score as the doc score (no second model call); a longer doc is
scored as a whole by the model, which chunks long inputs itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from functools import lru_cache
from itertools import islice

from spacy.language import Language
from spacy.tokens import Doc, Span

from pipeline.nlp.base import Sentiment, get_model

if not Doc.has_extension("sentiment"):
    Doc.set_extension("sentiment", default=None)
    Doc.set_extension("sentence_sentiments", default=None)
    Doc.set_extension("lang_hint", default=None)
if not Span.has_extension("sentiment"):

    def _span_sentiment(span: Span) -> Sentiment | None:
        per_sent = span.doc._.sentence_sentiments
        if per_sent is None:
            return None
        return per_sent.get((span.start_char, span.end_char))

    Span.set_extension("sentiment", getter=_span_sentiment)


class SentimentComponent:
    def __init__(self, nlp: Language, name: str, model_id: str, sentence_level: bool, batch_size: int):
        self.name = name
        self.model_id = model_id
        self.sentence_level = sentence_level
        self.batch_size = batch_size
        self.lang = nlp.lang

    @property
    def model(self):  # noqa: ANN201 - SentimentModel, loaded on first use
        return get_model(self.model_id)

    def __call__(self, doc: Doc) -> Doc:
        return next(self.pipe([doc]))

    def pipe(self, docs: Iterable[Doc], batch_size: int | None = None) -> Iterator[Doc]:
        it = iter(docs)
        size = batch_size or self.batch_size
        while batch := list(islice(it, size)):
            yield from self._score_batch(batch)

    def _score_batch(self, docs: list[Doc]) -> list[Doc]:
        model = self.model
        lang_of = [d._.lang_hint or self.lang for d in docs]
        sent_texts: list[str] = []
        sent_langs: list[str] = []
        owners: list[tuple[int, int, int]] = []  # (doc index, start_char, end_char)
        whole_docs: list[int] = []
        for i, d in enumerate(docs):
            sents = [s for s in d.sents if s.text.strip()] if self.sentence_level else []
            for s in sents:
                sent_texts.append(s.text)
                sent_langs.append(lang_of[i])
                owners.append((i, s.start_char, s.end_char))
            if len(sents) != 1:
                whole_docs.append(i)
        texts = sent_texts + [docs[i].text for i in whole_docs]
        langs = sent_langs + [lang_of[i] for i in whole_docs]
        proba = model.predict_proba(texts, langs) if texts else []
        per_doc: list[dict[tuple[int, int], Sentiment]] = [{} for _ in docs]
        for (i, start, end), row in zip(owners, proba[: len(owners)], strict=True):
            per_doc[i][(start, end)] = Sentiment.from_row(row)
        for i, row in zip(whole_docs, proba[len(owners):], strict=True):
            docs[i]._.sentiment = Sentiment.from_row(row)
        for i, d in enumerate(docs):
            d._.sentence_sentiments = per_doc[i] if self.sentence_level else None
            if d._.sentiment is None and per_doc[i]:
                d._.sentiment = next(iter(per_doc[i].values()))
        return docs


@Language.factory(
    "stemning_sentiment",
    default_config={"model_id": "afinn-lexicon", "sentence_level": True, "batch_size": 64},
)
def make_sentiment_component(
    nlp: Language, name: str, model_id: str, sentence_level: bool, batch_size: int
) -> SentimentComponent:
    return SentimentComponent(nlp, name, model_id, sentence_level, batch_size)


@lru_cache(maxsize=8)
def build_nlp(lang: str, model_id: str, sentence_level: bool = True) -> Language:
    """A blank spaCy pipeline for ``lang`` (da/en; others fall back to multilingual "xx")."""
    import spacy

    nlp = spacy.blank(lang if lang in {"da", "en", "nb", "sv"} else "xx")
    nlp.add_pipe("sentencizer")
    nlp.add_pipe("stemning_sentiment", config={"model_id": model_id, "sentence_level": sentence_level})
    return nlp
