//! Signed checkpoints: a record stating, under the log's Ed25519 key, that the chain up to
//! seq N ends in hash H, and the periodic writer (this host's witness is in `witness`).

use std::time::Duration;

use ed25519_dalek::{Signer, SigningKey};
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
