"""Ad-hoc scoring of any CSV (`stemning score`): every input column kept, NLP columns added."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pandas as pd

OUTPUT_COLUMNS = (
    "language", "sentiment_label", "sentiment_score", "p_negative", "p_neutral", "p_positive", "themes", "leave_intent",
)


def score_csv(
    input_path: Path, output_path: Path, text_column: str, lang: str, model_id: str, batch_size: int = 32
) -> int:
    from pipeline.ingest.common import decode
    from pipeline.nlp.base import LABELS
    from pipeline.nlp.langid import detect_languages
    from pipeline.nlp.run import score_texts
    from pipeline.privacy.redact import Redactor
    from pipeline.themes import analyse

    if not input_path.exists():
        raise FileNotFoundError(f"{input_path}: no such file")
    df = pd.read_csv(io.StringIO(decode(input_path.read_bytes())), dtype=str, keep_default_na=False)
    if text_column not in df.columns:
        raise ValueError(f"{input_path.name} has no column {text_column!r}; columns are: {', '.join(df.columns)}")
    clash = [c for c in OUTPUT_COLUMNS if c in df.columns]
    if clash:
        raise ValueError(f"{input_path.name} already has output column(s) {clash}; rename them first")
    redactor = Redactor()
    texts = [redactor.redact(t).text for t in df[text_column].fillna("")]
    langs = [lg for lg, _ in detect_languages(texts)] if lang == "auto" else [lang] * len(texts)
    results = [None] * len(texts)
    nonempty = [i for i, t in enumerate(texts) if t.strip()]
    print(f"scoring {len(nonempty)} texts with {model_id} …", file=sys.stderr)
    scored = score_texts([texts[i] for i in nonempty], [langs[i] for i in nonempty], model_id, batch_size)
    for i, r in zip(nonempty, scored, strict=True):
        results[i] = r
    probs = [(r["p_negative"], r["p_neutral"], r["p_positive"]) if r else (None, None, None) for r in results]
    df["language"] = [lg if t.strip() else "" for lg, t in zip(langs, texts, strict=True)]
    df["sentiment_label"] = [LABELS[max(range(3), key=lambda k: p[k])] if p[0] is not None else "" for p in probs]
    df["sentiment_score"] = [round(p[2] - p[0], 4) if p[0] is not None else None for p in probs]
    for k, col in enumerate(("p_negative", "p_neutral", "p_positive")):
        df[col] = [round(p[k], 4) if p[k] is not None else None for p in probs]
    themes = analyse(texts, langs)
    df["themes"] = [r.themes_column for r in themes]
    df["leave_intent"] = [int(r.leave_intent) for r in themes]
    output_path.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(output_path, index=False)
    return len(df)
