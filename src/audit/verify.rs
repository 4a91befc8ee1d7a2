//! Verifying a log: walks the records in order and names the FIRST bad one and why
//! (modified, removed, reordered, inserted, truncated, bad or foreign signature).
//!
//! Rules, for record r after p (and p' before p), `linked` meaning r.prev_hash = p.hash
//! (zeros for the first record), `content_ok` meaning r.hash = H(domain ‖ r.prev_hash ‖ enc(r)):
//! - linked but not content_ok → **modified** (r's bytes changed after it was written);
//! - r.seq ≠ p.seq + 1 → **reordered** if the missing seq comes later in the log or r.seq went
//!   backwards, **inserted** if r.seq repeats an earlier seq, else **removed** (a gap);
//! - not linked → **inserted** at r if the next record links to p (r is extra), or at p if
//!   r links to p' (p is extra); **reordered** if r links to another record of the log;
//!   **modified** if r's own hash fails too; else **inserted** (r links to no known record);
//! - the first record must be genesis (seq 1, zero prev_hash) and no other may be;
//! - a checkpoint must cover exactly its predecessor (covers_seq = p.seq, head_hash = p.hash,
//!   count = covers_seq), name a key the keyring admits at that point (genesis's key, or
//!   `--pubkey`, which genesis must name; or one admitted by a sealed `KeyAdmitted`; else
//!   **foreign signature**; one revoked earlier is **revoked key**) and carry a valid
//!   Ed25519 signature by it (else **bad signature**). See [`super::keyring`].
//!
//! Truncation. Every record after the last checkpoint is the **unsealed tail**: a console
//! that crashed or was killed leaves one, so it is reported (in [`VerifyReport`]), not
//! failed. What a cut at the end cannot hide, and is reported as **truncated**:
//! - the log ends in a `SessionEnd`: `close` commits it together with its checkpoint, in one
//!   transaction, so only deletion leaves a `SessionEnd` last;
//! - a [`Witness`] (the checkpoint this host last wrote, kept beside its key) names a seq
//!   beyond the log's end, or a record that is not in the log with that hash.
//!
//! A cut back to a crash-like point, verified without the writer's witness, is
//! indistinguishable from a crash: it shows as an unsealed tail (or none).

use std::collections::HashSet;
use std::fmt;

use ed25519_dalek::{Signature, VerifyingKey};

use super::canon::{ZERO_HASH, checkpoint_message, decode_hash, record_hash};
use super::keyring::{KeyState, Keyring};
use super::keys::{parse_public_key, public_hex};
use super::record::{AuditRecord, RecordKind};

/// What a log that verified holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyReport {
    pub records: u64,
    /// `SessionStart` records.
    pub sessions: u64,
    pub checkpoints: u64,
    pub last_checkpoint_seq: Option<u64>,
    /// Records after the last checkpoint (a console that did not close).
    pub unsealed_tail: Option<UnsealedTail>,
    /// The keys that signed checkpoints, in order of admission.
    pub signers: Vec<Signer>,
}

/// A key that signed checkpoints of a log that verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signer {
    pub public_key: String,
    pub owner: String,
    pub checkpoints: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnsealedTail {
    pub first_seq: u64,
    pub last_seq: u64,
    pub records: u64,
    /// The sessions that wrote them.
    pub sessions: Vec<String>,
}

/// The first bad record and why.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("FAILED at seq {seq}: {problem}: {detail}")]
pub struct VerifyFailure {
    pub seq: u64,
    pub problem: Problem,
    pub detail: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Problem {
    Modified,
    Removed,
    Reordered,
    Inserted,
    Truncated,
    /// The log is not the one this host last wrote to this store (per its witness).
    Replaced,
    BadSignature,
    ForeignSignature,
    /// A checkpoint signed by a key revoked before it.
    RevokedKey,
    /// Well-linked but not a valid log (no genesis first, a bad checkpoint…).
    Malformed,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Problem::Modified => "modified",
            Problem::Removed => "removed",
            Problem::Reordered => "reordered",
            Problem::Inserted => "inserted",
            Problem::Truncated => "truncated after the last checkpoint",
            Problem::Replaced => "replaced",
            Problem::BadSignature => "bad signature",
            Problem::ForeignSignature => "foreign signature",
            Problem::RevokedKey => "revoked key",
            Problem::Malformed => "malformed",
        })
    }
}

impl fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "OK: {} records, {} sessions, {} checkpoints, last checkpoint at seq {}",
            self.records,
            self.sessions,
            self.checkpoints,
            self.last_checkpoint_seq
                .map_or_else(|| "-".to_string(), |s| s.to_string())
        )?;
        // One key is the single-key log it always was; more are named, with their share.
        if self.signers.len() > 1 {
            write!(f, "\ncheckpoints by {} keys:", self.signers.len())?;
            for s in &self.signers {
                write!(
                    f,
                    "\n  {} ({}): {} checkpoints",
                    s.public_key, s.owner, s.checkpoints
                )?;
            }
        }
        if let Some(t) = &self.unsealed_tail {
            write!(
                f,
                "\nunsealed tail: seq {}..={} ({} records after the last checkpoint, by session {}): \
                 a console did not close (crash or kill)",
                t.first_seq,
                t.last_seq,
                t.records,
                t.sessions.join(", ")
            )?;
        }
        Ok(())
    }
}

fn fail(seq: u64, problem: Problem, detail: impl Into<String>) -> VerifyFailure {
    VerifyFailure {
        seq,
        problem,
        detail: detail.into(),
    }
}

/// Verifies `records` in the order given. `pubkey`, when given, is the trust root in place
/// of genesis's key (the genesis record must name it); the keyring grows from it.
pub fn verify(
    records: &[AuditRecord],
    pubkey: Option<VerifyingKey>,
) -> Result<VerifyReport, VerifyFailure> {
    let seqs: HashSet<u64> = records.iter().map(|r| r.seq).collect();
    let mut ring = Keyring::default();
    let mut report = VerifyReport {
        records: records.len() as u64,
        sessions: 0,
        checkpoints: 0,
        last_checkpoint_seq: None,
        unsealed_tail: None,
        signers: Vec::new(),
    };
    let mut last_cp_index = None;
    let mut prev_hash = ZERO_HASH;
    for (i, r) in records.iter().enumerate() {
        let p = i.checked_sub(1).map(|j| &records[j]);
        let pp = i.checked_sub(2).map(|j| &records[j]);
        let expected_seq = p.map_or(1, |p| p.seq + 1);
        let own = decode_hash(&r.hash);
        let content_ok = own.is_some() && record_hash(r) == own;
        let linked = decode_hash(&r.prev_hash) == Some(prev_hash);
        let p_seq = p.map_or(0, |p| p.seq);

        if linked && !content_ok {
            return Err(fail(
                r.seq,
                Problem::Modified,
                "its hash does not match its content",
            ));
        }
        if r.seq != expected_seq {
            if i == 0 {
                return Err(fail(
                    1,
                    Problem::Removed,
                    format!(
                        "the log starts at seq {}, not at its genesis (seq 1)",
                        r.seq
                    ),
                ));
            }
            if records[..i].iter().any(|q| q.seq == r.seq) {
                return Err(fail(
                    r.seq,
                    Problem::Inserted,
                    format!("a second record with seq {}", r.seq),
                ));
            }
            if r.seq < expected_seq || seqs.contains(&expected_seq) {
                return Err(fail(
                    r.seq,
                    Problem::Reordered,
                    format!("seq {} comes after seq {p_seq}", r.seq),
                ));
            }
            let detail = if r.seq == expected_seq + 1 {
                format!(
                    "seq {expected_seq} is missing (seq {p_seq} is followed by seq {})",
                    r.seq
                )
            } else {
                format!(
                    "seq {expected_seq}..={} are missing (seq {p_seq} is followed by seq {})",
                    r.seq - 1,
                    r.seq
                )
            };
            return Err(fail(expected_seq, Problem::Removed, detail));
        }
        if !linked {
            let next = records.get(i + 1);
            if let (Some(p), Some(n)) = (p, next)
                && n.prev_hash == p.hash
            {
                return Err(fail(
                    r.seq,
                    Problem::Inserted,
                    format!("seq {} links to seq {p_seq}, skipping this record", n.seq),
                ));
            }
            if let Some(pp) = pp
                && r.prev_hash == pp.hash
            {
                return Err(fail(
                    p_seq,
                    Problem::Inserted,
                    format!(
                        "seq {} links to seq {}, skipping this record",
                        r.seq, pp.seq
                    ),
                ));
            }
            if let Some(q) = records.iter().find(|q| q.hash == r.prev_hash) {
                return Err(fail(
                    r.seq,
                    Problem::Reordered,
                    format!("it links to seq {}, not to seq {p_seq}", q.seq),
                ));
            }
            if !content_ok {
                return Err(fail(
                    r.seq,
                    Problem::Modified,
                    "its prev_hash and hash do not match the chain",
                ));
            }
            return Err(fail(
                r.seq,
                Problem::Inserted,
                format!(
                    "it does not link to seq {p_seq} (its prev_hash names no record in the log)"
                ),
            ));
        }
        // Linked and intact: check what the record says.
        match &r.kind {
            RecordKind::Genesis { public_key } => {
                if i != 0 {
                    return Err(fail(r.seq, Problem::Inserted, "a second genesis record"));
                }
                let named = parse_public_key(public_key).map_err(|e| {
                    fail(
                        r.seq,
                        Problem::Malformed,
                        format!("genesis public key: {e}"),
                    )
                })?;
                match pubkey {
                    Some(k) if k != named => {
                        return Err(fail(
                            r.seq,
                            Problem::ForeignSignature,
                            format!(
                                "the log's genesis names key {public_key}, not the given public key {}",
                                public_hex(&k)
                            ),
                        ));
                    }
                    _ => {}
                }
            }
            _ if i == 0 => {
                return Err(fail(
                    r.seq,
                    Problem::Malformed,
                    "the first record is not genesis",
                ));
            }
            RecordKind::Checkpoint {
                covers_seq,
                head_hash,
                count,
                signature,
                public_key,
            } => {
                if *covers_seq != p_seq
                    || decode_hash(head_hash) != Some(prev_hash)
                    || *count != *covers_seq
                {
                    return Err(fail(
                        r.seq,
                        Problem::Malformed,
                        format!(
                            "the checkpoint covers seq {covers_seq} (count {count}) but follows seq {p_seq}"
                        ),
                    ));
                }
                let genesis_key = ring.genesis_key().unwrap_or("?").to_string();
                let expected = match ring.state(public_key) {
                    KeyState::Admitted { .. } => parse_public_key(public_key).map_err(|e| {
                        fail(
                            r.seq,
                            Problem::Malformed,
                            format!("checkpoint public key: {e}"),
                        )
                    })?,
                    KeyState::Revoked {
                        revoked_seq,
                        reason,
                    } => {
                        return Err(fail(
                            r.seq,
                            Problem::RevokedKey,
                            format!(
                                "signed by key {public_key}, revoked at seq {revoked_seq} ({reason})"
                            ),
                        ));
                    }
                    KeyState::Pending { admitted_seq } => {
                        return Err(fail(
                            r.seq,
                            Problem::ForeignSignature,
                            format!(
                                "signed by key {public_key}, whose admission at seq {admitted_seq} no checkpoint by an admitted key had sealed"
                            ),
                        ));
                    }
                    KeyState::Unknown => {
                        return Err(fail(
                            r.seq,
                            Problem::ForeignSignature,
                            format!(
                                "signed by key {public_key}, not the log's key {genesis_key} nor one admitted to its keyring"
                            ),
                        ));
                    }
                };
                let mut sig = [0u8; 64];
                let ok = hex::decode_to_slice(signature, &mut sig).is_ok()
                    && expected
                        .verify_strict(
                            &checkpoint_message(*covers_seq, &prev_hash, *count),
                            &Signature::from_bytes(&sig),
                        )
                        .is_ok();
                if !ok {
                    return Err(fail(
                        r.seq,
                        Problem::BadSignature,
                        format!(
                            "the signature over seq 1..={covers_seq} does not verify with key {public_key}"
                        ),
                    ));
                }
                report.checkpoints += 1;
                report.last_checkpoint_seq = Some(r.seq);
                last_cp_index = Some(i);
            }
            RecordKind::KeyAdmitted { public_key, .. }
            | RecordKind::KeyRevoked { public_key, .. } => {
                parse_public_key(public_key).map_err(|e| {
                    fail(
                        r.seq,
                        Problem::Malformed,
                        format!("keyring public key: {e}"),
                    )
                })?;
            }
            RecordKind::SessionStart => report.sessions += 1,
            RecordKind::SessionEnd
            | RecordKind::Intent
            | RecordKind::Outcome
            | RecordKind::Engine
            | RecordKind::Note => {}
        }
        ring.apply(r);
        prev_hash = own.unwrap_or(ZERO_HASH);
    }
    report.signers = ring
        .entries()
        .iter()
        .filter(|e| e.checkpoints > 0)
        .map(|e| Signer {
            public_key: e.public_key.clone(),
            owner: e.owner.clone(),
            checkpoints: e.checkpoints,
        })
        .collect();
    if let Some(last) = records.last()
        && matches!(last.kind, RecordKind::SessionEnd)
    {
        return Err(fail(
            last.seq + 1,
            Problem::Truncated,
            format!(
                "the log ends with session {}'s end (seq {}) but not the checkpoint committed with it",
                last.session, last.seq
            ),
        ));
    }
    let tail = &records[last_cp_index.map_or(0, |i| i + 1)..];
    if let (Some(first), Some(last)) = (tail.first(), tail.last()) {
        let mut sessions: Vec<String> = Vec::new();
        for r in tail {
            if !sessions.contains(&r.session) {
                sessions.push(r.session.clone());
            }
        }
        report.unsealed_tail = Some(UnsealedTail {
            first_seq: first.seq,
            last_seq: last.seq,
            records: tail.len() as u64,
            sessions,
        });
    }
    Ok(report)
}

/// Parses records from their JSON texts (`(seq or line number, text)`); the first that
/// does not parse is a failure, reported only if everything before it verifies.
pub fn verify_texts<'a>(
    texts: impl IntoIterator<Item = (u64, &'a str)>,
    pubkey: Option<VerifyingKey>,
) -> Result<(Vec<AuditRecord>, VerifyReport), VerifyFailure> {
    let mut records = Vec::new();
    let mut bad = None;
    for (seq, text) in texts {
        match super::stored::parse_strict(seq, text) {
            Ok(r) => records.push(r),
            Err(e) => {
                bad = Some(e);
                break;
            }
        }
    }
    match (verify(&records, pubkey), bad) {
        // A cut-short prefix may end oddly; the unreadable record is the first bad one.
        (Err(f), Some(b)) if f.problem == Problem::Truncated => Err(b),
        (Err(f), _) | (Ok(_), Some(f)) => Err(f),
        (Ok(report), None) => Ok((records, report)),
    }
}
