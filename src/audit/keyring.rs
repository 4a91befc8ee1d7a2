//! The log's keyring: which Ed25519 public keys may sign its checkpoints, folded from the
//! log's own records (genesis admits its key, `KeyAdmitted` once sealed, `KeyRevoked` at once).
//!
//! An admission takes effect once a checkpoint by a key admitted before it seals the
//! record: someone who can write the store but holds no admitted key cannot admit a key of
//! their own and sign with it. A revocation takes effect at its record. A revoked key can
//! be admitted again (a new entry). The fold trusts the key a checkpoint names; `verify`
//! checks the signature before it folds the record.

use serde::Serialize;

use crate::store::{AuditQuery, Store};

use super::AuditError;
use super::record::{AuditRecord, RecordKind};

/// Where one key stands at a point of the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyState {
    /// Neither genesis nor an admission names it.
    Unknown,
    /// Admitted at `admitted_seq`, but no checkpoint by an admitted key has sealed it yet.
    Pending { admitted_seq: u64 },
    /// May sign checkpoints.
    Admitted { admitted_seq: u64 },
    /// Revoked at `revoked_seq`.
    Revoked { revoked_seq: u64, reason: String },
}

/// One admission of a key, and what became of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct KeyEntry {
    /// 64 lowercase hex digits.
    pub public_key: String,
    /// As the admin typed it; for the genesis key, `user@host` of the console that wrote it.
    pub owner: String,
    /// The record that admitted it (1: the genesis record).
    pub admitted_seq: u64,
    pub admitted_at_ns: i64,
    /// The operator who admitted it (as on record).
    pub admitted_by: String,
    /// The checkpoint that sealed the admission (genesis: 1); None while pending.
    pub sealed_seq: Option<u64>,
    pub revoked: Option<Revocation>,
    /// Checkpoints this key signed while admitted.
    pub checkpoints: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Revocation {
    pub seq: u64,
    pub at_ns: i64,
    pub by: String,
    pub reason: String,
}

impl KeyEntry {
    /// `admitted`, `pending` or `revoked`.
    pub fn status(&self) -> &'static str {
        match (&self.revoked, self.sealed_seq) {
            (Some(_), _) => "revoked",
            (None, Some(_)) => "admitted",
            (None, None) => "pending",
        }
    }

    pub fn is_genesis(&self) -> bool {
        self.admitted_seq == 1
    }
}

/// The keyring at a point of the log: every admission in log order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Keyring {
    entries: Vec<KeyEntry>,
    genesis_hash: Option<String>,
}

impl Keyring {
    /// Folds `records`, in log order.
    pub fn from_records<'a>(records: impl IntoIterator<Item = &'a AuditRecord>) -> Keyring {
        let mut ring = Keyring::default();
        for r in records {
            ring.apply(r);
        }
        ring
    }

    /// Every admission, oldest first (a key admitted again after a revocation appears twice).
    pub fn entries(&self) -> &[KeyEntry] {
        &self.entries
    }

    /// The genesis record's hash (the log's identity), once folded.
    pub fn genesis_hash(&self) -> Option<&str> {
        self.genesis_hash.as_deref()
    }

    /// The key genesis names.
    pub fn genesis_key(&self) -> Option<&str> {
        self.entries
            .first()
            .filter(|e| e.is_genesis())
            .map(|e| e.public_key.as_str())
    }

    /// The newest admission of `public_key` (hex, any case).
    pub fn entry(&self, public_key: &str) -> Option<&KeyEntry> {
        self.entries
            .iter()
            .rev()
            .find(|e| e.public_key.eq_ignore_ascii_case(public_key))
    }

    fn entry_mut(&mut self, public_key: &str) -> Option<&mut KeyEntry> {
        self.entries
            .iter_mut()
            .rev()
            .find(|e| e.public_key.eq_ignore_ascii_case(public_key))
    }

    /// Where `public_key` stands after the records folded so far.
    pub fn state(&self, public_key: &str) -> KeyState {
        match self.entry(public_key) {
            None => KeyState::Unknown,
            Some(KeyEntry {
                revoked: Some(r), ..
            }) => KeyState::Revoked {
                revoked_seq: r.seq,
                reason: r.reason.clone(),
            },
            Some(e) if e.sealed_seq.is_some() => KeyState::Admitted {
                admitted_seq: e.admitted_seq,
            },
            Some(e) => KeyState::Pending {
                admitted_seq: e.admitted_seq,
            },
        }
    }

    /// Folds one record (the next in log order).
    pub fn apply(&mut self, r: &AuditRecord) {
        let who = || r.operator.display();
        match &r.kind {
            RecordKind::Genesis { public_key } => {
                self.genesis_hash = Some(r.hash.clone());
                self.entries.push(KeyEntry {
                    public_key: public_key.to_ascii_lowercase(),
                    owner: format!("{}@{}", r.operator.user, r.operator.host),
                    admitted_seq: r.seq,
                    admitted_at_ns: r.at_ns,
                    admitted_by: who(),
                    sealed_seq: Some(r.seq),
                    revoked: None,
                    checkpoints: 0,
                });
            }
            RecordKind::KeyAdmitted { public_key, owner } => {
                if matches!(
                    self.state(public_key),
                    KeyState::Admitted { .. } | KeyState::Pending { .. }
                ) {
                    return; // admitted twice: the first admission stands
                }
                self.entries.push(KeyEntry {
                    public_key: public_key.to_ascii_lowercase(),
                    owner: owner.clone(),
                    admitted_seq: r.seq,
                    admitted_at_ns: r.at_ns,
                    admitted_by: who(),
                    sealed_seq: None,
                    revoked: None,
                    checkpoints: 0,
                });
            }
            RecordKind::KeyRevoked { public_key, reason } => {
                if let Some(e) = self.entry_mut(public_key)
                    && e.revoked.is_none()
                {
                    e.revoked = Some(Revocation {
                        seq: r.seq,
                        at_ns: r.at_ns,
                        by: who(),
                        reason: reason.clone(),
                    });
                }
            }
            RecordKind::Checkpoint { public_key, .. } => {
                if !matches!(self.state(public_key), KeyState::Admitted { .. }) {
                    return;
                }
                if let Some(e) = self.entry_mut(public_key) {
                    e.checkpoints += 1;
                }
                for e in &mut self.entries {
                    if e.sealed_seq.is_none() && e.revoked.is_none() && e.admitted_seq < r.seq {
                        e.sealed_seq = Some(r.seq);
                    }
                }
            }
            RecordKind::SessionStart
            | RecordKind::SessionEnd
            | RecordKind::Intent
            | RecordKind::Outcome
            | RecordKind::Engine
            | RecordKind::Note => {}
        }
    }
}

/// The keyring of the log in `store`, as its records say, not verified (`ebb audit verify`
/// checks signatures; this answers who may write). Only genesis, checkpoint and key records
/// are parsed.
pub async fn read(store: &Store) -> Result<Keyring, AuditError> {
    let rows = store.audit_rows(AuditQuery::default()).await?;
    let mut ring = Keyring::default();
    for (i, row) in rows.iter().enumerate() {
        if i > 0
            && !matches!(
                row.kind.as_str(),
                "checkpoint" | "key_admitted" | "key_revoked"
            )
        {
            continue;
        }
        let r: AuditRecord = serde_json::from_str(&row.record)?;
        if i == 0 && !matches!(r.kind, RecordKind::Genesis { .. }) {
            return Err(AuditError::Corrupt(
                "the log's first record is not genesis".into(),
            ));
        }
        ring.apply(&r);
    }
    Ok(ring)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::record::Operator;

    const G: &str = "aa";
    const B: &str = "bb";
    const C: &str = "cc";

    fn rec(seq: u64, kind: RecordKind) -> AuditRecord {
        AuditRecord {
            seq,
            at_ns: seq as i64,
            session: "s".into(),
            kind,
            operator: Operator {
                user: "alice".into(),
                host: "bastion-1".into(),
                ..Operator::default()
            },
            key: None,
            action: None,
            run_id: None,
            step_id: None,
            args: serde_json::Value::Null,
            outcome: None,
            plan_digest: None,
            text: None,
            prev_hash: String::new(),
            hash: format!("h{seq}"),
        }
    }

    fn genesis() -> AuditRecord {
        rec(
            1,
            RecordKind::Genesis {
                public_key: G.into(),
            },
        )
    }

    fn admit(seq: u64, key: &str) -> AuditRecord {
        rec(
            seq,
            RecordKind::KeyAdmitted {
                public_key: key.into(),
                owner: format!("owner-of-{key}"),
            },
        )
    }

    fn revoke(seq: u64, key: &str) -> AuditRecord {
        rec(
            seq,
            RecordKind::KeyRevoked {
                public_key: key.into(),
                reason: "left the team".into(),
            },
        )
    }

    fn cp(seq: u64, key: &str) -> AuditRecord {
        rec(
            seq,
            RecordKind::Checkpoint {
                covers_seq: seq - 1,
                head_hash: String::new(),
                count: seq - 1,
                signature: String::new(),
                public_key: key.into(),
            },
        )
    }

    #[test]
    fn genesis_admits_its_key_at_once() {
        let ring = Keyring::from_records(&[genesis()]);
        assert_eq!(ring.state(G), KeyState::Admitted { admitted_seq: 1 });
        assert_eq!(ring.state("AA"), KeyState::Admitted { admitted_seq: 1 });
        assert_eq!(ring.state(B), KeyState::Unknown);
        assert_eq!(ring.genesis_key(), Some(G));
        assert_eq!(ring.genesis_hash(), Some("h1"));
        assert_eq!(ring.entries()[0].owner, "alice@bastion-1");
        assert_eq!(ring.entries()[0].status(), "admitted");
    }

    #[test]
    fn an_admission_counts_once_an_admitted_key_seals_it() {
        let mut ring = Keyring::from_records(&[genesis(), admit(2, B)]);
        assert_eq!(ring.state(B), KeyState::Pending { admitted_seq: 2 });
        // The admitted key's own checkpoint does not seal its admission.
        ring.apply(&cp(3, B));
        assert_eq!(ring.state(B), KeyState::Pending { admitted_seq: 2 });
        assert_eq!(ring.entry(B).map(|e| e.checkpoints), Some(0));
        ring.apply(&cp(4, G));
        assert_eq!(ring.state(B), KeyState::Admitted { admitted_seq: 2 });
        assert_eq!(ring.entry(B).and_then(|e| e.sealed_seq), Some(4));
        ring.apply(&cp(5, B));
        assert_eq!(ring.entry(B).map(|e| e.checkpoints), Some(1));
        // A key admitted by B, sealed by B: B is admitted now.
        ring.apply(&admit(6, C));
        ring.apply(&cp(7, B));
        assert_eq!(ring.state(C), KeyState::Admitted { admitted_seq: 6 });
        // Admitting twice keeps the first admission.
        ring.apply(&admit(8, C));
        assert_eq!(ring.entries().len(), 3);
    }

    #[test]
    fn a_revocation_counts_at_its_record_and_a_key_can_come_back() {
        let mut ring = Keyring::from_records(&[genesis(), admit(2, B), cp(3, G)]);
        ring.apply(&revoke(4, B));
        assert_eq!(
            ring.state(B),
            KeyState::Revoked {
                revoked_seq: 4,
                reason: "left the team".into()
            }
        );
        // A revoked key's checkpoint seals nothing and is not counted.
        ring.apply(&admit(5, C));
        ring.apply(&cp(6, B));
        assert_eq!(ring.state(C), KeyState::Pending { admitted_seq: 5 });
        assert_eq!(ring.entry(B).map(|e| e.checkpoints), Some(0));
        // Admitted again: a new entry, pending until sealed.
        ring.apply(&admit(7, B));
        assert_eq!(ring.state(B), KeyState::Pending { admitted_seq: 7 });
        ring.apply(&cp(8, G));
        assert_eq!(ring.state(B), KeyState::Admitted { admitted_seq: 7 });
        assert_eq!(ring.state(C), KeyState::Admitted { admitted_seq: 5 });
        let statuses: Vec<_> = ring.entries().iter().map(KeyEntry::status).collect();
        assert_eq!(statuses, ["admitted", "revoked", "admitted", "admitted"]);
    }

    #[test]
    fn a_revoked_pending_admission_is_never_sealed_and_genesis_can_be_revoked() {
        let mut ring = Keyring::from_records(&[genesis(), admit(2, B), revoke(3, B), cp(4, G)]);
        assert!(matches!(ring.state(B), KeyState::Revoked { .. }));
        assert_eq!(ring.entry(B).and_then(|e| e.sealed_seq), None);
        ring.apply(&revoke(5, G));
        assert!(matches!(
            ring.state(G),
            KeyState::Revoked { revoked_seq: 5, .. }
        ));
        // Revoking a key the ring never had changes nothing.
        ring.apply(&revoke(6, C));
        assert_eq!(ring.state(C), KeyState::Unknown);
    }
}
