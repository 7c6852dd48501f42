"""Score every text that is new or changed since the last run.

Work is found by an anti-join of ``staging.texts`` against ``nlp.documents`` on (doc_id, text_hash,
model id, model version), so a re-run does nothing and a new model version re-scores everything once.
Scores are cached by (text hash, model id, model version): duplicate texts and re-ingested posts never
reach the model twice. Work is committed in chunks, so an interrupted backfill resumes where it stopped.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb
import numpy as np
import pandas as pd

from pipeline.db import registered, transaction
from pipeline.nlp.base import LABELS, get_model
from pipeline.nlp.langid import detect_languages

CHUNK_SIZE = 2000


@dataclass
class NlpRunReport:
    model_id: str
    model_version: str
    pending: int = 0
    cache_hits: int = 0
    scored: int = 0
    languages: dict[str, int] | None = None

    def summary(self) -> str:
        langs = ", ".join(f"{k}: {v}" for k, v in sorted((self.languages or {}).items()))
        return (
            f"sentiment ({self.model_id} {self.model_version}): {self.pending} texts pending, "
            f"{self.cache_hits} from cache, {self.scored} scored by the model" + (f" [{langs}]" if langs else "")
        )


def pending_texts(con: duckdb.DuckDBPyConnection, model_id: str, model_version: str) -> pd.DataFrame:
    return con.execute(
        """
        SELECT t.doc_id, t.source_key, t.doc_type, t.field, t.text, t.text_hash
        FROM staging.texts t
        LEFT JOIN nlp.documents d
          ON d.doc_id = t.doc_id AND d.text_hash = t.text_hash AND d.model_id = ? AND d.model_version = ?
        WHERE d.doc_id IS NULL
        ORDER BY t.doc_id
        """,
        [model_id, model_version],
    ).df()


def score_texts(texts: list[str], langs: list[str], model_id: str, batch_size: int = 64) -> list[dict]:
    """Doc- and sentence-level sentiment through the spaCy pipeline of each text's language."""
    from pipeline.nlp.spacy_component import build_nlp

    results: list[dict] = [{} for _ in texts]
    by_lang: dict[str, list[int]] = {}
    for i, lang in enumerate(langs):
        by_lang.setdefault(lang, []).append(i)
    for lang, idx in by_lang.items():
        nlp = build_nlp(lang, model_id)
        docs = (nlp.make_doc(texts[i]) for i in idx)

        def with_hint(doc_iter, lang=lang):  # noqa: ANN001, ANN202
            for d in doc_iter:
                d._.lang_hint = lang
                yield d

        # Run the tokenizer, then the remaining components, so the language hint is set in between.
        stream = with_hint(docs)
        for _, proc in nlp.pipeline:
            stream = proc.pipe(stream, batch_size=batch_size) if hasattr(proc, "pipe") else map(proc, stream)
        for i, doc in zip(idx, stream, strict=True):
            s = doc._.sentiment
            sentences = [
                {"start_char": start, "end_char": end, "p_negative": v.p_negative, "p_neutral": v.p_neutral, "p_positive": v.p_positive}
                for (start, end), v in sorted((doc._.sentence_sentiments or {}).items())
            ]
            results[i] = {"p_negative": s.p_negative, "p_neutral": s.p_neutral, "p_positive": s.p_positive, "sentences": sentences}
    return results


def run_sentiment(
    con: duckdb.DuckDBPyConnection,
    model_id: str,
    batch_size: int = 64,
    progress: bool = True,
    on_chunk: Callable[[pd.DataFrame], None] | None = None,
) -> NlpRunReport:
    model = get_model(model_id)
    report = NlpRunReport(model.model_id, model.model_version, languages={})
    todo = pending_texts(con, model.model_id, model.model_version)
    report.pending = len(todo)
    if todo.empty:
        return report
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(todo), desc="scoring sentiment", unit="text", file=sys.stderr)
    for start in range(0, len(todo), CHUNK_SIZE):
        chunk = todo.iloc[start : start + CHUNK_SIZE].reset_index(drop=True)
        _score_chunk(con, chunk, model.model_id, model.model_version, batch_size, report)
        if on_chunk is not None:
            on_chunk(chunk)
        if bar is not None:
            bar.update(len(chunk))
    if bar is not None:
        bar.close()
    return report


def _score_chunk(
    con: duckdb.DuckDBPyConnection,
    chunk: pd.DataFrame,
    model_id: str,
    model_version: str,
    batch_size: int,
    report: NlpRunReport,
) -> None:
    detected = detect_languages(chunk["text"].tolist())
    chunk["language"] = [lang for lang, _ in detected]
    chunk["language_confidence"] = [conf for _, conf in detected]
    for lang in chunk["language"]:
        report.languages[lang] = report.languages.get(lang, 0) + 1  # type: ignore[index]

    with registered(con, "chunk_hashes", chunk[["text_hash"]].drop_duplicates()):
        cached = con.execute(
            """
            SELECT c.text_hash, c.p_negative, c.p_neutral, c.p_positive, c.sentences
            FROM nlp.sentiment_cache c JOIN chunk_hashes h USING (text_hash)
            WHERE c.model_id = ? AND c.model_version = ?
            """,
            [model_id, model_version],
        ).df()
    known = {row.text_hash: row for row in cached.itertuples(index=False)}

    misses = chunk[~chunk["text_hash"].isin(known)].drop_duplicates("text_hash")
    report.cache_hits += int(chunk["text_hash"].isin(known).sum())
    report.scored += len(misses)
    now = datetime.now(UTC)
    new_cache = pd.DataFrame()
    if not misses.empty:
        scored = score_texts(misses["text"].tolist(), misses["language"].tolist(), model_id, batch_size)
        new_cache = pd.DataFrame(scored)
        new_cache.insert(0, "text_hash", misses["text_hash"].to_numpy())
        new_cache["model_id"], new_cache["model_version"], new_cache["scored_at"] = model_id, model_version, now
        for row in new_cache.itertuples(index=False):
            known[row.text_hash] = row

    probs = np.array([[known[h].p_negative, known[h].p_neutral, known[h].p_positive] for h in chunk["text_hash"]])
    docs = chunk[["doc_id", "source_key", "doc_type", "field", "text_hash", "language", "language_confidence"]].copy()
    docs["model_id"], docs["model_version"] = model_id, model_version
    docs["p_negative"], docs["p_neutral"], docs["p_positive"] = probs[:, 0], probs[:, 1], probs[:, 2]
    docs["sentiment_label"] = [LABELS[i] for i in probs.argmax(axis=1)]
    docs["sentiment_score"] = probs[:, 2] - probs[:, 0]
    docs["scored_at"] = now
    sentences = [
        {"doc_id": doc_id, "sentence_index": k, **s, "sentiment_score": s["p_positive"] - s["p_negative"]}
        for doc_id, h in zip(chunk["doc_id"], chunk["text_hash"], strict=True)
        for k, s in enumerate(_sentences_of(known[h]))
    ]
    sent_df = pd.DataFrame(
        sentences,
        columns=["doc_id", "sentence_index", "start_char", "end_char", "p_negative", "p_neutral", "p_positive", "sentiment_score"],
    )

    with transaction(con):
        if not new_cache.empty:
            with registered(con, "new_cache", new_cache):
                con.execute("INSERT OR IGNORE INTO nlp.sentiment_cache BY NAME SELECT * FROM new_cache")
        with registered(con, "new_docs", docs):
            con.execute("DELETE FROM nlp.sentences WHERE doc_id IN (SELECT doc_id FROM new_docs)")
            con.execute("INSERT OR REPLACE INTO nlp.documents BY NAME SELECT * FROM new_docs")
        with registered(con, "new_sents", sent_df):
            con.execute("INSERT INTO nlp.sentences BY NAME SELECT * FROM new_sents")


def _sentences_of(row) -> list[dict]:  # noqa: ANN001 - a cache row (namedtuple) from either source
    sentences = row.sentences
    if sentences is None:
        return []
    return [dict(s) for s in sentences]
