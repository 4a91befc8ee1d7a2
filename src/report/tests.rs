//! Snapshot tests of the whole report (Markdown, HTML, one chart) built from a seeded drill
//! with a synthetic wall clock, and checks that hostile text from the store stays inert.

use serde_json::{Value, json};

use super::*;
use crate::audit::{AuditRecord, Operator, RecordKind};
use crate::sim::effects::SimEffect;
use crate::sim::world::{ObjectiveState, ObjectiveStatus, Scenario, WorldControl};
use crate::sources::SourceId;
use crate::store::{JournalRecord, RunRow};
use crate::text::DisplayText;

/// 2026-11-24T03:00:00Z.
const START: i64 = 1_795_489_200_000;
const PLAN: &str = include_str!("../../examples/plans/backfill-slot-fill.toml");

fn at(secs: i64) -> i64 {
    START + secs * 1000
}

fn run_row(state: &str, end_s: i64) -> RunRow {
    RunRow {
        id: "r-20261124-030000-00aa".into(),
        plan_name: "orders-0042-rollback".into(),
        plan_digest: "sha256:0123abcd".into(),
        plan_path: "examples/plans/backfill-slot-fill.toml".into(),
        plan_source: PLAN.into(),
        scenario: Some("backfill-slot-fill".into()),
        seed: Some(7),
        state: state.into(),
        created_at: START,
        updated_at: at(end_s),
        operator: "alice".into(),
        kube_context: None,
        kube_namespace: None,
    }
}

fn journal(seq: i64, secs: i64, data: Value) -> JournalRecord {
    JournalRecord {
        seq,
        kind: data["kind"].as_str().unwrap_or("").to_string(),
        step_id: None,
        idempotency_key: None,
        data,
        at: at(secs),
    }
}

struct Audit<'a> {
    secs: i64,
    kind: RecordKind,
    user: &'a str,
    action: &'a str,
    key: Option<&'a str>,
    args: Value,
    outcome: Option<&'a str>,
    text: Option<&'a str>,
}

fn audit(seq: u64, a: Audit<'_>) -> AuditRecord {
    AuditRecord {
        seq,
        at_ns: at(a.secs) * 1_000_000,
        session: format!("s-{}", a.user),
        kind: a.kind,
        operator: Operator {
            user: a.user.into(),
            host: "bastion-1".into(),
            ..Operator::default()
        },
        key: a.key.map(str::to_string),
        action: Some(a.action.into()),
        run_id: Some("r-20261124-030000-00aa".into()),
        step_id: None,
        args: a.args,
        outcome: a.outcome.map(str::to_string),
        plan_digest: Some("sha256:0123abcd".into()),
        text: a.text.map(str::to_string),
        prev_hash: String::new(),
        hash: String::new(),
    }
}

fn intent<'a>(
    secs: i64,
    user: &'a str,
    action: &'a str,
    key: Option<&'a str>,
    args: Value,
) -> Audit<'a> {
    Audit {
        secs,
        kind: RecordKind::Intent,
        user,
        action,
        key,
        args,
        outcome: None,
        text: None,
    }
}

fn outcome<'a>(secs: i64, user: &'a str, action: &'a str, what: &'a str) -> Audit<'a> {
    Audit {
        secs,
        kind: RecordKind::Outcome,
        user,
        action,
        key: None,
        args: json!({}),
        outcome: Some(what),
        text: None,
    }
}

/// A seeded drill of `backfill-slot-fill` (seed 7), four minutes on a wall clock that
/// runs with the world's: the facilitator injects a fault, bob pauses, alice rolls back
/// with dave's approval, and the run finishes rolled back.
pub fn seeded_drill() -> ReportData {
    let scenario = Scenario::load("backfill-slot-fill").expect("built-in scenario");
    let effects = vec![
        SimEffect {
            key: "r/pause-backfill".into(),
            world_ms: 95_000,
            controls: vec![WorldControl::PauseBackfill],
        },
        SimEffect {
            key: "r/pause-backfill/undo".into(),
            world_ms: 200_000,
            controls: vec![WorldControl::ResumeBackfill],
        },
    ];
    let start = Timestamp(START);
    let mut observations = resim::simulate(&scenario, 7, effects, start, 240, true);
    // The database source is down for five seconds: a gap in its lines.
    observations.retain(|o| !(o.source.0 == "sim:db" && (at(170)..at(175)).contains(&o.at.0)));
    for s in 170..175 {
        observations.push(Observation {
            source: SourceId("sim:db".into()),
            at: Timestamp(at(s) + 500),
            interval: Duration::from_secs(1),
            payload: Payload::Error(DisplayText::new("connection timed out after 2s")),
        });
    }
    observations.push(Observation {
        source: SourceId("sim:score".into()),
        at: Timestamp(at(240)),
        interval: Duration::from_secs(1),
        payload: Payload::Objectives(vec![
            ObjectiveStatus {
                name: "paused-before-90".into(),
                kind: "paused_before".into(),
                description: "Pause the run before T+01:30".into(),
                state: ObjectiveState::Met {
                    at_ms: 63_000,
                    detail: "paused at T+01:03 by bob".into(),
                },
                fin: true,
            },
            ObjectiveStatus {
                name: "recovered-within-180".into(),
                kind: "recovered_within".into(),
                description: "Recover within 3 minutes".into(),
                state: ObjectiveState::Missed {
                    at_ms: 180_000,
                    detail: "still rolling back at T+03:00".into(),
                },
                fin: true,
            },
            ObjectiveStatus {
                name: "no-data-loss".into(),
                kind: "no_data_loss".into(),
                description: "No order lost".into(),
                state: ObjectiveState::Pending,
                fin: false,
            },
        ]),
    });
    let journal = vec![
        journal(1, 2, json!({"kind": "verb", "verb": "Run", "by": "alice"})),
        journal(
            2,
            90,
            json!({"kind": "intent", "step": 0, "attempt": 1, "key": "r/pause-backfill"}),
        ),
        journal(3, 95, json!({"kind": "applied", "step": 0})),
        journal(4, 63, json!({"kind": "verb", "verb": "Pause", "by": "bob"})),
        journal(
            5,
            100,
            json!({"kind": "held", "reason": "gate primary disk below 95% failed", "by": "engine"}),
        ),
        journal(
            6,
            152,
            json!({"kind": "verb", "verb": {"Rollback": {"reason": "disk at 91%"}}, "by": "alice"}),
        ),
        journal(
            7,
            199,
            json!({"kind": "undo_intent", "step": 0, "attempt": 1, "key": "r/pause-backfill/undo"}),
        ),
        journal(8, 200, json!({"kind": "compensated", "step": 0})),
        journal(9, 200, json!({"kind": "baseline", "data": {}})),
    ];
    let audit = vec![
        audit(
            10,
            intent(1, "alice", "run.resume", None, json!({"source": "system"})),
        ),
        audit(
            11,
            Audit {
                text: Some("replica-1 network partition"),
                ..intent(
                    30,
                    "carol",
                    "drill.inject_fault",
                    Some("F 2"),
                    json!({"source": "key F 2"}),
                )
            },
        ),
        audit(
            12,
            intent(
                45,
                "bob",
                "pane.focus_next",
                Some("tab"),
                json!({"source": "key tab"}),
            ),
        ),
        audit(
            13,
            intent(
                62,
                "bob",
                "run.pause",
                Some("p"),
                json!({"source": "key p"}),
            ),
        ),
        audit(14, outcome(63, "bob", "run.pause", "applied")),
        audit(
            15,
            Audit {
                kind: RecordKind::Note,
                text: Some("lag on replica-1 climbing; <script>alert(1)</script> | `rm -rf` ]]>"),
                ..intent(120, "alice", "note.save", None, json!({}))
            },
        ),
        audit(
            16,
            intent(
                149,
                "alice",
                "run.rollback",
                Some("R"),
                json!({"source": "key R", "reason": "disk at 91%"}),
            ),
        ),
        audit(
            17,
            intent(
                151,
                "dave",
                "approval.approve",
                Some("a"),
                json!({"source": "key a", "reason": "agreed"}),
            ),
        ),
        audit(18, outcome(152, "alice", "run.rollback", "applied")),
    ];
    assemble(Inputs {
        run: run_row("rolled_back", 230),
        journal,
        audit,
        observations,
        clock: Clock::Wall { start },
        notes: Vec::new(),
    })
}

#[test]
fn figures_of_the_seeded_drill() {
    let d = seeded_drill();
    let f = &d.figures;
    assert_eq!(
        f.first_action.as_ref().map(|f| f.after),
        Some(Duration::from_secs(62))
    );
    assert_eq!(
        f.first_pause.as_ref().map(|f| f.after),
        Some(Duration::from_secs(63))
    );
    assert_eq!(f.recovery.took, Some(Duration::from_secs(230)));
    assert_eq!(d.run.rto, Some(Duration::from_secs(1800)));
    assert_eq!(f.recovery.rto_met(), Some(true));
    assert_eq!(d.objectives.len(), 3);
    // Viewing actions stay out of the timeline; the rest is in time order.
    assert!(!d.rows.iter().any(|r| r.what.contains("focus")));
    assert!(d.rows.windows(2).all(|w| w[0].at <= w[1].at));
    assert!(
        d.rows
            .iter()
            .any(|r| r.what == "fault injected: replica-1 network partition [key F 2]")
    );
}

#[test]
fn markdown_snapshot() {
    let d = seeded_drill();
    let names: Vec<String> = d
        .charts
        .iter()
        .map(|c| format!("drill-{}.svg", c.slug))
        .collect();
    insta::assert_snapshot!(md::write(&d, Some(&names)));
}

#[test]
fn html_snapshot() {
    insta::assert_snapshot!(html::write(&seeded_drill()));
}

#[test]
fn lag_chart_snapshot() {
    let d = seeded_drill();
    insta::assert_snapshot!(chart::svg(&d.charts[0], true));
}

#[test]
fn html_is_self_contained_and_inert() {
    let html = html::write(&seeded_drill());
    assert!(!html.to_lowercase().contains("<script"));
    assert!(!html.contains("http://") && !html.contains("https://"));
    assert!(!html.contains("]]>"));
    assert_eq!(html.matches("<svg").count(), 3);
    assert_eq!(html.matches("</svg>").count(), 3);
}

#[test]
fn hostile_names_from_the_store_stay_text() {
    let mut d = seeded_drill();
    d.run.plan_name = "<script>alert(1)</script>|`x`|[l](javascript:x)".into();
    d.run.operator = "]]><img src=x onerror=alert(1)>".into();
    d.rows[0].who = "eve\u{1b}[2J|<b>".into();
    d.charts[0].series[0].name = "<script>".into();
    let html = html::write(&d);
    assert!(!html.contains("<script") && !html.contains("<img") && !html.contains("<b>"));
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(!html.contains('\u{1b}'));
    let md = md::write(&d, None);
    assert!(
        md.contains(
            "&lt;script&gt;alert\\(1\\)&lt;/script&gt;\\|\\`x\\`\\|\\[l\\]\\(javascript:x\\)"
        ),
        "{md}"
    );
    assert!(!md.contains("<img") && !md.contains('\u{1b}'));
    assert!(md.contains("use `-o FILE.md`"));
}

#[test]
fn a_run_on_real_targets_without_observations() {
    let mut run = run_row("running", 60);
    run.scenario = None;
    run.seed = None;
    let d = assemble(Inputs {
        run,
        journal: vec![],
        audit: vec![],
        observations: vec![],
        clock: Clock::Wall {
            start: Timestamp(START),
        },
        notes: vec![],
    });
    assert!(d.title().starts_with("Postmortem draft"));
    assert_eq!(d.figures.recovery.took, None);
    assert!(d.charts.iter().all(|c| c.series.is_empty()));
    let html = html::write(&d);
    assert_eq!(html.matches("no data").count(), 3);
    assert!(html.contains("no one acted on the run"));
}

#[test]
fn audit_records_of_the_run_only() {
    let run = run_row("rolled_back", 230);
    let mut other = audit(1, intent(5, "zed", "run.pause", None, json!({})));
    other.run_id = Some("r-other".into());
    let mut exited = audit(2, intent(231, "alice", "run.exited", None, json!({})));
    exited.kind = RecordKind::Engine;
    exited.run_id = None;
    exited.plan_digest = None;
    let ours = audit(3, intent(10, "alice", "run.resume", None, json!({})));
    // Another session, no run, another plan: not ours.
    let mut stranger = audit(4, intent(20, "zed", "run.note", None, json!({})));
    stranger.run_id = None;
    stranger.plan_digest = Some("sha256:other".into());
    // A headless session names no run: its plan's digest and the time tell.
    let mut headless = audit(5, intent(3, "hal", "run.resume", None, json!({})));
    headless.run_id = None;
    let mut later = audit(6, intent(600, "hal", "run.resume", None, json!({})));
    later.run_id = None;
    let kept = run_records(&[other, exited, ours, stranger, headless, later], &run);
    let seqs: Vec<u64> = kept.iter().map(|r| r.seq).collect();
    assert_eq!(seqs, vec![2, 3, 5]);
}

/// The committed `screenshots/report-*.svg` (README, "Facilitating a drill") are the
/// seeded drill's charts as ebb draws them now; `scripts/report-screenshots` rewrites them.
#[test]
fn committed_report_screenshots_are_current() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("screenshots");
    let update = std::env::var_os("EBB_UPDATE_SCREENSHOTS").is_some();
    let mut stale = Vec::new();
    for c in &seeded_drill().charts {
        let path = root.join(format!("report-{}.svg", c.slug));
        let svg = chart::svg(c, true);
        if update {
            std::fs::write(&path, &svg).unwrap();
        } else if std::fs::read_to_string(&path).unwrap_or_default() != svg {
            stale.push(path.display().to_string());
        }
    }
    assert!(
        stale.is_empty(),
        "out-of-date report screenshots: {stale:?}\nregenerate with: scripts/report-screenshots"
    );
}
