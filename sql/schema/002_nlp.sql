-- 002: model outputs. Scores are cached by (text hash, model id, model version): re-runs and duplicate
-- texts never call the model twice; a new model version re-scores only what it must.
CREATE TABLE IF NOT EXISTS nlp.sentiment_cache (
    text_hash        VARCHAR NOT NULL,
    model_id         VARCHAR NOT NULL,
    model_version    VARCHAR NOT NULL,
    p_negative       DOUBLE NOT NULL,
    p_neutral        DOUBLE NOT NULL,
    p_positive       DOUBLE NOT NULL,
    sentences        STRUCT(start_char INTEGER, end_char INTEGER, p_negative DOUBLE, p_neutral DOUBLE, p_positive DOUBLE)[],
    scored_at        TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (text_hash, model_id, model_version)
);

-- One row per scored text field: a post's text, or a review's title/pros/cons/text.
CREATE TABLE IF NOT EXISTS nlp.documents (
    doc_id           VARCHAR PRIMARY KEY,   -- <post_key|review_key>#<field>
    source_key       VARCHAR NOT NULL,      -- post_key or review_key
    doc_type         VARCHAR NOT NULL,      -- post | review
    field            VARCHAR NOT NULL,      -- text | title | pros | cons
    text_hash        VARCHAR NOT NULL,
    language         VARCHAR NOT NULL,      -- da | en | other
    language_confidence DOUBLE,
    model_id         VARCHAR NOT NULL,
    model_version    VARCHAR NOT NULL,
    p_negative       DOUBLE NOT NULL,
    p_neutral        DOUBLE NOT NULL,
    p_positive       DOUBLE NOT NULL,
    sentiment_label  VARCHAR NOT NULL,
    sentiment_score  DOUBLE NOT NULL,       -- p_positive - p_negative
    scored_at        TIMESTAMPTZ NOT NULL
);

-- Sentence-level sentiment (for theme/aspect attribution).
CREATE TABLE IF NOT EXISTS nlp.sentences (
    doc_id           VARCHAR NOT NULL,
    sentence_index   INTEGER NOT NULL,
    start_char       INTEGER NOT NULL,
    end_char         INTEGER NOT NULL,
    p_negative       DOUBLE NOT NULL,
    p_neutral        DOUBLE NOT NULL,
    p_positive       DOUBLE NOT NULL,
    sentiment_score  DOUBLE NOT NULL,
    PRIMARY KEY (doc_id, sentence_index)
);
