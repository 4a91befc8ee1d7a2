//! The rows the store keeps for the engine: runs and their journal entries.
//! Plain data; the engine gives `state` and `kind` their meaning.

use serde::Serialize;

/// A run about to be recorded (`Store::create_run`). Its state starts as `"created"`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewRun {
    pub id: String,
    pub plan_name: String,
    pub plan_digest: String,
    pub plan_path: String,
    /// The plan file's text, so a resume can check it against `plan_digest`.
    pub plan_source: String,
    pub scenario: Option<String>,
    pub seed: Option<u64>,
    pub operator: String,
    /// `--context` given at creation: every kubernetes target of the plan uses it.
    pub kube_context: Option<String>,
    /// `-n/--namespace` given at creation: every kubernetes target of the plan uses it.
    pub kube_namespace: Option<String>,
    /// Milliseconds since the Unix epoch; becomes `created_at` and `updated_at`.
    pub at: i64,
}

/// The state a run has when `Store::create_run` records it.
pub const INITIAL_STATE: &str = "created";

/// A run as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RunRow {
    pub id: String,
    pub plan_name: String,
    pub plan_digest: String,
    pub plan_path: String,
    pub plan_source: String,
    pub scenario: Option<String>,
    pub seed: Option<u64>,
    pub state: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub operator: String,
    /// `--context` given at creation (overrides every kubernetes target's).
    pub kube_context: Option<String>,
    /// `-n/--namespace` given at creation (overrides every kubernetes target's).
    pub kube_namespace: Option<String>,
}

/// One transition to journal (`Store::append`).
#[derive(Clone, Debug, PartialEq)]
pub struct JournalEntry {
    /// What happened, e.g. `"step.intent"`.
    pub kind: String,
    pub step_id: Option<String>,
    /// With `kind`, unique within a run: a second append with both equal is refused.
    pub idempotency_key: Option<String>,
    pub data: serde_json::Value,
    /// Milliseconds since the Unix epoch.
    pub at: i64,
}

/// A journal entry as stored, with the sequence number the store gave it (1, 2, 3, …).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct JournalRecord {
    pub seq: i64,
    pub kind: String,
    pub step_id: Option<String>,
    pub idempotency_key: Option<String>,
    pub data: serde_json::Value,
    pub at: i64,
}
