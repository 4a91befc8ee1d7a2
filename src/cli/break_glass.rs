//! Break-glass uses on record: each run of a request without its approval, listed as
//! unreviewed until an approver reviews it (`ebb audit show --break-glass`, `ebb audit review`).

use std::collections::BTreeMap;
use std::process::ExitCode;

use miette::{Report, miette};
use serde_json::json;

use crate::audit::{AuditRecord, EntryKind, NewRecord};
use crate::store::Store;
use crate::text::sanitize;
use crate::time::Timestamp;

/// One break-glass use, and its review if it had one.
#[derive(Clone, Debug)]
pub struct Use {
    pub seq: u64,
    pub at_ns: i64,
    pub run_id: String,
    pub by: String,
    pub action: String,
    pub justification: String,
    /// `(reviewer, reason)`.
    pub review: Option<(String, String)>,
}

/// The break-glass uses in `records` (the runner's outcome records that say so), with
/// their reviews.
pub fn uses(records: &[AuditRecord]) -> Vec<Use> {
    let reviews: BTreeMap<u64, (String, String)> = records
        .iter()
        .filter(|r| r.action.as_deref() == Some("audit.review"))
        .filter_map(|r| {
            let seq = r.args.get("reviews")?.as_u64()?;
            let reason = r.args.get("reason")?.as_str()?.to_string();
            Some((seq, (r.operator.user.clone(), reason)))
        })
        .collect();
    records
        .iter()
        .filter(|r| r.args.get("break_glass").and_then(|b| b.as_bool()) == Some(true))
        .map(|r| Use {
            seq: r.seq,
            at_ns: r.at_ns,
            run_id: r.run_id.clone().unwrap_or_default(),
            by: text(&r.args, "break_glass_by"),
            action: r.action.clone().unwrap_or_default(),
            justification: text(&r.args, "justification"),
            review: reviews.get(&r.seq).cloned(),
        })
        .collect()
}

fn text(v: &serde_json::Value, key: &str) -> String {
    v.get(key)
        .and_then(|s| s.as_str())
        .unwrap_or_default()
        .to_string()
}

/// `ebb audit show --break-glass`: every use, unreviewed ones first.
pub fn print(uses: &[Use]) {
    if uses.is_empty() {
        println!("no break-glass use on record");
        return;
    }
    let mut sorted: Vec<&Use> = uses.iter().collect();
    sorted.sort_by_key(|u| (u.review.is_some(), u.seq));
    for u in sorted {
        let review = match &u.review {
            None => "UNREVIEWED".to_string(),
            Some((who, why)) => format!("reviewed by {who}: {why}"),
        };
        let line = format!(
            "{:>6}  {}  {}  {}  BREAK GLASS by {}: {}  [{review}]",
            u.seq,
            Timestamp(u.at_ns.div_euclid(1_000_000)).rfc3339(),
            u.run_id,
            u.action,
            u.by,
            u.justification
        );
        println!("{}", sanitize(&line));
    }
}

/// `ebb audit review SEQ REASON`: an approver of the policy in force reviews a use; its
/// own audit record. Refused for a record that is not a use, or one already reviewed.
pub async fn review(
    store: &Store,
    records: &[AuditRecord],
    seq: u64,
    reason: &str,
) -> Result<ExitCode, Report> {
    if reason.trim().is_empty() {
        return Err(miette!("a review needs a reason"));
    }
    let who = crate::audit::Operator::from_env(None);
    let Some((_, policy)) = super::policy::in_force(store)
        .await
        .map_err(|e| miette!("{e}"))?
    else {
        return Err(miette!(
            "no policy in force: there is no approver to review with"
        ));
    };
    if let crate::policy::Decision::Deny { reason } =
        policy.decide(&super::policy::identity(&who), "approval.approve")
    {
        return Err(miette::Report::new(super::Refused(format!(
            "reviewing a break-glass use: {reason}"
        ))));
    }
    let all = uses(records);
    let Some(u) = all.iter().find(|u| u.seq == seq) else {
        return Err(miette!(
            "audit record {seq} is not a break-glass use (`ebb audit show --break-glass` lists them)"
        ));
    };
    if u.by == who.user {
        return Err(miette!(
            "{} broke glass on record {seq}: another approver reviews it",
            who.user
        ));
    }
    if let Some((by, _)) = &u.review {
        return Err(miette!(
            "break-glass use {seq} was reviewed already, by {by}"
        ));
    }
    let log = super::drill::open_audit(store, None)
        .await
        .map_err(|why| miette!("AUDIT DOWN: {why}"))?;
    let rec = NewRecord {
        kind: EntryKind::Engine,
        action: Some("audit.review".into()),
        run_id: Some(u.run_id.clone()),
        args: json!({ "reviews": seq, "reason": reason, "break_glass_by": u.by }),
        ..NewRecord::default()
    };
    log.append(rec).await.map_err(|e| miette!("{e}"))?;
    log.close().await.map_err(|e| miette!("{e}"))?;
    println!("break-glass use {seq} reviewed");
    Ok(ExitCode::SUCCESS)
}
