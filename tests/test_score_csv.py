"""`stemning score`: any CSV in, every column kept, NLP columns added; clear errors on bad input."""

from __future__ import annotations

import pandas as pd
import pytest

from pipeline.cli import main
from pipeline.config import get_settings


@pytest.fixture()
def comments(tmp_path):
    path = tmp_path / "comments.csv"
    pd.DataFrame(
        {
            "id": ["a", "b", "c", "d", "e"],
            "comment": [
                "Jeg elsker mit team, de er fantastiske kolleger!",
                "Ledelsen er elendig og arbejdspresset er helt urimeligt. Jeg søger nyt job.",
                "Mødet er flyttet til kl. 14 i lokale 2.",
                "Ring til mig på 12 34 56 78, the onboarding was great",
                "",
            ],
        }
    ).to_csv(path, index=False)
    return path


def test_score_keeps_columns_and_adds_nlp_columns(comments, tmp_path):
    out = tmp_path / "scored.csv"
    rc = main(["score", str(comments), "--text-column", "comment", "-o", str(out)])
    assert rc == 0
    df = pd.read_csv(out, keep_default_na=False)
    assert list(df.columns[:2]) == ["id", "comment"]
    assert {"language", "sentiment_label", "sentiment_score", "p_negative", "p_neutral", "p_positive",
            "themes", "leave_intent"} <= set(df.columns)
    assert df["comment"].iloc[3].startswith("Ring til mig på 12 34")  # the input column is kept verbatim
    assert df["language"].tolist()[:3] == ["da", "da", "da"]
    labels = df["sentiment_label"].tolist()
    assert labels[0] == "positive" and labels[1] == "negative" and labels[4] == ""
    scored = df.iloc[:4][["sentiment_score", "p_negative", "p_neutral", "p_positive"]].astype(float)
    assert scored["sentiment_score"].between(-1, 1).all()
    assert (abs(scored[["p_negative", "p_neutral", "p_positive"]].sum(axis=1) - 1) < 1e-3).all()
    assert df["sentiment_score"].iloc[4] == "" and df["themes"].iloc[4] == ""
    assert "management" in df["themes"].iloc[1] and "workload" in df["themes"].iloc[1]
    assert df["leave_intent"].tolist()[:3] == [0, 1, 0]
    assert get_settings().sentiment_model == "e5-small-sentiment"


def test_score_reports_a_missing_text_column(comments, tmp_path, capsys):
    rc = main(["score", str(comments), "--text-column", "body", "-o", str(tmp_path / "x.csv")])
    assert rc == 2
    assert "has no column 'body'; columns are: id, comment" in capsys.readouterr().err
