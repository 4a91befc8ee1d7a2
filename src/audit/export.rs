//! Reading the log out: JSON Lines of the verified, typed records (hash and prev_hash
//! included, so a SIEM can re-verify), a follow loop for new records, and `ebb audit show`.

use std::io::Write;
use std::time::Duration;

use crate::store::{AuditQuery, Store};

use super::AuditError;
use super::record::{AuditRecord, RecordKind};
use super::stored::{ChainEnd, verified_rows};

/// How often `--follow` asks the store for new records.
pub const FOLLOW_EVERY: Duration = Duration::from_millis(500);

/// Writes each record written at or after `since_ns` as one line, serialized from its
/// typed form (never the stored text).
pub fn write_jsonl(
    records: &[AuditRecord],
    since_ns: Option<i64>,
    out: &mut impl Write,
) -> Result<(), AuditError> {
    for r in records
        .iter()
        .filter(|r| since_ns.is_none_or(|s| r.at_ns >= s))
    {
        let line = serde_json::to_string(r)?;
        out.write_all(line.as_bytes()).map_err(AuditError::Output)?;
        out.write_all(b"\n").map_err(AuditError::Output)?;
    }
    out.flush().map_err(AuditError::Output)
}

/// Exports the verified log (records at or after `since_ns`, by their own time); with
/// `follow`, keeps polling every [`FOLLOW_EVERY`] for records that continue the chain,
/// until `stop` resolves. A log that does not verify exports nothing.
pub async fn export_jsonl(
    store: &Store,
    since_ns: Option<i64>,
    follow: bool,
    out: &mut impl Write,
    stop: impl std::future::Future<Output = ()>,
) -> Result<(), AuditError> {
    let (records, _) = verified_rows(store).await?;
    write_jsonl(&records, since_ns, out)?;
    if !follow {
        return Ok(());
    }
    let mut end = ChainEnd::of(&records);
    drop(records);
    tokio::pin!(stop);
    loop {
        tokio::select! {
            () = &mut stop => return Ok(()),
            () = tokio::time::sleep(FOLLOW_EVERY) => {
                let q = AuditQuery { after_seq: end.seq, ..AuditQuery::default() };
                let rows = store.audit_rows(q).await?;
                let records = end.extend(&rows)?;
                write_jsonl(&records, since_ns, out)?;
            }
        }
    }
}
/// The columns of `ebb audit show`.
pub const SHOW_HEADER: [&str; 8] = [
    "SEQ",
    "TIME (UTC)",
    "OPERATOR",
    "KIND",
    "KEY",
    "ACTION",
    "TARGET",
    "OUTCOME",
];

/// One row of `ebb audit show`, every cell sanitized for the terminal.
pub fn show_cells(r: &AuditRecord) -> [String; 8] {
    let safe = |s: &str| crate::text::DisplayText::new(s).as_str().to_string();
    let target = match (&r.run_id, &r.step_id) {
        (Some(run), Some(step)) => format!("{run}/{step}"),
        (Some(run), None) => run.clone(),
        (None, Some(step)) => step.clone(),
        (None, None) => String::new(),
    };
    let outcome = match &r.kind {
        RecordKind::Checkpoint { covers_seq, .. } => format!("signed 1..={covers_seq}"),
        RecordKind::Note => r.text.clone().unwrap_or_default(),
        RecordKind::KeyAdmitted { public_key, owner } => {
            format!("admitted key {public_key} ({owner})")
        }
        RecordKind::KeyRevoked { public_key, reason } => {
            format!("revoked key {public_key}: {reason}")
        }
        _ => r.outcome.clone().unwrap_or_default(),
    };
    [
        r.seq.to_string(),
        rfc3339_ns(r.at_ns),
        safe(&r.operator.display()),
        r.kind.name().to_string(),
        safe(r.key.as_deref().unwrap_or("")),
        safe(r.action.as_deref().unwrap_or("")),
        safe(&target),
        safe(&outcome),
    ]
}

/// RFC 3339 UTC with milliseconds.
pub fn rfc3339_ns(at_ns: i64) -> String {
    let st = std::time::UNIX_EPOCH + Duration::from_nanos(u64::try_from(at_ns).unwrap_or(0));
    humantime::format_rfc3339_millis(st).to_string()
}

/// Parses `--since`: RFC 3339 (`2026-11-24T03:00:00Z`) → UTC ns.
pub fn parse_since(s: &str) -> Result<i64, String> {
    let t = humantime::parse_rfc3339_weak(s)
        .map_err(|e| format!("--since {s:?}: {e} (want RFC 3339, e.g. 2026-11-24T03:00:00Z)"))?;
    let d = t
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|_| format!("--since {s:?} is before 1970"))?;
    i64::try_from(d.as_nanos()).map_err(|_| format!("--since {s:?} is too far ahead"))
}
