-- 001: layered warehouse. raw = as ingested (already pseudonymised and redacted), staging = views,
-- nlp = model outputs, marts = dashboard tables, quarantine = rows we could not accept, private =
-- keyed hashes used for joins and redaction (never raw identities), meta = bookkeeping.
CREATE SCHEMA IF NOT EXISTS raw;
CREATE SCHEMA IF NOT EXISTS staging;
CREATE SCHEMA IF NOT EXISTS nlp;
CREATE SCHEMA IF NOT EXISTS marts;
CREATE SCHEMA IF NOT EXISTS quarantine;
CREATE SCHEMA IF NOT EXISTS private;
CREATE SCHEMA IF NOT EXISTS quality;

-- One row per ingested file (by content hash): re-dropping the same file is a no-op.
CREATE TABLE IF NOT EXISTS meta.ingested_files (
    file_hash        VARCHAR PRIMARY KEY,
    source_kind      VARCHAR NOT NULL,      -- posts | reviews | roster
    source_format    VARCHAR NOT NULL,      -- slack | csv | jsonl
    source_file      VARCHAR NOT NULL,
    rows_seen        INTEGER NOT NULL,
    rows_loaded      INTEGER NOT NULL,      -- new rows written to raw
    rows_unchanged   INTEGER NOT NULL,      -- already in raw with the same content hash
    rows_skipped     INTEGER NOT NULL,      -- intentionally ignored (e.g. Slack join/bot messages)
    rows_quarantined INTEGER NOT NULL,
    loaded_at        TIMESTAMPTZ NOT NULL
);

-- Posts as ingested. Append-only history: a post edited upstream arrives with a new content hash and
-- staging picks the latest version.
CREATE TABLE IF NOT EXISTS raw.posts (
    post_key         VARCHAR NOT NULL,      -- <source_system>:<id in that system>
    content_hash     VARCHAR NOT NULL,
    source_system    VARCHAR NOT NULL,      -- slack | csv | jsonl
    author_key       VARCHAR NOT NULL,      -- keyed hash (see pipeline/privacy/pseudonym.py)
    channel          VARCHAR,
    created_at       TIMESTAMPTZ NOT NULL,
    text             VARCHAR NOT NULL,      -- PII-redacted
    parent_key       VARCHAR,               -- thread parent post_key
    reactions        INTEGER NOT NULL DEFAULT 0,
    redactions       INTEGER NOT NULL DEFAULT 0,
    source_file      VARCHAR NOT NULL,
    source_position  VARCHAR NOT NULL,      -- line number, or <channel>/<date>.json#<index>
    loaded_at        TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (post_key, content_hash)
);

CREATE TABLE IF NOT EXISTS raw.reviews (
    review_key        VARCHAR NOT NULL,     -- <source>:<review id>
    content_hash      VARCHAR NOT NULL,
    source            VARCHAR NOT NULL,
    company           VARCHAR NOT NULL,
    created_at        TIMESTAMPTZ,
    rating            DOUBLE,
    title             VARCHAR,
    pros              VARCHAR,
    cons              VARCHAR,
    text              VARCHAR,
    employment_status VARCHAR,              -- current | former | NULL
    job_title         VARCHAR,
    location          VARCHAR,
    redactions        INTEGER NOT NULL DEFAULT 0,
    source_file       VARCHAR NOT NULL,
    source_position   VARCHAR NOT NULL,
    loaded_at         TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (review_key, content_hash)
);

-- HRIS roster. Names and e-mails are never stored: the e-mail only as a keyed hash, for joining Slack
-- users to employees.
CREATE TABLE IF NOT EXISTS raw.roster (
    employee_key     VARCHAR NOT NULL,
    content_hash     VARCHAR NOT NULL,
    email_key        VARCHAR,
    department       VARCHAR NOT NULL,
    team             VARCHAR NOT NULL,
    hire_date        DATE NOT NULL,
    termination_date DATE,
    source_file      VARCHAR NOT NULL,
    source_position  VARCHAR NOT NULL,
    loaded_at        TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (employee_key, content_hash)
);

-- Every input row that could not be accepted, with the reason. Nothing is dropped silently.
CREATE TABLE IF NOT EXISTS quarantine.rows (
    source_kind      VARCHAR NOT NULL,
    source_file      VARCHAR NOT NULL,
    file_hash        VARCHAR NOT NULL,
    source_position  VARCHAR NOT NULL,
    reason           VARCHAR NOT NULL,
    excerpt          VARCHAR,               -- first 200 characters, PII-redacted
    quarantined_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (file_hash, source_position, reason)
);

-- Keyed hashes of known people's name tokens, for redaction without storing names. Tagged with the
-- key's fingerprint so a rotated key never matches hashes made with the old one.
CREATE TABLE IF NOT EXISTS private.name_hashes (
    hash             VARCHAR NOT NULL,
    kind             VARCHAR NOT NULL,
    key_fingerprint  VARCHAR NOT NULL,
    PRIMARY KEY (hash, key_fingerprint)
);
