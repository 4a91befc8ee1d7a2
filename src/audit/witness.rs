//! This host's witness: the last checkpoint it signed, per log and per store, kept beside its
//! key; checked against a log it finds it cut back, emptied, or replaced by a fresh chain.
//!
//! Entries are keyed by the log's genesis hash and name the store they were written to. A
//! verifier that knows which store it reads treats as **replaced** a log whose genesis is
//! not the one this host last wrote to that store, and as **truncated** an empty log in a
//! store this host wrote to. Entries written before stores were named count for any store.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::record::AuditRecord;
use super::verify::{Problem, VerifyFailure};

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
    /// The store the log lives in ([`crate::store::Store::identity`]); None in witnesses
    /// written before stores were named.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store: Option<String>,
}

impl Witness {
    /// The witness file beside a key file: `audit.key` → `audit.witness`.
    pub fn path_for(key_path: &Path) -> PathBuf {
        key_path.with_extension("witness")
    }

    /// Reads a witness file; a missing file is an empty witness.
    pub fn load(path: &Path) -> std::io::Result<Witness> {
        match crate::input::read_text(path) {
            Ok(text) => serde_json::from_str(&text).map_err(std::io::Error::other),
            Err(e) if e.is_not_found() => Ok(Witness::default()),
            Err(e) => Err(std::io::Error::other(e.to_string())),
        }
    }

    /// Records checkpoint `seq`/`hash` of the log `genesis` in `store` (keeping the higher
    /// seq), written to a temp file and renamed over `path`.
    pub fn record(
        path: &Path,
        genesis: &str,
        store: &str,
        seq: u64,
        hash: &str,
    ) -> std::io::Result<()> {
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
                store: Some(store.to_string()),
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

    /// Entries that speak about `store`: those naming it, and unnamed (older) ones.
    fn about<'a>(&'a self, store: &'a str) -> impl Iterator<Item = (&'a String, &'a WitnessEntry)> {
        self.logs
            .iter()
            .filter(move |(_, e)| e.store.as_deref().is_none_or(|s| s == store))
    }
}

fn fail(seq: u64, problem: Problem, detail: String) -> VerifyFailure {
    VerifyFailure {
        seq,
        problem,
        detail,
    }
}

/// Checks a verified log against a witness: the checkpoint this host last wrote to this
/// log (by genesis hash) must be in it, with the same hash. With `store` (the store the
/// records were read from), a log this host never wrote to there, while it wrote another
/// log there, is replaced; an empty one is truncated.
pub fn check_witness(
    records: &[AuditRecord],
    witness: &Witness,
    store: Option<&str>,
) -> Result<(), VerifyFailure> {
    let Some(genesis) = records.first() else {
        if let Some((g, e)) = store.and_then(|s| witness.about(s).next()) {
            return Err(fail(
                1,
                Problem::Truncated,
                format!(
                    "the log is empty, but this host wrote a checkpoint at seq {} of the log with genesis {g} here (witness)",
                    e.seq
                ),
            ));
        }
        return Ok(());
    };
    let Some(w) = witness.logs.get(&genesis.hash) else {
        if let Some((g, e)) = store.and_then(|s| witness.about(s).next()) {
            return Err(fail(
                1,
                Problem::Replaced,
                format!(
                    "this host wrote a checkpoint at seq {} of the log with genesis {g} here, but this log's genesis is {} (witness)",
                    e.seq, genesis.hash
                ),
            ));
        }
        return Ok(());
    };
    // A log that started over in this store: this host's older log here is gone.
    if let Some(s) = store
        && let Some((g, e)) = witness
            .logs
            .iter()
            .find(|(g, e)| **g != genesis.hash && e.store.as_deref() == Some(s))
    {
        return Err(fail(
            1,
            Problem::Replaced,
            format!(
                "this host wrote a checkpoint at seq {} of another log here (genesis {g}); this log (genesis {}) started over (witness)",
                e.seq, genesis.hash
            ),
        ));
    }
    let last = records.last().map_or(0, |r| r.seq);
    match records.iter().find(|r| r.seq == w.seq) {
        None => Err(fail(
            last + 1,
            Problem::Truncated,
            format!(
                "the log ends at seq {last}, but this host wrote a checkpoint at seq {} (witness)",
                w.seq
            ),
        )),
        Some(r) if r.hash != w.hash => Err(fail(
            w.seq,
            Problem::Modified,
            format!(
                "this host's witness holds checkpoint seq {} with hash {}, the log has {}",
                w.seq, w.hash, r.hash
            ),
        )),
        Some(_) => Ok(()),
    }
}
