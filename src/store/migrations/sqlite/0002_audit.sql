-- The audit log: one hash-chained record per row. `record` is the record's JSON (what
-- is verified); the other columns are copies for ordering and filtering.

CREATE TABLE audit (
    seq       INTEGER PRIMARY KEY NOT NULL,
    at_ns     INTEGER NOT NULL,
    session   TEXT    NOT NULL,
    kind      TEXT    NOT NULL,
    record    TEXT    NOT NULL, -- JSON
    prev_hash TEXT    NOT NULL,
    hash      TEXT    NOT NULL
) STRICT;

CREATE INDEX audit_at ON audit (at_ns);
