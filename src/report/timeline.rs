//! The report's timeline: one row per thing that happened, merged from the run's journal,
//! its audit records and the world's events, in time order, with who did it.

use crate::audit::{AuditRecord, RecordKind};
use crate::engine::Record;
use crate::sources::{Observation, Payload, Severity};
use crate::store::JournalRecord;
use crate::time::Timestamp;

/// Where a row came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Origin {
    Journal,
    Audit,
    World,
}

impl Origin {
    pub fn name(self) -> &'static str {
        match self {
            Origin::Journal => "journal",
            Origin::Audit => "audit",
            Origin::World => "world",
        }
    }
}

/// What kind of thing a row is (its marker on the charts and its style).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RowKind {
    /// Run started or finished.
    Run,
    /// A person's run control, asked (an intent) or answered (an outcome).
    Control,
    /// The run paused (held) or a pause was asked.
    Pause,
    Step,
    /// A second person's approval or denial, break glass, an ask answered.
    Approval,
    Note,
    /// A fault injected by the facilitator, or a drill-clock change.
    Facilitator,
    /// Something the world reported (an event of the drill world or a target).
    World,
}

/// One row of the timeline.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub at: Timestamp,
    pub who: String,
    pub what: String,
    pub origin: Origin,
    pub kind: RowKind,
    /// The short label of its marker on the charts, when it gets one.
    pub mark: Option<String>,
}

/// `T+mm:ss` (`T+h:mm:ss` past an hour; `T-…` before the start) for seconds since start.
pub fn tplus(secs: f64) -> String {
    let sign = if secs < 0.0 { '-' } else { '+' };
    let s = if secs.is_finite() {
        secs.abs().floor() as u64
    } else {
        0
    };
    if s >= 3600 {
        format!("T{sign}{}:{:02}:{:02}", s / 3600, (s % 3600) / 60, s % 60)
    } else {
        format!("T{sign}{:02}:{:02}", s / 60, s % 60)
    }
}

/// Rows for the journal's transitions (pre-images, baselines and effect markers left out).
/// `steps`: step ids by index.
pub fn from_journal(records: &[JournalRecord], steps: &[String]) -> Vec<Row> {
    let name = |i: usize| {
        steps
            .get(i)
            .cloned()
            .unwrap_or_else(|| format!("#{}", i + 1))
    };
    records
        .iter()
        .filter_map(|j| {
            let record: Record = serde_json::from_value(j.data.clone()).ok()?;
            let (who, what, kind) = match record {
                Record::Verb { verb, by } => {
                    let reason = match &verb {
                        crate::engine::Verb::Abort { reason }
                        | crate::engine::Verb::Rollback { reason }
                        | crate::engine::Verb::Skip { reason }
                        | crate::engine::Verb::Resolve { reason, .. } => format!(": {reason}"),
                        _ => String::new(),
                    };
                    let kind = if verb.name() == "pause" {
                        RowKind::Pause
                    } else {
                        RowKind::Control
                    };
                    (by, format!("engine took {}{reason}", verb.name()), kind)
                }
                Record::Intent { step, attempt, .. } => {
                    let again = if attempt > 1 {
                        format!(" (attempt {attempt})")
                    } else {
                        String::new()
                    };
                    (
                        "engine".into(),
                        format!("step {} started{again}", name(step)),
                        RowKind::Step,
                    )
                }
                Record::Applied { step } => (
                    "engine".into(),
                    format!("step {} applied", name(step)),
                    RowKind::Step,
                ),
                Record::AttemptFailed { step, error, .. } => (
                    "engine".into(),
                    format!("step {} attempt failed: {error}", name(step)),
                    RowKind::Step,
                ),
                Record::Failed { step, error, .. } => (
                    "engine".into(),
                    format!("step {} failed: {error}", name(step)),
                    RowKind::Step,
                ),
                Record::UndoIntent { step, .. } => (
                    "engine".into(),
                    format!("undo of {} started", name(step)),
                    RowKind::Step,
                ),
                Record::Compensated { step } => (
                    "engine".into(),
                    format!("step {} compensated", name(step)),
                    RowKind::Step,
                ),
                Record::UndoFailed { step, error } => (
                    "engine".into(),
                    format!("undo of {} failed: {error}", name(step)),
                    RowKind::Step,
                ),
                Record::NoUndo { step } => (
                    "engine".into(),
                    format!("step {} has no undo: left in place", name(step)),
                    RowKind::Step,
                ),
                Record::Held { reason, by } => (by, format!("paused: {reason}"), RowKind::Pause),
                Record::Resolved {
                    step,
                    undo,
                    happened,
                    by,
                    ..
                } => (
                    by,
                    format!(
                        "in-doubt {}{} settled: {}",
                        if undo { "undo of " } else { "step " },
                        name(step),
                        if happened {
                            "it happened"
                        } else {
                            "it did not happen"
                        }
                    ),
                    RowKind::Step,
                ),
                Record::Interrupted { step, at, .. } => (
                    "engine".into(),
                    format!("step {} stopped at {at}", name(step)),
                    RowKind::Pause,
                ),
                Record::Detached { reason } => (
                    "engine".into(),
                    format!("detached: {reason}"),
                    RowKind::Pause,
                ),
                Record::Baseline { .. } | Record::PreImage { .. } => return None,
            };
            let mark = match j.data.get("kind").and_then(|k| k.as_str()) {
                Some("held") => Some("held".to_string()),
                Some("failed") => Some("step failed".to_string()),
                _ => None,
            };
            Some(Row {
                at: Timestamp(j.at),
                who,
                what,
                origin: Origin::Journal,
                kind,
                mark,
            })
        })
        .collect()
}

/// Rows for the run's audit records: intents (who, which key, the reason), outcomes,
/// notes, approvals and break glass, facilitator actions. Checkpoints, key and session
/// records, and viewing actions (focus, scroll, palette) are left out.
pub fn from_audit(records: &[AuditRecord], steps: &[String]) -> Vec<Row> {
    records
        .iter()
        .filter(|r| !echoes_journal(r, steps))
        .filter_map(audit_row)
        .collect()
}

/// Whether a record only repeats what the journal's rows say: the engine's notes of a step
/// starting, applied or failing, of the run starting or finishing, and its exit.
fn echoes_journal(r: &AuditRecord, steps: &[String]) -> bool {
    match (r.action.as_deref(), r.text.as_deref()) {
        (Some("run.exited"), _) => true,
        (Some("run.note"), Some(t)) => {
            (t.starts_with("step ") && t.contains(" started"))
                || t.starts_with("run by ")
                || t.starts_with("run finished")
                || steps.iter().any(|s| {
                    t.strip_prefix(s.as_str())
                        .is_some_and(|rest| rest.starts_with(" applied in "))
                })
        }
        _ => false,
    }
}

fn audit_row(r: &AuditRecord) -> Option<Row> {
    let action = r.action.clone().unwrap_or_default();
    let who = r.operator.display();
    let at = Timestamp(r.at_ns.div_euclid(1_000_000));
    let arg = |k: &str| {
        r.args
            .get(k)
            .and_then(|v| v.as_str())
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let marked = |what: String, kind: RowKind, mark: Option<String>| {
        Some(Row {
            at,
            who: who.clone(),
            what,
            origin: Origin::Audit,
            kind,
            mark,
        })
    };
    let row = |what: String, kind: RowKind| marked(what, kind, None);
    match &r.kind {
        RecordKind::Note => row(
            format!("note: {}", r.text.clone().unwrap_or_default()),
            RowKind::Note,
        ),
        RecordKind::Intent => {
            if !is_reported(&action) || arg("stage").is_some() {
                return None;
            }
            let key = r
                .key
                .as_deref()
                .map(|k| format!(" [key {k}]"))
                .unwrap_or_default();
            let reason = arg("reason")
                .or_else(|| arg("justification"))
                .map(|s| format!(": {s}"))
                .unwrap_or_default();
            let (what, kind) = if action.starts_with("drill.") {
                let what = facilitator(&action, r.text.as_deref(), &r.args);
                let mark = what.replace("fault injected", "fault");
                return marked(format!("{what}{key}"), RowKind::Facilitator, Some(mark));
            } else if action.starts_with("approval.") {
                (format!("{action}{reason}"), RowKind::Approval)
            } else if action == "run.confirm" {
                let ask = arg("ask").map(|a| format!(" ({a})")).unwrap_or_default();
                (format!("answered the ask{ask}"), RowKind::Approval)
            } else if action == "run.pause" || action == "run.pause_detach" {
                (format!("asked {action}{reason}"), RowKind::Pause)
            } else {
                (format!("asked {action}{reason}"), RowKind::Control)
            };
            let mark = format!(
                "{}: {}",
                r.operator.user,
                action
                    .trim_start_matches("run.")
                    .trim_start_matches("approval.")
                    .replace('_', " ")
            );
            marked(format!("{what}{key}"), kind, Some(mark))
        }
        RecordKind::Outcome => {
            if !is_reported(&action) {
                return None;
            }
            let outcome = r.outcome.clone().unwrap_or_default();
            let glass = if r.args.get("break_glass").and_then(|b| b.as_bool()) == Some(true) {
                format!(
                    " (BREAK GLASS by {}: {})",
                    arg("break_glass_by").unwrap_or_default(),
                    arg("justification").unwrap_or_default()
                )
            } else {
                String::new()
            };
            let kind = if action.starts_with("approval.") || !glass.is_empty() {
                RowKind::Approval
            } else if action.starts_with("drill.") {
                RowKind::Facilitator
            } else {
                RowKind::Control
            };
            row(format!("{action} → {outcome}{glass}"), kind)
        }
        RecordKind::Engine => match action.as_str() {
            "run.note" => row(
                format!("engine: {}", r.text.clone().unwrap_or_default()),
                RowKind::Note,
            ),
            "run.exited" => row(
                format!(
                    "run ended: {}",
                    r.args.get("status").and_then(|s| s.as_str()).unwrap_or("?")
                ),
                RowKind::Run,
            ),
            "audit.review" => row(
                format!(
                    "reviewed break glass: {}",
                    arg("reason").unwrap_or_default()
                ),
                RowKind::Approval,
            ),
            a if a.starts_with("console.") || a.starts_with("run.") => {
                let text = r.text.clone().map(|t| format!(": {t}")).unwrap_or_default();
                row(format!("{a}{text}"), RowKind::Control)
            }
            _ => None,
        },
        _ => None,
    }
}

/// Whether an action belongs in a debrief: run control, approvals, notes, attaching,
/// facilitator actions; not moving around the screen.
fn is_reported(action: &str) -> bool {
    ["run.", "approval.", "drill.", "console.", "note.save"]
        .iter()
        .any(|p| action.starts_with(p))
}

/// A facilitator's action in words: `fault injected: …` from its text or arguments.
fn facilitator(action: &str, text: Option<&str>, args: &serde_json::Value) -> String {
    // The facilitator's menu records the line chosen (`inject now: …`, `end fault #2: …`,
    // `hide sim:db …`, `announce to every console: …`).
    if let Some(choice) = args.get("choice").and_then(|v| v.as_str()) {
        return match choice.strip_prefix("inject") {
            Some(rest) => format!("fault injected{rest}"),
            None => format!("facilitator: {choice}"),
        };
    }
    let detail = text
        .map(str::to_string)
        .or_else(|| {
            ["fault", "name", "what"]
                .iter()
                .find_map(|k| args.get(*k).and_then(|v| v.as_str()).map(str::to_string))
        })
        .unwrap_or_default();
    let rest = action.trim_start_matches("drill.");
    let what = if rest.contains("fault") || rest.contains("inject") {
        "fault injected".to_string()
    } else {
        format!("facilitator: {}", rest.replace(['.', '_'], " "))
    };
    if detail.is_empty() {
        what
    } else {
        format!("{what}: {detail}")
    }
}

/// Rows for the events the world (or a target) reported: warnings and worse, each once.
pub fn from_observations(obs: &[Observation]) -> Vec<Row> {
    let mut out = Vec::new();
    for o in obs {
        if let Payload::Events(events) = &o.payload {
            for e in events.iter().filter(|e| e.severity >= Severity::Warn) {
                out.push(Row {
                    at: e.at,
                    who: o.source.0.clone(),
                    what: e.text.as_str().to_string(),
                    origin: Origin::World,
                    kind: RowKind::World,
                    mark: None,
                });
            }
        }
    }
    out
}

/// All rows in time order; rows at the same instant keep journal, audit, world order.
pub fn merge(mut rows: Vec<Row>) -> Vec<Row> {
    rows.sort_by_key(|r| (r.at, r.origin));
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tplus_formats() {
        assert_eq!(tplus(0.0), "T+00:00");
        assert_eq!(tplus(61.9), "T+01:01");
        assert_eq!(tplus(3725.0), "T+1:02:05");
        assert_eq!(tplus(-5.0), "T-00:05");
        assert_eq!(tplus(f64::NAN), "T+00:00");
    }

    #[test]
    fn facilitator_actions_read_as_faults() {
        let a = facilitator(
            "drill.inject_fault",
            Some("replica-2 partitioned"),
            &serde_json::json!({}),
        );
        assert_eq!(a, "fault injected: replica-2 partitioned");
        let b = facilitator("drill.freeze", None, &serde_json::json!({}));
        assert_eq!(b, "facilitator: freeze");
        let menu = |choice: &str| {
            facilitator(
                "drill.fault",
                None,
                &serde_json::json!({ "choice": choice }),
            )
        };
        assert_eq!(
            menu("inject at 12m00s: replica apply stall on replica-1"),
            "fault injected at 12m00s: replica apply stall on replica-1"
        );
        assert_eq!(
            menu("end fault #2: replica-1: WAL replay stalled"),
            "facilitator: end fault #2: replica-1: WAL replay stalled"
        );
    }

    #[test]
    fn journal_rows_name_steps_and_who() {
        let rec = |seq, data: serde_json::Value| JournalRecord {
            seq,
            kind: String::new(),
            step_id: None,
            idempotency_key: None,
            data,
            at: 1000 * seq,
        };
        let rows = from_journal(
            &[
                rec(
                    1,
                    serde_json::json!({"kind": "verb", "verb": "Run", "by": "alice"}),
                ),
                rec(
                    2,
                    serde_json::json!({"kind": "intent", "step": 0, "attempt": 1, "key": "k"}),
                ),
                rec(
                    3,
                    serde_json::json!({"kind": "held", "reason": "lag", "by": "bob"}),
                ),
                rec(4, serde_json::json!({"kind": "baseline", "data": {}})),
            ],
            &["pause-backfill".into()],
        );
        assert_eq!(rows.len(), 3, "{rows:?}");
        assert_eq!(rows[1].what, "step pause-backfill started");
        assert_eq!(
            (rows[2].who.as_str(), rows[2].kind),
            ("bob", RowKind::Pause)
        );
    }
}
