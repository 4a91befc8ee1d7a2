-- The run bus: consoles and a runner process talk through these tables (src/store/bus.rs).
-- A request is inserted in the transaction of the audit intent asking for it; writes
-- NOTIFY ebb_bus with the run id from their own transaction.

CREATE TABLE requests (
    -- Taken under the audit append's advisory lock: ids commit in order, so a reader
    -- paging by id skips none.
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id     TEXT   NOT NULL,
    console    TEXT   NOT NULL,
    operator   TEXT   NOT NULL,
    action     TEXT   NOT NULL,
    body       JSONB  NOT NULL,
    audit_seq  BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    state      TEXT   NOT NULL CHECK (state IN ('pending', 'applied', 'refused')),
    outcome    TEXT,
    decided_at BIGINT
);

CREATE INDEX requests_by_state ON requests (run_id, state, id);
CREATE INDEX requests_by_console ON requests (run_id, console, id);

-- A run's event stream: seq is 1, 2, … per run.
CREATE TABLE run_events (
    run_id TEXT   NOT NULL,
    seq    BIGINT NOT NULL,
    at     BIGINT NOT NULL,
    body   JSONB  NOT NULL,
    PRIMARY KEY (run_id, seq)
);

-- A run's view, replaced whole; version counts the replacements.
CREATE TABLE run_views (
    run_id  TEXT   PRIMARY KEY,
    version BIGINT NOT NULL,
    at      BIGINT NOT NULL,
    body    JSONB  NOT NULL
);

CREATE TABLE consoles (
    id          TEXT   PRIMARY KEY,
    run_id      TEXT   NOT NULL,
    operator    TEXT   NOT NULL,
    host        TEXT   NOT NULL,
    pid         BIGINT NOT NULL,
    role        TEXT   NOT NULL CHECK (role IN ('driver', 'watcher')),
    attached_at BIGINT NOT NULL,
    seen_at     BIGINT NOT NULL,
    detached_at BIGINT,
    how         TEXT
);

CREATE INDEX consoles_by_run ON consoles (run_id);
