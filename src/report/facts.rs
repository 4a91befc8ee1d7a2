//! The report's tables as plain (unescaped) text cells, shared by the Markdown and HTML
//! writers, which only escape and lay them out.

use crate::sim::world::ObjectiveState;

use super::ReportData;
use super::figures::{Figure, human};
use super::timeline::tplus;

/// The header's fields: (label, value).
pub fn header(d: &ReportData) -> Vec<(&'static str, String)> {
    let r = &d.run;
    let mut out = vec![
        ("Run", r.id.clone()),
        ("Plan", r.plan_name.clone()),
        ("Plan digest", r.plan_digest.clone()),
    ];
    if let Some(desc) = &r.plan_description {
        out.push(("Description", desc.clone()));
    }
    match &r.scenario {
        Some((s, seed)) => out.push(("Drill", format!("scenario {s}, seed {seed}"))),
        None => out.push(("Targets", "real (not a drill)".into())),
    }
    out.push(("Started by", r.operator.clone()));
    out.push(("Started", r.started.rfc3339()));
    out.push((
        "Finished",
        match r.finished {
            Some(f) => format!("{} ({})", f.rfc3339(), d.tplus(f)),
            None => "not finished".into(),
        },
    ));
    out.push(("Final state", r.state.clone()));
    out.push(("RTO", r.rto.map_or("not set in the plan".into(), human)));
    out
}

/// The figures: (name, value, when/what).
pub fn figures(d: &ReportData) -> Vec<(&'static str, String, String)> {
    let f = &d.figures;
    let fig = |x: &Option<Figure>, none: &str| match x {
        Some(x) => (
            human(x.after),
            format!("{} at {} ({})", x.what, d.tplus(x.at), x.at.rfc3339()),
        ),
        None => ("—".into(), none.to_string()),
    };
    let (a, a_what) = fig(&f.first_action, "no one acted on the run");
    let (p, p_what) = fig(&f.first_pause, "the run was never paused by a person");
    vec![
        ("Time to first action", a, a_what),
        ("Time to pause", p, p_what),
        (
            "Time to recover",
            f.recovery.took.map_or("—".into(), human),
            f.recovery.describe(),
        ),
    ]
}

/// Each objective: (name, result, world time it was decided at, detail, description).
pub fn objectives(d: &ReportData) -> Vec<[String; 5]> {
    d.objectives
        .iter()
        .map(|o| {
            let (result, at, detail) = match &o.state {
                ObjectiveState::Pending => ("Pending".to_string(), "—".to_string(), String::new()),
                ObjectiveState::Met { at_ms, detail } => {
                    ("Met".into(), tplus(*at_ms as f64 / 1000.0), detail.clone())
                }
                ObjectiveState::Missed { at_ms, detail } => (
                    "Missed".into(),
                    tplus(*at_ms as f64 / 1000.0),
                    detail.clone(),
                ),
            };
            let result = if o.fin {
                result
            } else {
                format!("{result} (live)")
            };
            [o.name.clone(), result, at, detail, o.description.clone()]
        })
        .collect()
}

/// Each timeline row: (T+, UTC to the millisecond, who, what, source).
pub fn timeline(d: &ReportData) -> Vec<[String; 5]> {
    d.rows
        .iter()
        .map(|r| {
            [
                d.tplus(r.at),
                crate::audit::export::rfc3339_ns(r.at.0.saturating_mul(1_000_000)),
                r.who.clone(),
                r.what.clone(),
                r.origin.name().to_string(),
            ]
        })
        .collect()
}

/// The questions a debrief or postmortem answers, for the team to fill in.
pub const FOLLOW_UPS: [&str; 4] = [
    "What went well?",
    "What was hard, surprising or slow?",
    "What in the plan or the runbook changes?",
    "Action items (owner, due date):",
];
