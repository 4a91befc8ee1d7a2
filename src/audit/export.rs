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

/// Parses `--since` against the clock: see [`parse_since_at`].
pub fn parse_since(s: &str) -> Result<i64, String> {
    parse_since_at(s, jiff::Timestamp::now())
}

/// Parses `--since` → UTC ns: an RFC 3339 time with any offset (`2026-11-24T03:00:00Z`,
/// `2026-11-24T05:30:00+02:30`), or a duration before `now` (`1h`, `30m`, `2d`, `1h30m`,
/// `90s`; `1h ago` means the same).
pub fn parse_since_at(s: &str, now: jiff::Timestamp) -> Result<i64, String> {
    let text = s.trim();
    let at = match text.parse::<jiff::Timestamp>() {
        Ok(t) => t,
        Err(_) => {
            let span = text.parse::<jiff::Span>().map_err(|_| {
                format!(
                    "{s:?} is neither a time nor a duration: want RFC 3339 with an offset \
                     (2026-11-24T03:00:00Z, 2026-11-24T05:30:00+02:30) or a duration ago \
                     (1h, 30m, 2d, 1h30m)"
                )
            })?;
            let ago = span
                .abs()
                .to_duration(jiff::SpanRelativeTo::days_are_24_hours())
                .map_err(|e| format!("{s:?}: {e} (use days, hours, minutes or seconds)"))?;
            now.checked_sub(ago)
                .map_err(|_| format!("{s:?} reaches before the year -9999"))?
        }
    };
    let ns = at.as_nanosecond();
    if ns < 0 {
        return Err(format!("{s:?} is before 1970"));
    }
    i64::try_from(ns).map_err(|_| format!("{s:?} is too far ahead"))
}

#[cfg(test)]
mod since_tests {
    use super::parse_since_at;

    fn now() -> jiff::Timestamp {
        "2026-12-06T12:00:00Z".parse().unwrap()
    }

    fn ns(s: &str) -> i64 {
        i64::try_from(s.parse::<jiff::Timestamp>().unwrap().as_nanosecond()).unwrap()
    }

    #[test]
    fn rfc3339_with_any_offset_is_the_same_instant() {
        let z = parse_since_at("2026-11-24T03:00:00Z", now()).unwrap();
        assert_eq!(z, ns("2026-11-24T03:00:00Z"));
        assert_eq!(
            parse_since_at("2026-11-24T05:30:00+02:30", now()).unwrap(),
            z
        );
        assert_eq!(
            parse_since_at("2026-11-23T19:00:00-08:00", now()).unwrap(),
            z
        );
        assert_eq!(
            parse_since_at("2026-11-24T03:00:00.250Z", now()).unwrap(),
            z + 250_000_000
        );
    }

    #[test]
    fn durations_count_back_from_now() {
        let n = ns("2026-12-06T12:00:00Z");
        let h = 3_600_000_000_000i64;
        assert_eq!(parse_since_at("1h", now()).unwrap(), n - h);
        assert_eq!(parse_since_at("30m", now()).unwrap(), n - h / 2);
        assert_eq!(parse_since_at("1h30m", now()).unwrap(), n - h * 3 / 2);
        assert_eq!(parse_since_at("2d", now()).unwrap(), n - 48 * h);
        assert_eq!(parse_since_at("90s", now()).unwrap(), n - 90_000_000_000);
        assert_eq!(parse_since_at("1h ago", now()).unwrap(), n - h);
    }

    #[test]
    fn what_is_neither_says_both_forms() {
        for bad in ["yesterday", "2026-11-24T03:00:00", "", "1 fortnight"] {
            let e = parse_since_at(bad, now()).unwrap_err();
            assert!(e.contains("RFC 3339") && e.contains("1h"), "{bad}: {e}");
        }
        let e = parse_since_at("1970-01-01T00:00:00+01:00", now()).unwrap_err();
        assert!(e.contains("before 1970"), "{e}");
        assert!(parse_since_at("2mo", now()).is_err());
    }
}
