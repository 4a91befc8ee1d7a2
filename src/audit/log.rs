//! `AuditLog`: the one writer handle (cheap to clone, shared by the UI and the engine) that
//! redacts, chains and commits records, and seals the chain with signed checkpoints.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use ed25519_dalek::{SigningKey, VerifyingKey};

use crate::store::{NewRequest, Store};

use super::AuditError;
use super::chain::{Head, seal, to_row};
use super::checkpoint::sign;
use super::keyring::{self, KeyState};
use super::keys::{KeySource, public_hex};
use super::record::{AuditRecord, NewRecord, Operator, RecordKind};
use super::witness::Witness;

/// A console session's handle on the audit log. `Clone + Send + Sync`.
#[derive(Clone)]
pub struct AuditLog {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    key: SigningKey,
    session: String,
    operator: Operator,
    /// The log's identity (its genesis record's hash), for the witness.
    genesis_hash: String,
    witness: Option<PathBuf>,
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLog")
            .field("session", &self.inner.session)
            .field("public_key", &public_hex(&self.inner.key.verifying_key()))
            .finish_non_exhaustive()
    }
}

/// One step of an append transaction.
enum Pending {
    Record(Box<AuditRecord>),
    Checkpoint,
}

impl AuditLog {
    /// Opens the log in `store` for a new session: loads (or creates) the signing key,
    /// writes the genesis record if the log is empty, then `SessionStart`. A log whose
    /// keyring does not admit our key is refused (`KeyNotAdmitted`: its checkpoints would
    /// not verify), before anything is written.
    pub async fn open(
        store: &Store,
        key: KeySource,
        session: String,
        operator: Operator,
    ) -> Result<AuditLog, AuditError> {
        let witness = key.path()?.map(|p| Witness::path_for(&p));
        let signing = key.load_or_create()?;
        let mut log = AuditLog {
            inner: Arc::new(Inner {
                store: store.clone(),
                key: signing,
                session,
                operator,
                genesis_hash: String::new(),
                witness,
            }),
        };
        let before = log.admitted().await?;
        log.write(vec![
            log.pending(RecordKind::SessionStart, NewRecord::default()),
        ])
        .await?;
        // The log was empty: the genesis record may have been ours or a racing console's.
        let genesis = match before {
            Some(g) => Some(g),
            None => log.admitted().await?,
        };
        if let Some(inner) = Arc::get_mut(&mut log.inner) {
            inner.genesis_hash = genesis.unwrap_or_default();
        }
        Ok(log)
    }

    /// The log's genesis hash (None when the log is empty), if the keyring admits our key;
    /// else `KeyNotAdmitted`, saying what to do.
    async fn admitted(&self) -> Result<Option<String>, AuditError> {
        let ring = keyring::read(&self.inner.store).await?;
        let Some(genesis) = ring.genesis_hash() else {
            return Ok(None);
        };
        let ours = public_hex(&self.inner.key.verifying_key());
        let add = format!("ebb audit keys add {ours} --owner NAME");
        let hint = match ring.state(&ours) {
            KeyState::Admitted { .. } => return Ok(Some(genesis.to_string())),
            KeyState::Unknown => format!(
                "the log's keys are on its keyring (genesis key {}); ask an admin to run `{add}`",
                ring.genesis_key().unwrap_or("?")
            ),
            KeyState::Pending { admitted_seq } => format!(
                "it was admitted at seq {admitted_seq}, which counts once a checkpoint by an admitted key seals it (when an admitted console exits); try again then"
            ),
            KeyState::Revoked {
                revoked_seq,
                reason,
            } => format!(
                "it was revoked at seq {revoked_seq} ({reason}); ask an admin to run `{add}` to admit it again"
            ),
        };
        Err(AuditError::KeyNotAdmitted { ours, hint })
    }

    /// Appends `KeyAdmitted` for `public_key` (owner redacted and escaped) and returns its
    /// seq. It counts once a checkpoint by an admitted key seals it: this session's
    /// `checkpoint` or `close`.
    pub async fn admit_key(
        &self,
        public_key: &VerifyingKey,
        owner: &str,
    ) -> Result<u64, AuditError> {
        self.append_kind(RecordKind::KeyAdmitted {
            public_key: public_hex(public_key),
            owner: clean(owner),
        })
        .await
    }

    /// Appends `KeyRevoked` for `public_key` (reason redacted and escaped) and returns its
    /// seq: that key's checkpoints after it do not verify.
    pub async fn revoke_key(
        &self,
        public_key: &VerifyingKey,
        reason: &str,
    ) -> Result<u64, AuditError> {
        self.append_kind(RecordKind::KeyRevoked {
            public_key: public_hex(public_key),
            reason: clean(reason),
        })
        .await
    }

    async fn append_kind(&self, kind: RecordKind) -> Result<u64, AuditError> {
        let seqs = self
            .write(vec![self.pending(kind, NewRecord::default())])
            .await?;
        seqs.last()
            .copied()
            .ok_or_else(|| AuditError::Corrupt("nothing was appended".into()))
    }

    /// Appends one record (redacted and escaped first) and returns its seq once committed.
    pub async fn append(&self, rec: NewRecord) -> Result<u64, AuditError> {
        let kind = rec.kind.into();
        let seqs = self.write(vec![self.pending(kind, rec)]).await?;
        seqs.last()
            .copied()
            .ok_or_else(|| AuditError::Corrupt("nothing was appended".into()))
    }

    /// Appends one record and, in the same transaction, a request for a run's runner whose
    /// `audit_seq` is that record's seq; returns the request's id once both committed.
    pub async fn append_with_request(
        &self,
        rec: NewRecord,
        request: &NewRequest,
    ) -> Result<i64, AuditError> {
        let kind = rec.kind.into();
        let (_, id) = self
            .write_with(vec![self.pending(kind, rec)], Some(request))
            .await?;
        id.ok_or_else(|| AuditError::Corrupt("the request was not inserted".into()))
    }

    /// Writes a signed checkpoint covering the current head.
    pub async fn checkpoint(&self) -> Result<(), AuditError> {
        self.write(vec![Pending::Checkpoint]).await.map(|_| ())
    }

    /// Ends the session: `SessionEnd` and a final checkpoint, in one transaction (also
    /// when nothing happened in the session).
    pub async fn close(&self) -> Result<(), AuditError> {
        let end = self.pending(RecordKind::SessionEnd, NewRecord::default());
        self.write(vec![end, Pending::Checkpoint]).await.map(|_| ())
    }

    pub fn session(&self) -> &str {
        &self.inner.session
    }

    pub fn operator(&self) -> &Operator {
        &self.inner.operator
    }

    /// The public half of the signing key.
    pub fn public_key(&self) -> ed25519_dalek::VerifyingKey {
        self.inner.key.verifying_key()
    }

    fn pending(&self, kind: RecordKind, rec: NewRecord) -> Pending {
        let mut args = rec.args;
        crate::redact::redact_json(&mut args);
        let clean = |s: Option<String>| s.map(|s| clean(&s));
        Pending::Record(Box::new(AuditRecord {
            seq: 0,
            at_ns: 0,
            session: self.inner.session.clone(),
            kind,
            operator: self.inner.operator.clone(),
            key: clean(rec.key),
            action: clean(rec.action),
            run_id: clean(rec.run_id),
            step_id: clean(rec.step_id),
            args,
            outcome: clean(rec.outcome),
            plan_digest: clean(rec.plan_digest),
            text: clean(rec.text),
            prev_hash: String::new(),
            hash: String::new(),
        }))
    }

    /// One transaction: genesis first if the log is empty, then `items` in order.
    async fn write(&self, items: Vec<Pending>) -> Result<Vec<u64>, AuditError> {
        self.write_with(items, None).await.map(|(seqs, _)| seqs)
    }

    /// `write`, with a request row inserted in the same transaction.
    async fn write_with(
        &self,
        items: Vec<Pending>,
        request: Option<&NewRequest>,
    ) -> Result<(Vec<u64>, Option<i64>), AuditError> {
        let inner = &self.inner;
        let mut checkpoint_at = None;
        let (rows, request_id) = inner
            .store
            .audit_append_with_request(
                |head| {
                    let mut head = Head::from_store(head)?;
                    let mut rows = Vec::with_capacity(items.len() + 1);
                    let at_ns = now_ns();
                    if head.seq == 0 {
                        let mut g = genesis(inner, at_ns);
                        head = seal(&mut g, head);
                        rows.push(to_row(&g)?);
                    }
                    for item in items {
                        let mut r = match item {
                            Pending::Record(r) => *r,
                            Pending::Checkpoint => {
                                let mut r = genesis(inner, at_ns);
                                r.kind = sign(&inner.key, head);
                                r
                            }
                        };
                        r.at_ns = at_ns;
                        let is_checkpoint = matches!(r.kind, RecordKind::Checkpoint { .. });
                        head = seal(&mut r, head);
                        if is_checkpoint {
                            checkpoint_at = Some((r.seq, r.hash.clone()));
                        }
                        rows.push(to_row(&r)?);
                    }
                    Ok::<_, AuditError>(rows)
                },
                request,
            )
            .await??;
        if let (Some(path), Some((seq, hash))) = (&inner.witness, checkpoint_at) {
            let genesis = if inner.genesis_hash.is_empty() {
                rows.first().map(|r| r.hash.clone()).unwrap_or_default()
            } else {
                inner.genesis_hash.clone()
            };
            let store = inner.store.identity();
            if let Err(e) = Witness::record(path, &genesis, &store, seq, &hash) {
                tracing::warn!(error = %e, path = %path.display(), "cannot update the audit witness");
            }
        }
        Ok((rows.iter().map(|r| r.seq).collect(), request_id))
    }
}

/// A record of this session with no content; `kind` genesis with our public key.
fn genesis(inner: &Inner, at_ns: i64) -> AuditRecord {
    AuditRecord {
        seq: 0,
        at_ns,
        session: inner.session.clone(),
        kind: RecordKind::Genesis {
            public_key: public_hex(&inner.key.verifying_key()),
        },
        operator: inner.operator.clone(),
        key: None,
        action: None,
        run_id: None,
        step_id: None,
        args: serde_json::Value::Null,
        outcome: None,
        plan_digest: None,
        text: None,
        prev_hash: String::new(),
        hash: String::new(),
    }
}

/// Text from outside, redacted, then escaped.
fn clean(s: &str) -> String {
    escape(&crate::redact::redact_str(s))
}

/// Text from outside, kept escaped line by line (`\u{1b}`), never interpreted.
fn escape(s: &str) -> String {
    s.split('\n')
        .map(|line| crate::text::DisplayText::new(line).raw_escaped())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Now, in UTC nanoseconds since the epoch.
pub fn now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
