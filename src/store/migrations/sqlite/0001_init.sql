-- ebb's store, SQLite dialect. Times are milliseconds since the Unix epoch (UTC).
-- The engine owns what `state` and `kind` mean; the store keeps them durably.

CREATE TABLE runs (
    id          TEXT    PRIMARY KEY NOT NULL,
    plan_name   TEXT    NOT NULL,
    plan_digest TEXT    NOT NULL,
    plan_path   TEXT    NOT NULL,
    plan_source TEXT    NOT NULL,
    scenario    TEXT,
    seed        TEXT,              -- a u64 in decimal (SQLite integers are signed 64-bit)
    state       TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    operator    TEXT    NOT NULL
) STRICT;

CREATE INDEX runs_created_at ON runs (created_at DESC, id DESC);

CREATE TABLE journal (
    run_id          TEXT    NOT NULL REFERENCES runs (id),
    seq             INTEGER NOT NULL,
    at              INTEGER NOT NULL,
    kind            TEXT    NOT NULL,
    step_id         TEXT,
    idempotency_key TEXT,
    data            TEXT    NOT NULL, -- JSON
    PRIMARY KEY (run_id, seq)
) STRICT;

-- The same intent (or any other kind) cannot be journaled twice under one key.
CREATE UNIQUE INDEX journal_idempotency
    ON journal (run_id, idempotency_key, kind)
    WHERE idempotency_key IS NOT NULL;

CREATE TABLE leases (
    run_id      TEXT    PRIMARY KEY NOT NULL,
    holder      TEXT    NOT NULL,
    acquired_at INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
) STRICT;
