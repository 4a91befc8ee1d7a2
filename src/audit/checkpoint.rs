//! Signed checkpoints: a record stating, under the log's Ed25519 key, that the chain up to
//! seq N ends in hash H; the periodic writer; and this host's witness of its last checkpoint.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ed25519_dalek::{Signer, SigningKey};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use super::canon::checkpoint_message;
use super::chain::Head;
use super::keys::public_hex;
use super::log::AuditLog;
use super::record::RecordKind;

/// The kind of a checkpoint record covering `head`, signed by `key`.
pub fn sign(key: &SigningKey, head: Head) -> RecordKind {
    let sig = key.sign(&checkpoint_message(head.seq, &head.hash, head.seq));
    RecordKind::Checkpoint {
        covers_seq: head.seq,
        head_hash: hex::encode(head.hash),
        count: head.seq,
        signature: hex::encode(sig.to_bytes()),
        public_key: public_hex(&key.verifying_key()),
    }
}

/// Writes a checkpoint every `every` while `active` is true (a run is going), until the
/// sender is dropped. Failures are logged (tracing) and retried at the next tick.
pub fn spawn_checkpoints(
    log: AuditLog,
    every: Duration,
    mut active: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await; // the first tick is immediate
        loop {
            tokio::select! {
                _ = tick.tick() => {
                    if *active.borrow()
                        && let Err(e) = log.checkpoint().await
                    {
                        tracing::warn!(error = %e, "periodic audit checkpoint failed");
                    }
                }
                changed = active.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    if *active.borrow() {
                        tick.reset();
                    }
                }
            }
        }
    })
}

/// The last checkpoint this host wrote, per log (keyed by the log's genesis hash): a
/// verifier holding it detects a log cut back to before that checkpoint.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Witness {
    pub logs: BTreeMap<String, WitnessEntry>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WitnessEntry {
    /// The checkpoint record's seq and hash.
    pub seq: u64,
    pub hash: String,
}

impl Witness {
    /// The witness file beside a key file: `audit.key` → `audit.witness`.
    pub fn path_for(key_path: &Path) -> PathBuf {
        key_path.with_extension("witness")
    }

    /// Reads a witness file; a missing file is an empty witness.
    pub fn load(path: &Path) -> std::io::Result<Witness> {
        match std::fs::read_to_string(path) {
            Ok(text) => serde_json::from_str(&text).map_err(std::io::Error::other),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Witness::default()),
            Err(e) => Err(e),
        }
    }

    /// Records checkpoint `seq`/`hash` of the log `genesis` (keeping the higher seq),
    /// written to a temp file and renamed over `path`.
    pub fn record(path: &Path, genesis: &str, seq: u64, hash: &str) -> std::io::Result<()> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut w = Witness::load(path).unwrap_or_default();
        if w.logs.get(genesis).is_some_and(|e| e.seq >= seq) {
            return Ok(());
        }
        w.logs.insert(
            genesis.to_string(),
            WitnessEntry {
                seq,
                hash: hash.to_string(),
            },
        );
        let tmp = path.with_extension(format!("witness.{}.tmp", std::process::id()));
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(
            serde_json::to_string_pretty(&w)
                .map_err(std::io::Error::other)?
                .as_bytes(),
        )?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    }
}
