//! Reading records back as stored: each parsed strictly (a field the record type does not
//! have is tampering), its index columns checked against it, then the chain verified.
//!
//! Export, show and `--since` work only from records that came through here, never from the
//! stored text or the index columns (`seq`, `at_ns`, `kind`, … are outside the hash).

use ed25519_dalek::VerifyingKey;
use serde_json::Value;

use crate::store::{AuditQuery, AuditRow, Store};

use super::AuditError;
use super::canon::{decode_hash, record_hash};
use super::record::AuditRecord;
use super::verify::{Problem, VerifyFailure, VerifyReport, verify_texts};

fn modified(seq: u64, detail: String) -> VerifyFailure {
    VerifyFailure {
        seq,
        problem: Problem::Modified,
        detail,
    }
}

/// Parses one record's JSON, refusing fields the record type does not know (at any depth
/// but inside `args`, which is free-form and hashed whole).
pub fn parse_strict(seq: u64, text: &str) -> Result<AuditRecord, VerifyFailure> {
    let value: Value = serde_json::from_str(text)
        .map_err(|e| modified(seq, format!("the record is not valid JSON: {e}")))?;
    let record: AuditRecord = serde_json::from_value(value.clone()).map_err(|e| {
        modified(
            seq,
            format!("the record is not valid JSON of a record: {e}"),
        )
    })?;
    let back = serde_json::to_value(&record)
        .map_err(|e| modified(seq, format!("the record cannot be encoded again: {e}")))?;
    if let Some(path) = extra_field(&value, &back, "") {
        return Err(modified(
            seq,
            format!("record seq {seq} has a field no audit record has: `{path}`"),
        ));
    }
    Ok(record)
}

/// The first key of `stored` (dotted path) that `typed` does not have.
fn extra_field(stored: &Value, typed: &Value, at: &str) -> Option<String> {
    let (Value::Object(s), Value::Object(t)) = (stored, typed) else {
        return None;
    };
    for (k, v) in s {
        let path = if at.is_empty() {
            k.clone()
        } else {
            format!("{at}.{k}")
        };
        match t.get(k) {
            None => return Some(path),
            Some(_) if path == "args" => {}
            Some(tv) => {
                if let Some(p) = extra_field(v, tv, &path) {
                    return Some(p);
                }
            }
        }
    }
    None
}

/// The index columns of `row` must say what its record says.
fn check_columns(row: &AuditRow, r: &AuditRecord) -> Result<(), VerifyFailure> {
    let mismatch = |column: &str, found: String, record: String| {
        Err(modified(
            r.seq,
            format!("its index column {column} says {found}, the record says {record}"),
        ))
    };
    if row.seq != r.seq {
        return mismatch("seq", row.seq.to_string(), r.seq.to_string());
    }
    if row.at_ns != r.at_ns {
        return mismatch("at_ns", row.at_ns.to_string(), r.at_ns.to_string());
    }
    if row.kind != r.kind.name() {
        return mismatch("kind", row.kind.clone(), r.kind.name().to_string());
    }
    if row.session != r.session {
        return mismatch("session", row.session.clone(), r.session.clone());
    }
    if row.prev_hash != r.prev_hash {
        return mismatch("prev_hash", row.prev_hash.clone(), r.prev_hash.clone());
    }
    if row.hash != r.hash {
        return mismatch("hash", row.hash.clone(), r.hash.clone());
    }
    Ok(())
}

/// Verifies stored rows: strict records, the chain and its signatures, then every row's
/// index columns against its record.
pub fn verify_rows(
    rows: &[AuditRow],
    pubkey: Option<VerifyingKey>,
) -> Result<(Vec<AuditRecord>, VerifyReport), VerifyFailure> {
    let (records, report) = verify_texts(rows.iter().map(|r| (r.seq, r.record.as_str())), pubkey)?;
    for (row, r) in rows.iter().zip(&records) {
        check_columns(row, r)?;
    }
    Ok((records, report))
}

/// Every record of the store's log, verified (without a witness), with the report.
pub async fn verified_rows(store: &Store) -> Result<(Vec<AuditRecord>, VerifyReport), AuditError> {
    let rows = store.audit_rows(AuditQuery::default()).await?;
    Ok(verify_rows(&rows, None)?)
}

/// Follows a verified log: records appended after `last` must continue its chain.
#[derive(Clone, Debug)]
pub struct ChainEnd {
    pub seq: u64,
    pub hash: String,
}

impl ChainEnd {
    /// The end of `records` (seq 0 and no hash before genesis).
    pub fn of(records: &[AuditRecord]) -> ChainEnd {
        records.last().map_or(
            ChainEnd {
                seq: 0,
                hash: hex::encode(super::canon::ZERO_HASH),
            },
            |r| ChainEnd {
                seq: r.seq,
                hash: r.hash.clone(),
            },
        )
    }

    /// Checks rows written after this end, in order: strict, linked, intact, and with
    /// index columns that match. Advances the end past them.
    pub fn extend(&mut self, rows: &[AuditRow]) -> Result<Vec<AuditRecord>, VerifyFailure> {
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let r = parse_strict(row.seq, &row.record)?;
            if r.seq != self.seq + 1 || r.prev_hash != self.hash {
                return Err(VerifyFailure {
                    seq: r.seq,
                    problem: Problem::Inserted,
                    detail: format!("it does not continue the chain after seq {}", self.seq),
                });
            }
            if decode_hash(&r.hash).is_none() || record_hash(&r) != decode_hash(&r.hash) {
                return Err(modified(
                    r.seq,
                    "its hash does not match its content".into(),
                ));
            }
            check_columns(row, &r)?;
            self.seq = r.seq;
            self.hash = r.hash.clone();
            out.push(r);
        }
        Ok(out)
    }
}
