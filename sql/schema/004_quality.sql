-- 004: data-quality results (pipeline/quality), rows held back by a quality gate, erasure tombstones
-- (pipeline/privacy/erase.py) and frozen mart periods (pipeline/retention.py).
CREATE SCHEMA IF NOT EXISTS quality;
CREATE SCHEMA IF NOT EXISTS archive;

-- One row per validation run of one layer (an Airflow task or `stemning validate` validates 1+ layers).
CREATE TABLE IF NOT EXISTS quality.validation_runs (
    run_id            VARCHAR NOT NULL,
    layer             VARCHAR NOT NULL,      -- raw | staging | nlp | marts
    success           BOOLEAN NOT NULL,      -- false when a `fail` expectation failed
    expectations      INTEGER NOT NULL,
    failed            INTEGER NOT NULL,      -- `fail` expectations that failed (the task failed)
    warnings          INTEGER NOT NULL,      -- `warn` expectations below their threshold
    rows_quarantined  INTEGER NOT NULL,      -- rows moved out of raw by `quarantine` expectations
    gx_version        VARCHAR NOT NULL,
    started_at        TIMESTAMPTZ NOT NULL,
    finished_at       TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (run_id, layer)
);

-- One row per expectation per run. Holds counts and aggregate observations only, never row values
-- (a failing text-length check must not copy the text here).
CREATE TABLE IF NOT EXISTS quality.validation_results (
    run_id             VARCHAR NOT NULL,
    suite              VARCHAR NOT NULL,     -- e.g. raw.posts, marts.engagement_weekly.k_anonymity
    layer              VARCHAR NOT NULL,
    table_name         VARCHAR NOT NULL,     -- the table or view the suite's batch is read from
    expectation_index  INTEGER NOT NULL,     -- position in the suite
    expectation        VARCHAR NOT NULL,     -- e.g. expect_column_values_to_be_between(rating)
    expectation_type   VARCHAR NOT NULL,
    kwargs             VARCHAR NOT NULL,     -- JSON, $PARAMETERs resolved
    on_failure         VARCHAR NOT NULL,     -- fail | warn | quarantine
    success            BOOLEAN NOT NULL,
    element_count      BIGINT,
    unexpected_count   BIGINT,
    unexpected_percent DOUBLE,
    observed_value     VARCHAR,              -- JSON, aggregate expectations only
    rows_quarantined   INTEGER NOT NULL DEFAULT 0,
    exception          VARCHAR,              -- GX raised while evaluating (counts as a failure)
    validated_at       TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (run_id, suite, expectation_index)
);

-- Raw rows moved out of raw.* by a row-level expectation, kept whole (JSON) so a wrong expectation can
-- be undone (`pipeline.quality.quarantine.release_held_rows`). Erasure and retention cover this table.
CREATE TABLE IF NOT EXISTS quality.held_rows (
    table_name         VARCHAR NOT NULL,     -- raw.posts | raw.reviews | raw.roster
    row_key            VARCHAR NOT NULL,     -- post_key | review_key | employee_key
    content_hash       VARCHAR NOT NULL,
    author_key         VARCHAR,              -- pseudonym of the person (posts, roster), for erasure
    created_at         TIMESTAMPTZ,          -- for retention
    source_file        VARCHAR NOT NULL,
    source_position    VARCHAR NOT NULL,
    reason             VARCHAR NOT NULL,     -- same text as quarantine.rows.reason
    row_json           VARCHAR NOT NULL,     -- the raw row (already pseudonymised and redacted)
    run_id             VARCHAR NOT NULL,
    held_at            TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (table_name, row_key, content_hash)
);

-- Erased people: a keyed hash of each erased pseudonym under its own sub-key, so the pseudonym itself
-- is not kept, yet rows that arrive again in a later export are recognised and dropped. Tagged with the
-- key fingerprint: after a key rotation old tombstones cannot match (see pipeline/privacy/erase.py).
CREATE TABLE IF NOT EXISTS private.erasure_tombstones (
    tombstone          VARCHAR NOT NULL,
    key_fingerprint    VARCHAR NOT NULL,
    erased_at          TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tombstone, key_fingerprint)
);

-- Marts frozen by retention: every period of `mart` that starts before `frozen_before` was copied to
-- archive.<mart> while the text behind it still existed, and is restored after every marts rebuild.
CREATE TABLE IF NOT EXISTS archive.frozen_marts (
    mart               VARCHAR PRIMARY KEY,  -- marts.<mart>
    period_column      VARCHAR NOT NULL,     -- week_start | month_start
    frozen_before      DATE NOT NULL,
    rows_frozen        INTEGER NOT NULL,     -- rows in archive.<mart>
    frozen_at          TIMESTAMPTZ NOT NULL
);
