"""Attach HR themes and leave intent to every scored text that lacks them for the current taxonomy.

Runs after sentiment (it reuses the language decided there). The taxonomy version is a hash of the
taxonomy file plus the theme classifier in use (``off`` or the head's hash), so editing the taxonomy or
changing the classifier re-analyses everything once; otherwise re-runs do nothing.
"""

from __future__ import annotations

import hashlib
import sys
from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb
import pandas as pd

from pipeline.db import registered, transaction

CHUNK_SIZE = 5000


def taxonomy_version() -> str:
    """``tax-<taxonomy hash>+<classifier>``: ``off`` or ``themes-e5-<head hash>`` (STEMNING_THEME_CLASSIFIER),
    so a new taxonomy, head or setting re-analyses every text once."""
    from pipeline.themes.classifier import classifier_version
    from pipeline.themes.taxonomy import DEFAULT_PATH

    return "tax-" + hashlib.sha256(DEFAULT_PATH.read_bytes()).hexdigest()[:12] + "+" + classifier_version()


@dataclass
class ThemesRunReport:
    taxonomy_version: str
    analysed: int = 0
    with_themes: int = 0
    leave_intent: int = 0

    def summary(self) -> str:
        return (f"themes ({self.taxonomy_version}): {self.analysed} texts analysed, {self.with_themes} with a theme, "
                f"{self.leave_intent} with leave intent")


def run_themes(con: duckdb.DuckDBPyConnection, progress: bool = True) -> ThemesRunReport:
    from pipeline.themes import analyse

    version = taxonomy_version()
    report = ThemesRunReport(version)
    todo = con.execute(
        """
        SELECT t.doc_id, t.text, t.text_hash, d.language
        FROM staging.texts t
        JOIN nlp.documents d ON d.doc_id = t.doc_id AND d.text_hash = t.text_hash
        LEFT JOIN nlp.document_themes x ON x.doc_id = t.doc_id AND x.text_hash = t.text_hash AND x.taxonomy_version = ?
        WHERE x.doc_id IS NULL
        ORDER BY t.doc_id
        """,
        [version],
    ).df()
    bar = None
    if progress and len(todo):
        from tqdm import tqdm

        bar = tqdm(total=len(todo), desc="themes", unit="text", file=sys.stderr)
    for start in range(0, len(todo), CHUNK_SIZE):
        chunk = todo.iloc[start : start + CHUNK_SIZE]
        results = analyse(chunk["text"].tolist(), chunk["language"].tolist())
        now = datetime.now(UTC)
        docs = pd.DataFrame(
            {
                "doc_id": chunk["doc_id"].to_numpy(),
                "text_hash": chunk["text_hash"].to_numpy(),
                "themes": [list(r.themes) for r in results],
                "leave_intent": [bool(r.leave_intent) for r in results],
                "taxonomy_version": version,
                "analysed_at": now,
            }
        )
        sentence_rows = [
            (doc_id, s.start_char, s.end_char, theme)
            for doc_id, r in zip(chunk["doc_id"], results, strict=True)
            for s in r.sentences
            for theme in sorted(set(s.themes) | ({"leave_intent"} if s.leave_intent else set()))
        ]
        sents = pd.DataFrame(sentence_rows, columns=["doc_id", "start_char", "end_char", "theme"]).drop_duplicates(
            ["doc_id", "start_char", "theme"]
        )
        with transaction(con):
            with registered(con, "new_docs", docs):
                con.execute("DELETE FROM nlp.sentence_themes WHERE doc_id IN (SELECT doc_id FROM new_docs)")
                con.execute("INSERT OR REPLACE INTO nlp.document_themes BY NAME SELECT * FROM new_docs")
            with registered(con, "new_sents", sents):
                con.execute("INSERT INTO nlp.sentence_themes BY NAME SELECT * FROM new_sents")
        report.analysed += len(chunk)
        report.with_themes += int(sum(bool(r.themes) for r in results))
        report.leave_intent += int(sum(bool(r.leave_intent) for r in results))
        if bar is not None:
            bar.update(len(chunk))
    if bar is not None:
        bar.close()
    return report
