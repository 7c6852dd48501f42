-- 003: HR themes and leave intent per document and per sentence (pipeline/themes, taxonomy in
-- pipeline/themes/taxonomy.yaml). Sentence spans use the same character offsets as nlp.sentences,
-- so sentence-level sentiment can be attributed to the themes of that sentence.
CREATE TABLE IF NOT EXISTS nlp.document_themes (
    doc_id           VARCHAR PRIMARY KEY,
    text_hash        VARCHAR NOT NULL,
    themes           VARCHAR[] NOT NULL,    -- theme ids, sorted; empty when none
    leave_intent     BOOLEAN NOT NULL,
    taxonomy_version VARCHAR NOT NULL,
    analysed_at      TIMESTAMPTZ NOT NULL
);

CREATE TABLE IF NOT EXISTS nlp.sentence_themes (
    doc_id           VARCHAR NOT NULL,
    start_char       INTEGER NOT NULL,
    end_char         INTEGER NOT NULL,
    theme            VARCHAR NOT NULL,      -- a theme id, or 'leave_intent'
    PRIMARY KEY (doc_id, start_char, theme)
);
