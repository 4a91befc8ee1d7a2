-- A drill's facilitator attaches as a console of its own role (issue 15). SQLite cannot
-- change a CHECK constraint in place: the table is rebuilt with its rows.
CREATE TABLE consoles_new (
    id          TEXT    PRIMARY KEY NOT NULL,
    run_id      TEXT    NOT NULL,
    operator    TEXT    NOT NULL,
    host        TEXT    NOT NULL,
    pid         INTEGER NOT NULL,
    role        TEXT    NOT NULL CHECK (role IN ('driver', 'watcher', 'facilitator')),
    attached_at INTEGER NOT NULL,
    seen_at     INTEGER NOT NULL,
    detached_at INTEGER,
    how         TEXT
) STRICT;

INSERT INTO consoles_new (id, run_id, operator, host, pid, role, attached_at, seen_at, detached_at, how)
    SELECT id, run_id, operator, host, pid, role, attached_at, seen_at, detached_at, how FROM consoles;
DROP TABLE consoles;
ALTER TABLE consoles_new RENAME TO consoles;
CREATE INDEX consoles_by_run ON consoles (run_id);
