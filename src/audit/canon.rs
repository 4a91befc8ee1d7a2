//! The canonical, unambiguous byte encoding of a record (without its hash) and the chain
//! hash over it: SHA-256(`ebb.audit.v1\0` ‖ prev_hash ‖ encoding); plus what checkpoints sign.
//!
//! Encoding: the fields in a fixed order, each `0x00` (absent) or `0x01` ‖ u64 BE length ‖
//! bytes; integers as 8 bytes big-endian; `args` as canonical JSON (object keys sorted by
//! their UTF-8 bytes, no whitespace, numbers as serde_json prints them).

use sha2::{Digest, Sha256};

use super::record::{AuditRecord, Operator, RecordKind};

/// Domain separation for record hashes.
pub const DOMAIN: &[u8] = b"ebb.audit.v1\0";
/// Domain separation for checkpoint signatures.
pub const CHECKPOINT_DOMAIN: &[u8] = b"ebb.audit.checkpoint.v1\0";
/// The genesis record's `prev_hash`.
pub const ZERO_HASH: [u8; 32] = [0; 32];

/// The canonical encoding of everything in `r` but `prev_hash` and `hash`.
pub fn encode(r: &AuditRecord) -> Vec<u8> {
    let mut b = Vec::with_capacity(512);
    b.extend_from_slice(&r.seq.to_be_bytes());
    b.extend_from_slice(&r.at_ns.to_be_bytes());
    put(&mut b, r.session.as_bytes());
    put(&mut b, r.kind.name().as_bytes());
    match &r.kind {
        RecordKind::Genesis { public_key } => put(&mut b, public_key.as_bytes()),
        RecordKind::Checkpoint {
            covers_seq,
            head_hash,
            count,
            signature,
            public_key,
        } => {
            b.extend_from_slice(&covers_seq.to_be_bytes());
            put(&mut b, head_hash.as_bytes());
            b.extend_from_slice(&count.to_be_bytes());
            put(&mut b, signature.as_bytes());
            put(&mut b, public_key.as_bytes());
        }
        RecordKind::KeyAdmitted { public_key, owner } => {
            put(&mut b, public_key.as_bytes());
            put(&mut b, owner.as_bytes());
        }
        RecordKind::KeyRevoked { public_key, reason } => {
            put(&mut b, public_key.as_bytes());
            put(&mut b, reason.as_bytes());
        }
        RecordKind::SessionStart
        | RecordKind::SessionEnd
        | RecordKind::Intent
        | RecordKind::Outcome
        | RecordKind::Engine
        | RecordKind::Note => {}
    }
    operator(&mut b, &r.operator);
    for f in [&r.key, &r.action, &r.run_id, &r.step_id] {
        opt(&mut b, f.as_deref());
    }
    let mut args = Vec::new();
    canonical_json(&r.args, &mut args);
    put(&mut b, &args);
    for f in [&r.outcome, &r.plan_digest, &r.text] {
        opt(&mut b, f.as_deref());
    }
    b
}

fn operator(b: &mut Vec<u8>, o: &Operator) {
    put(b, o.user.as_bytes());
    opt(b, o.sudo_user.as_deref());
    put(b, o.host.as_bytes());
    opt(b, o.tty.as_deref());
    opt(b, o.ssh_client.as_deref());
    opt(b, o.annotation.as_deref());
    // Added later: present only when there are groups, behind a tag (2) that neither an
    // absent (0) nor a present (1) field starts with, so older records hash as they did.
    if !o.groups.is_empty() {
        b.push(2);
        b.extend_from_slice(&(o.groups.len() as u64).to_be_bytes());
        for g in &o.groups {
            put(b, g.as_bytes());
        }
    }
}

fn put(b: &mut Vec<u8>, bytes: &[u8]) {
    b.push(1);
    b.extend_from_slice(&(bytes.len() as u64).to_be_bytes());
    b.extend_from_slice(bytes);
}

fn opt(b: &mut Vec<u8>, s: Option<&str>) {
    match s {
        Some(s) => put(b, s.as_bytes()),
        None => b.push(0),
    }
}

/// JSON with object keys sorted, no whitespace; strings escape `"`, `\` and controls only.
pub fn canonical_json(v: &serde_json::Value, out: &mut Vec<u8>) {
    use serde_json::Value;
    match v {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => out.extend_from_slice(n.to_string().as_bytes()),
        Value::String(s) => json_string(s, out),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                canonical_json(item, out);
            }
            out.push(b']');
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_unstable_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
            out.push(b'{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                json_string(k, out);
                out.push(b':');
                if let Some(v) = map.get(k) {
                    canonical_json(v, out);
                }
            }
            out.push(b'}');
        }
    }
}

fn json_string(s: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    for c in s.chars() {
        match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            c if (c as u32) < 0x20 => {
                out.extend_from_slice(format!("\\u{:04x}", c as u32).as_bytes())
            }
            c => {
                let mut buf = [0; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    out.push(b'"');
}

/// 32 bytes from 64 hex digits, or None.
pub fn decode_hash(h: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(h, &mut out).ok()?;
    Some(out)
}

/// The chain hash of `r` (over its own `prev_hash`); None when `prev_hash` is not 64 hex digits.
pub fn record_hash(r: &AuditRecord) -> Option<[u8; 32]> {
    let prev = decode_hash(&r.prev_hash)?;
    Some(chain_hash(&prev, &encode(r)))
}

/// SHA-256(DOMAIN ‖ prev ‖ encoding).
pub fn chain_hash(prev: &[u8; 32], encoding: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(DOMAIN);
    h.update(prev);
    h.update(encoding);
    h.finalize().into()
}

/// What a checkpoint's signature covers: CHECKPOINT_DOMAIN ‖ covers_seq ‖ head_hash ‖ count.
pub fn checkpoint_message(covers_seq: u64, head_hash: &[u8; 32], count: u64) -> Vec<u8> {
    let mut m = Vec::with_capacity(CHECKPOINT_DOMAIN.len() + 48);
    m.extend_from_slice(CHECKPOINT_DOMAIN);
    m.extend_from_slice(&covers_seq.to_be_bytes());
    m.extend_from_slice(head_hash);
    m.extend_from_slice(&count.to_be_bytes());
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn canonical_json_sorts_keys_and_escapes() {
        let v: serde_json::Value =
            serde_json::from_str(r#"{"b": [1, 2.5, null], "a": {"z": true, "y": "q\"\u001b"}}"#)
                .unwrap();
        let mut out = Vec::new();
        canonical_json(&v, &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"{"a":{"y":"q\"\u001b","z":true},"b":[1,2.5,null]}"#
        );
    }

    #[test]
    fn absent_and_empty_differ() {
        let mut a = Vec::new();
        opt(&mut a, None);
        let mut b = Vec::new();
        opt(&mut b, Some(""));
        assert_ne!(a, b);
        // Moving bytes between adjacent fields changes the encoding.
        let mut c = Vec::new();
        put(&mut c, b"ab");
        put(&mut c, b"c");
        let mut d = Vec::new();
        put(&mut d, b"a");
        put(&mut d, b"bc");
        assert_ne!(c, d);
    }

    #[test]
    fn json_round_trip_keeps_the_hash() {
        let args =
            json!({"n": 1.1, "big": u64::MAX, "neg": -3, "s": "x\ny", "k": {"b": 1, "a": 2}});
        let mut a = Vec::new();
        canonical_json(&args, &mut a);
        let back: serde_json::Value = serde_json::from_str(&args.to_string()).unwrap();
        let mut b = Vec::new();
        canonical_json(&back, &mut b);
        assert_eq!(a, b);
    }
}
