-- Console recordings (src/store/recordings.rs, src/replay): what drove each console's
-- screen, in compressed chunks of timestamped entries, kept with the run.

CREATE TABLE recordings (
    run_id   TEXT    NOT NULL,
    console  TEXT    NOT NULL, -- the console's audit session id
    seq      INTEGER NOT NULL, -- 0, 1, … per console
    operator TEXT    NOT NULL, -- the unix user at the console
    first_ms INTEGER NOT NULL, -- the first entry's time (ms since the epoch)
    last_ms  INTEGER NOT NULL, -- the last entry's time
    entries  INTEGER NOT NULL,
    body     BLOB    NOT NULL, -- deflate of JSON lines `[at, entry]`
    PRIMARY KEY (run_id, console, seq)
) STRICT;
