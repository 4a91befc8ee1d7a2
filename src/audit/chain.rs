//! Linking records into the chain: give a record its seq and `prev_hash` from the head,
//! compute its hash, and turn it into a store row.

use crate::store::{AuditHead, AuditRow};

use super::AuditError;
use super::canon::{ZERO_HASH, chain_hash, decode_hash, encode};
use super::record::AuditRecord;

/// The chain's current end, as the next record sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Head {
    pub seq: u64,
    pub hash: [u8; 32],
}

impl Head {
    /// Before genesis: seq 0 and the zero hash.
    pub const EMPTY: Head = Head {
        seq: 0,
        hash: ZERO_HASH,
    };

    /// From the store's head row; a hash that is not 64 hex digits is corruption.
    pub fn from_store(h: Option<AuditHead>) -> Result<Head, AuditError> {
        match h {
            None => Ok(Head::EMPTY),
            Some(h) => Ok(Head {
                seq: h.seq,
                hash: decode_hash(&h.hash).ok_or_else(|| {
                    AuditError::Corrupt(format!("the head (seq {}) has hash {:?}", h.seq, h.hash))
                })?,
            }),
        }
    }
}

/// Sets `r.seq` and `r.prev_hash` from `head`, computes `r.hash`, and returns the new head.
pub fn seal(r: &mut AuditRecord, head: Head) -> Head {
    r.seq = head.seq + 1;
    r.prev_hash = hex::encode(head.hash);
    let hash = chain_hash(&head.hash, &encode(r));
    r.hash = hex::encode(hash);
    Head { seq: r.seq, hash }
}

/// The store row for a sealed record.
pub fn to_row(r: &AuditRecord) -> Result<AuditRow, AuditError> {
    Ok(AuditRow {
        seq: r.seq,
        at_ns: r.at_ns,
        session: r.session.clone(),
        kind: r.kind.name().to_string(),
        record: serde_json::to_string(r)?,
        prev_hash: r.prev_hash.clone(),
        hash: r.hash.clone(),
    })
}
