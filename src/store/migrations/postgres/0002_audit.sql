-- The audit log: one hash-chained record per row. `record` is the record's JSON, kept as
-- TEXT (not JSONB) so it is stored as written; the other columns are copies for filtering.
-- Appenders serialize on a transaction-scoped advisory lock (see src/store/audit.rs).

CREATE TABLE audit (
    seq       BIGINT PRIMARY KEY,
    at_ns     BIGINT NOT NULL,
    session   TEXT   NOT NULL,
    kind      TEXT   NOT NULL,
    record    TEXT   NOT NULL,
    prev_hash TEXT   NOT NULL,
    hash      TEXT   NOT NULL
);

CREATE INDEX audit_at ON audit (at_ns);
