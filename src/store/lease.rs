//! Leases: one console drives a run at a time. A lease is a row (holder, expiry) taken
//! and renewed by single conditional statements, so two consoles can never both win.

/// What `Store::acquire_lease` found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LeaseOutcome {
    /// The caller holds the lease now (new, taken over after expiry, or renewed).
    Acquired,
    /// Someone else holds it until `expires_at` (ms since the Unix epoch).
    HeldBy { holder: String, expires_at: i64 },
}

// The SQL is the same in both dialects (`$n` parameters work in SQLite too).

/// $1 run, $2 holder, $3 now, $4 expires_at. Returns a row only when the caller got it:
/// the lease was free, had expired (`expires_at <= now`), or was already the caller's
/// (then `acquired_at` is the earlier one's: it is `now` only when the lease changed hands).
pub(super) const ACQUIRE: &str = "\
INSERT INTO leases (run_id, holder, acquired_at, expires_at) VALUES ($1, $2, $3, $4)
ON CONFLICT (run_id) DO UPDATE SET
    holder = excluded.holder,
    acquired_at = CASE WHEN leases.holder = excluded.holder
                       THEN leases.acquired_at ELSE excluded.acquired_at END,
    expires_at = excluded.expires_at
WHERE leases.holder = excluded.holder OR leases.expires_at <= excluded.acquired_at
RETURNING holder, acquired_at";

/// $1 run. Who holds the lease, when `ACQUIRE` returned nothing.
pub(super) const HOLDER: &str = "SELECT holder, expires_at FROM leases WHERE run_id = $1";

/// $1 run, $2 holder, $3 new expires_at. Renewing succeeds while the row is still the
/// holder's, even just past expiry: nobody else took it, so nobody else drove the run.
pub(super) const RENEW: &str =
    "UPDATE leases SET expires_at = $3 WHERE run_id = $1 AND holder = $2";

/// $1 run, $2 holder.
pub(super) const RELEASE: &str = "DELETE FROM leases WHERE run_id = $1 AND holder = $2";

/// How many times `acquire` retries when the lease vanished between its two statements.
pub(super) const ATTEMPTS: usize = 3;
