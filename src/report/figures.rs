//! The debrief's figures: time to first action, time to pause, time to recover against the
//! plan's `rto`; each measured from the run's start on the wall clock.

use std::time::Duration;

use crate::audit::{AuditRecord, RecordKind};
use crate::time::Timestamp;

/// One measured interval and what ended it.
#[derive(Clone, Debug, PartialEq)]
pub struct Figure {
    pub after: Duration,
    pub at: Timestamp,
    /// What happened then, e.g. `alice asked run.pause`.
    pub what: String,
}

/// Recovery against the plan's `rto`.
#[derive(Clone, Debug, PartialEq)]
pub struct Recovery {
    /// Start to finish, when the run finished.
    pub took: Option<Duration>,
    /// The run's final state word (`completed`, `rolled_back`, `aborted`, `running`…).
    pub state: String,
    pub rto: Option<Duration>,
}

impl Recovery {
    /// Whether the run recovered at all: it completed or rolled back (aborted is not).
    pub fn recovered(&self) -> bool {
        matches!(self.state.as_str(), "completed" | "rolled_back")
    }

    /// `Some(true)` when it recovered within the RTO, `Some(false)` when it took longer or
    /// did not recover, `None` without an RTO or while it runs.
    pub fn rto_met(&self) -> Option<bool> {
        let rto = self.rto?;
        self.took.map(|took| self.recovered() && took <= rto)
    }

    /// One line: `12m 30s (RTO 30m: met)`.
    pub fn describe(&self) -> String {
        let took = match self.took {
            Some(d) if self.recovered() => format!("{} ({})", human(d), self.state),
            Some(d) => format!("not recovered: {} after {}", self.state, human(d)),
            None => format!("not finished (state {})", self.state),
        };
        match (self.rto, self.rto_met()) {
            (Some(rto), Some(true)) => format!("{took}; RTO {}: met", human(rto)),
            (Some(rto), Some(false)) => format!("{took}; RTO {}: MISSED", human(rto)),
            (Some(rto), None) => format!("{took}; RTO {}", human(rto)),
            (None, _) => format!("{took}; the plan sets no RTO"),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Figures {
    pub first_action: Option<Figure>,
    pub first_pause: Option<Figure>,
    pub recovery: Recovery,
}

/// `1h 02m 05s`, `3m 07s`, `42s`, `850ms`.
pub fn human(d: Duration) -> String {
    let s = d.as_secs();
    if s == 0 {
        return format!("{}ms", d.as_millis());
    }
    match (s / 3600, (s % 3600) / 60, s % 60) {
        (0, 0, sec) => format!("{sec}s"),
        (0, m, sec) => format!("{m}m {sec:02}s"),
        (h, m, sec) => format!("{h}h {m:02}m {sec:02}s"),
    }
}

fn figure(start: Timestamp, r: &AuditRecord, what: String) -> Figure {
    let at = Timestamp(r.at_ns.div_euclid(1_000_000));
    Figure {
        after: start.age_at(at),
        at,
        what,
    }
}

/// Whether an intent was a person's (a key, a palette, a control line), not the system's
/// own start-up action.
fn by_a_person(r: &AuditRecord) -> bool {
    r.args.get("source").and_then(|s| s.as_str()) != Some("system")
}

/// The figures of a run from its audit records (already the run's own), its start, its
/// end (when finished) and final state, and the plan's RTO.
pub fn figures(
    audit: &[AuditRecord],
    start: Timestamp,
    finished: Option<Timestamp>,
    state: &str,
    rto: Option<Duration>,
) -> Figures {
    let after_start = |r: &&AuditRecord| r.at_ns.div_euclid(1_000_000) >= start.0;
    let first_action = audit
        .iter()
        .filter(after_start)
        .find(|r| {
            r.kind == RecordKind::Intent
                && r.action.as_deref().is_some_and(|a| a.starts_with("run."))
                && by_a_person(r)
        })
        .map(|r| {
            let what = format!(
                "{} asked {}",
                r.operator.display(),
                r.action.as_deref().unwrap_or("")
            );
            figure(start, r, what)
        });
    let first_pause = audit
        .iter()
        .filter(after_start)
        .find(|r| {
            r.kind == RecordKind::Outcome
                && r.action
                    .as_deref()
                    .is_some_and(|a| a == "run.pause" || a == "run.pause_detach")
                && r.outcome
                    .as_deref()
                    .is_some_and(|o| o.starts_with("applied"))
        })
        .map(|r| {
            let what = format!("{} paused the run", r.operator.display());
            figure(start, r, what)
        });
    Figures {
        first_action,
        first_pause,
        recovery: Recovery {
            took: finished.map(|f| start.age_at(f)),
            state: state.to_string(),
            rto,
        },
    }
}

/// Whether a run's state word is final.
pub fn is_final(state: &str) -> bool {
    matches!(state, "completed" | "rolled_back" | "aborted")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(
        at_s: i64,
        kind: RecordKind,
        action: &str,
        outcome: Option<&str>,
        source: &str,
    ) -> AuditRecord {
        AuditRecord {
            seq: 1,
            at_ns: at_s * 1_000_000_000,
            session: "s".into(),
            kind,
            operator: crate::audit::Operator {
                user: "alice".into(),
                ..Default::default()
            },
            key: None,
            action: Some(action.into()),
            run_id: Some("r".into()),
            step_id: None,
            args: serde_json::json!({ "source": source }),
            outcome: outcome.map(str::to_string),
            plan_digest: None,
            text: None,
            prev_hash: String::new(),
            hash: String::new(),
        }
    }

    #[test]
    fn first_action_skips_the_systems_own_start() {
        let audit = [
            rec(100, RecordKind::Intent, "run.resume", None, "system"),
            rec(130, RecordKind::Intent, "pane.focus_next", None, "key tab"),
            rec(160, RecordKind::Intent, "run.pause", None, "key p"),
            rec(
                161,
                RecordKind::Outcome,
                "run.pause",
                Some("refused: x"),
                "key p",
            ),
            rec(
                170,
                RecordKind::Outcome,
                "run.pause",
                Some("applied"),
                "key p",
            ),
        ];
        let f = figures(&audit, Timestamp::from_secs(100), None, "paused", None);
        assert_eq!(
            f.first_action.map(|f| f.after),
            Some(Duration::from_secs(60))
        );
        assert_eq!(
            f.first_pause.map(|f| f.after),
            Some(Duration::from_secs(70))
        );
    }

    #[test]
    fn recovery_against_rto() {
        let start = Timestamp::from_secs(0);
        let f = |end: i64, state: &str, rto: Option<u64>| {
            figures(
                &[],
                start,
                Some(Timestamp::from_secs(end)),
                state,
                rto.map(Duration::from_secs),
            )
            .recovery
        };
        assert_eq!(f(600, "rolled_back", Some(900)).rto_met(), Some(true));
        assert_eq!(f(1000, "completed", Some(900)).rto_met(), Some(false));
        assert_eq!(f(60, "aborted", Some(900)).rto_met(), Some(false));
        assert_eq!(f(60, "completed", None).rto_met(), None);
        assert!(
            f(1000, "completed", Some(900))
                .describe()
                .contains("MISSED")
        );
        assert_eq!(human(Duration::from_secs(3725)), "1h 02m 05s");
        assert_eq!(human(Duration::from_millis(850)), "850ms");
    }
}
