-- Governance: the policy in force (the newest version) and approvals of plan digests
-- (src/store/policy.rs).

CREATE TABLE policies (
    version     BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, -- the newest is in force
    digest      TEXT   NOT NULL,
    source_name TEXT   NOT NULL,
    text        TEXT   NOT NULL,
    applied_by  TEXT   NOT NULL,
    applied_at  BIGINT NOT NULL
);

-- An approver's Ed25519 signature over "ebb plan approval\n" + digest.
CREATE TABLE plan_approvals (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    digest     TEXT   NOT NULL,
    plan_name  TEXT   NOT NULL,
    approver   TEXT   NOT NULL,
    public_key TEXT   NOT NULL, -- hex
    signature  TEXT   NOT NULL, -- hex
    at         BIGINT NOT NULL
);

CREATE INDEX plan_approvals_by_digest ON plan_approvals (digest, id);
