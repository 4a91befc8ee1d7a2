-- Governance: the policy in force (the newest version) and approvals of plan digests
-- (src/store/policy.rs).

CREATE TABLE policies (
    version     INTEGER PRIMARY KEY AUTOINCREMENT, -- never reused: the newest is in force
    digest      TEXT    NOT NULL,
    source_name TEXT    NOT NULL,
    text        TEXT    NOT NULL,
    applied_by  TEXT    NOT NULL,
    applied_at  INTEGER NOT NULL
) STRICT;

-- An approver's Ed25519 signature over "ebb plan approval\n" + digest.
CREATE TABLE plan_approvals (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    digest     TEXT    NOT NULL,
    plan_name  TEXT    NOT NULL,
    approver   TEXT    NOT NULL,
    public_key TEXT    NOT NULL, -- hex
    signature  TEXT    NOT NULL, -- hex
    at         INTEGER NOT NULL
) STRICT;

CREATE INDEX plan_approvals_by_digest ON plan_approvals (digest, id);
