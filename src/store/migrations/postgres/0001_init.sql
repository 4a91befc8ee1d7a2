-- ebb's store, PostgreSQL dialect. Times are milliseconds since the Unix epoch (UTC).
-- The engine owns what `state` and `kind` mean; the store keeps them durably.

CREATE TABLE runs (
    id          TEXT   PRIMARY KEY,
    plan_name   TEXT   NOT NULL,
    plan_digest TEXT   NOT NULL,
    plan_path   TEXT   NOT NULL,
    plan_source TEXT   NOT NULL,
    scenario    TEXT,
    seed        TEXT,              -- a u64 in decimal (BIGINT is signed)
    state       TEXT   NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    operator    TEXT   NOT NULL
);

CREATE INDEX runs_created_at ON runs (created_at DESC, id DESC);

CREATE TABLE journal (
    run_id          TEXT   NOT NULL REFERENCES runs (id),
    seq             BIGINT NOT NULL,
    at              BIGINT NOT NULL,
    kind            TEXT   NOT NULL,
    step_id         TEXT,
    idempotency_key TEXT,
    data            JSONB  NOT NULL,
    PRIMARY KEY (run_id, seq)
);

-- The same intent (or any other kind) cannot be journaled twice under one key.
CREATE UNIQUE INDEX journal_idempotency
    ON journal (run_id, idempotency_key, kind)
    WHERE idempotency_key IS NOT NULL;

CREATE TABLE leases (
    run_id      TEXT   PRIMARY KEY,
    holder      TEXT   NOT NULL,
    acquired_at BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);
