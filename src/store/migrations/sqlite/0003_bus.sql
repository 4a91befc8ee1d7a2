-- The run bus: consoles and a runner process talk through these tables (src/store/bus.rs).
-- A request is inserted in the transaction of the audit intent asking for it.

CREATE TABLE requests (
    id         INTEGER PRIMARY KEY AUTOINCREMENT, -- never reused: readers page by id
    run_id     TEXT    NOT NULL,
    console    TEXT    NOT NULL,
    operator   TEXT    NOT NULL,
    action     TEXT    NOT NULL,
    body       TEXT    NOT NULL, -- JSON
    audit_seq  INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    state      TEXT    NOT NULL CHECK (state IN ('pending', 'applied', 'refused')),
    outcome    TEXT,
    decided_at INTEGER
) STRICT;

CREATE INDEX requests_by_state ON requests (run_id, state, id);
CREATE INDEX requests_by_console ON requests (run_id, console, id);

-- A run's event stream: seq is 1, 2, … per run.
CREATE TABLE run_events (
    run_id TEXT    NOT NULL,
    seq    INTEGER NOT NULL,
    at     INTEGER NOT NULL,
    body   TEXT    NOT NULL, -- JSON
    PRIMARY KEY (run_id, seq)
) STRICT;

-- A run's view, replaced whole; version counts the replacements.
CREATE TABLE run_views (
    run_id  TEXT    PRIMARY KEY NOT NULL,
    version INTEGER NOT NULL,
    at      INTEGER NOT NULL,
    body    TEXT    NOT NULL -- JSON
) STRICT;

CREATE TABLE consoles (
    id          TEXT    PRIMARY KEY NOT NULL,
    run_id      TEXT    NOT NULL,
    operator    TEXT    NOT NULL,
    host        TEXT    NOT NULL,
    pid         INTEGER NOT NULL,
    role        TEXT    NOT NULL CHECK (role IN ('driver', 'watcher')),
    attached_at INTEGER NOT NULL,
    seen_at     INTEGER NOT NULL,
    detached_at INTEGER,
    how         TEXT
) STRICT;

CREATE INDEX consoles_by_run ON consoles (run_id);
