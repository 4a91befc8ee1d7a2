//! The tamper-evident audit log: every action, transition and note as a redacted, hash-chained
//! record in the store, sealed by checkpoints signed by keys on the log's keyring; verify, export.

pub mod canon;
pub mod chain;
pub mod checkpoint;
pub mod export;
pub mod keyring;
pub mod keys;
pub mod log;
pub mod record;
pub mod stored;
pub mod verify;
pub mod witness;

use std::path::PathBuf;

pub use checkpoint::spawn_checkpoints;
pub use keyring::{KeyEntry, KeyState, Keyring};
pub use keys::KeySource;
pub use log::AuditLog;
pub use record::{AuditRecord, EntryKind, NewRecord, Operator, RecordKind};
pub use stored::{verified_rows, verify_rows};
pub use verify::{
    Problem, Signer, UnsealedTail, VerifyFailure, VerifyReport, verify, verify_texts,
};
pub use witness::{Witness, check_witness};

/// Everything writing the audit log (or handling its key) can fail with.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("cannot write the audit log: {0}")]
    Store(#[from] crate::store::StoreError),
    #[error("no place for the audit key: {0}")]
    NoConfigDir(crate::xdg::NoBaseDir),
    #[error("audit key {path}: {source}")]
    KeyIo {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "audit key {path} is readable or writable by group or others (mode {mode:o}); refusing to use it: run `chmod 600 {path}`"
    )]
    KeyTooOpen { path: PathBuf, mode: u32 },
    #[error("audit key {path} is not a valid key: {why}")]
    KeyFormat { path: PathBuf, why: String },
    #[error("audit key {0} already exists; `ebb audit keygen --force` replaces it")]
    KeyExists(PathBuf),
    /// Our key is not on the log's keyring (never admitted, not sealed yet, or revoked):
    /// its checkpoints would not verify. `hint` says what to do.
    #[error("this console's audit key {ours} is not admitted to this log: {hint}")]
    KeyNotAdmitted { ours: String, hint: String },
    #[error("the audit log is corrupt: {0}")]
    Corrupt(String),
    #[error("cannot encode an audit record: {0}")]
    Encode(#[from] serde_json::Error),
    #[error("the audit log does not verify, so nothing is shown: {0}")]
    NotVerified(#[from] VerifyFailure),
    #[error("cannot write the export: {0}")]
    Output(#[source] std::io::Error),
}
