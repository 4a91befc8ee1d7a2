//! `ebb report`: a run's debrief (drills) or postmortem draft (real runs), gathered from the
//! store into a [`ReportData`] (timeline, figures, objectives, charts) and written as md/HTML.

pub mod chart;
pub mod clock;
pub mod escape;
pub mod facts;
pub mod figures;
pub mod html;
pub mod md;
pub mod resim;
pub mod series;
pub mod timeline;

use std::time::Duration;

use serde::Deserialize;

use crate::audit::{AuditRecord, RecordKind};
use crate::runner::bus::Published;
use crate::sim::world::ObjectiveStatus;
use crate::sources::{Observation, Payload};
use crate::store::{AuditQuery, JournalRecord, RunRow, Store, StoreError};
use crate::time::Timestamp;

use chart::{Chart, Marker, MarkerKind};
use clock::Clock;
use figures::Figures;
use timeline::{Origin, Row, RowKind};

/// What gathering a report can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("no run {0} in this store (`ebb runs list` shows the runs)")]
    NoSuchRun(String),
    #[error("cannot read the store: {0}")]
    Store(#[from] StoreError),
}

/// The run as the report's header shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct RunInfo {
    pub id: String,
    pub plan_name: String,
    pub plan_digest: String,
    pub plan_description: Option<String>,
    /// Drill scenario and seed (None: a run on real targets).
    pub scenario: Option<(String, u64)>,
    pub operator: String,
    pub state: String,
    pub started: Timestamp,
    /// When it reached a final state.
    pub finished: Option<Timestamp>,
    pub rto: Option<Duration>,
    /// Step ids in plan order.
    pub steps: Vec<String>,
}

/// Everything a report shows, ready to render.
#[derive(Clone, Debug, PartialEq)]
pub struct ReportData {
    pub run: RunInfo,
    pub rows: Vec<Row>,
    pub figures: Figures,
    pub objectives: Vec<ObjectiveStatus>,
    pub charts: Vec<Chart>,
    /// Whether the charts' time axis is the re-simulated world's.
    pub world_axis: bool,
    /// What the reader should know about the sources (unverified log, re-simulation…).
    pub notes: Vec<String>,
}

impl ReportData {
    /// `T+mm:ss` of a wall-clock instant, relative to the run's start.
    pub fn tplus(&self, at: Timestamp) -> String {
        timeline::tplus((at.0 - self.run.started.0) as f64 / 1000.0)
    }

    /// "Drill debrief" or "Postmortem draft".
    pub fn title(&self) -> String {
        match &self.run.scenario {
            Some(_) => format!("Drill debrief: {}", self.run.plan_name),
            None => format!("Postmortem draft: {}", self.run.plan_name),
        }
    }
}

/// What a report is assembled from; no I/O past this point.
#[derive(Clone, Debug)]
pub struct Inputs {
    pub run: RunRow,
    pub journal: Vec<JournalRecord>,
    /// The run's audit records ([`run_records`]).
    pub audit: Vec<AuditRecord>,
    pub observations: Vec<Observation>,
    /// The charts' axis: the wall clock, or the re-simulated world's.
    pub clock: Clock,
    pub notes: Vec<String>,
}

/// Reads everything about `run_id` from the store and assembles its report.
pub async fn gather(store: &Store, run_id: &str) -> Result<ReportData, ReportError> {
    let run = store
        .run(run_id)
        .await?
        .ok_or_else(|| ReportError::NoSuchRun(run_id.to_string()))?;
    let journal = store.journal(run_id).await?;
    let mut notes = Vec::new();
    let audit = match crate::audit::verified_rows(store).await {
        Ok((records, _)) => records,
        Err(e) => {
            notes.push(format!(
                "The audit log does not verify ({e}); its records are shown as stored: \
                 run `ebb audit verify`."
            ));
            let rows = store.audit_rows(AuditQuery::default()).await?;
            rows.iter()
                .filter_map(|r| serde_json::from_str(&r.record).ok())
                .collect()
        }
    };
    let audit = run_records(&audit, &run);
    let mut observations = published_observations(store, &run).await?;
    if observations.is_empty() {
        let (console, recorded) = recorded_observations(store, &run).await?;
        if let Some(console) = console.filter(|_| !recorded.is_empty()) {
            notes.push(format!(
                "The charts are what console {console} watched, from its recording (`ebb replay {} --console {console}`).",
                run.id
            ));
        }
        observations = recorded;
    }
    let start = Timestamp(run.created_at);
    let mut clock = Clock::Wall { start };
    if observations.is_empty() && run.scenario.is_some() {
        let until = end_of(&run, &journal, &audit);
        match resim::resimulate(&run, &journal, until) {
            Ok(Some(r)) => {
                notes.push(
                    "No observations were stored for this drill: the charts are re-simulated \
                     from its scenario, seed and journaled effects, on the world's clock \
                     (actions placed on it from their wall-clock times)."
                        .to_string(),
                );
                observations = r.observations;
                clock = r.clock;
            }
            Ok(None) => {}
            Err(e) => notes.push(format!("The drill world cannot be re-simulated: {e}")),
        }
    }
    Ok(assemble(Inputs {
        run,
        journal,
        audit,
        observations,
        clock,
        notes,
    }))
}

/// The observations stored for a run, oldest first: the batches its runner published on
/// the bus (a drill's world), else what a console watched, from its recording (a real
/// run's servers are watched by the consoles, not the runner).
pub async fn observations(store: &Store, run: &RunRow) -> Result<Vec<Observation>, ReportError> {
    let published = published_observations(store, run).await?;
    if !published.is_empty() {
        return Ok(published);
    }
    Ok(recorded_observations(store, run).await?.1)
}

/// What the console recorded longest on the run watched: every observation it took in.
/// An unreadable chunk ends it there (what came before still counts).
async fn recorded_observations(
    store: &Store,
    run: &RunRow,
) -> Result<(Option<String>, Vec<Observation>), ReportError> {
    let consoles = store.recorded_consoles(&run.id).await?;
    let Some(longest) = consoles.iter().max_by_key(|c| c.last_ms - c.first_ms) else {
        return Ok((None, Vec::new()));
    };
    let mut out = Vec::new();
    for chunk in store.recording(&run.id, &longest.console).await? {
        let Ok(entries) = crate::replay::entry::decode_chunk(chunk.seq, &chunk.body) else {
            break;
        };
        out.extend(entries.into_iter().filter_map(|(_, e)| match e {
            crate::replay::Entry::Msg(crate::app::Msg::Observation(o)) => Some(o),
            _ => None,
        }));
    }
    Ok((Some(longest.console.clone()), out))
}

async fn published_observations(
    store: &Store,
    run: &RunRow,
) -> Result<Vec<Observation>, ReportError> {
    const PAGE: i64 = 1000;
    let mut out = Vec::new();
    let mut after = 0;
    loop {
        let events = store.run_events(&run.id, after, PAGE).await?;
        let Some(last) = events.last() else { break };
        after = last.seq;
        for e in &events {
            // Decoded from a borrow: an hour of batches is megabytes of JSON values.
            if let Ok(Published::Observations(batch)) = Published::deserialize(&e.body) {
                out.extend(batch);
            }
        }
        if (events.len() as i64) < PAGE {
            break;
        }
    }
    Ok(out)
}

/// The audit records of one run: those naming it, and those naming no run (a headless
/// session's, the engine's notes and exit) written while it went on by one of its sessions
/// or with its plan's digest. Checkpoints, keys and session records are left out.
pub fn run_records(all: &[AuditRecord], run: &RunRow) -> Vec<AuditRecord> {
    let ours = |r: &AuditRecord| r.run_id.as_deref() == Some(run.id.as_str());
    let sessions: std::collections::BTreeSet<&str> = all
        .iter()
        .filter(|r| ours(r))
        .map(|r| r.session.as_str())
        .collect();
    let from = run
        .created_at
        .saturating_sub(5_000)
        .saturating_mul(1_000_000);
    let until = if figures::is_final(&run.state) {
        // The exit and the session's end come just after the final state.
        run.updated_at
            .saturating_add(60_000)
            .saturating_mul(1_000_000)
    } else {
        i64::MAX
    };
    all.iter()
        .filter(|r| {
            matches!(
                r.kind,
                RecordKind::Intent | RecordKind::Outcome | RecordKind::Engine | RecordKind::Note
            )
        })
        .filter(|r| {
            ours(r)
                || (r.run_id.is_none()
                    && (sessions.contains(r.session.as_str())
                        || r.plan_digest.as_deref() == Some(run.plan_digest.as_str()))
                    && (from..=until).contains(&r.at_ns))
        })
        .cloned()
        .collect()
}

/// When the run ended (its state final) or, running still, the newest thing on record.
fn end_of(run: &RunRow, journal: &[JournalRecord], audit: &[AuditRecord]) -> Timestamp {
    if figures::is_final(&run.state) {
        return Timestamp(run.updated_at);
    }
    let j = journal.iter().map(|j| j.at).max().unwrap_or(run.created_at);
    let a = audit
        .iter()
        .map(|r| r.at_ns.div_euclid(1_000_000))
        .max()
        .unwrap_or(run.created_at);
    Timestamp(j.max(a).max(run.updated_at))
}

/// Builds the report from what was read. Deterministic: the same inputs, the same report.
pub fn assemble(inputs: Inputs) -> ReportData {
    let Inputs {
        run,
        journal,
        audit,
        observations,
        clock,
        mut notes,
    } = inputs;
    let start = Timestamp(run.created_at);
    let plan = parse_plan(&run, &mut notes);
    let steps: Vec<String> = plan
        .as_ref()
        .map(|p| p.steps.iter().map(|s| s.id.clone()).collect())
        .unwrap_or_default();
    let finished = figures::is_final(&run.state).then_some(Timestamp(run.updated_at));
    let rto = plan.as_ref().and_then(|p| p.rto);

    let mut rows = vec![Row {
        at: start,
        who: run.operator.clone(),
        what: "run created".into(),
        origin: Origin::Journal,
        kind: RowKind::Run,
        mark: Some("start".into()),
    }];
    rows.extend(timeline::from_journal(&journal, &steps));
    rows.extend(timeline::from_audit(&audit, &steps));
    let world_rows = timeline::from_observations(&observations);
    rows.extend(world_rows.into_iter().map(|mut r| {
        // Re-simulated stamps are world time: back to the wall clock.
        if clock.is_world() {
            r.at = clock.wall((r.at.0 - start.0) as f64 / 1000.0);
            r.what = format!("{} (re-simulated)", r.what);
        }
        r
    }));
    if let Some(f) = finished {
        rows.push(Row {
            at: f,
            who: "engine".into(),
            what: format!("run finished: {}", run.state),
            origin: Origin::Journal,
            kind: RowKind::Run,
            mark: Some(run.state.replace('_', " ")),
        });
    }
    let rows = timeline::merge(rows);

    let figures = figures::figures(&audit, start, finished, &run.state, rto);
    let objectives = observations
        .iter()
        .rev()
        .find_map(|o| match &o.payload {
            Payload::Objectives(v) => Some(v.clone()),
            _ => None,
        })
        .unwrap_or_default();

    let markers: Vec<Marker> = rows
        .iter()
        .filter_map(|r| {
            let label = r.mark.clone()?;
            let kind = match r.kind {
                RowKind::Facilitator => MarkerKind::Fault,
                RowKind::Run | RowKind::Pause if r.origin == Origin::Journal => MarkerKind::Run,
                _ => MarkerKind::Action,
            };
            Some(Marker {
                x: clock.x(r.at),
                label,
                kind,
            })
        })
        .collect();
    let end = finished.unwrap_or_else(|| rows.last().map_or(start, |r| r.at));
    let x_span = (0.0, clock.x(end).max(0.0));
    let caption = if clock.is_world() {
        "T+ since the run started, world clock (re-simulated)"
    } else {
        "T+ since the run started, wall clock"
    };
    let charts = series::charts(&observations, start, x_span, &markers, caption);

    ReportData {
        run: RunInfo {
            id: run.id.clone(),
            plan_name: run.plan_name.clone(),
            plan_digest: run.plan_digest.clone(),
            plan_description: plan
                .as_ref()
                .map(|p| p.description.clone())
                .filter(|d| !d.is_empty()),
            scenario: run.scenario.clone().map(|s| (s, run.seed.unwrap_or(0))),
            operator: run.operator.clone(),
            state: run.state.clone(),
            started: start,
            finished,
            rto,
            steps,
        },
        rows,
        figures,
        objectives,
        charts,
        world_axis: clock.is_world(),
        notes,
    }
}

/// The plan as journaled with the run, for its RTO and step names.
fn parse_plan(run: &RunRow, notes: &mut Vec<String>) -> Option<crate::plan::Plan> {
    let file = crate::diag::SourceFile::new(run.plan_path.clone(), run.plan_source.clone());
    match crate::plan::Plan::parse(&file) {
        Ok(p) => Some(p),
        Err(e) => {
            let first = e
                .errors
                .first()
                .map(|e| e.line_form())
                .unwrap_or_else(|| "no detail".into());
            notes.push(format!(
                "The run's plan does not parse any more ({first}): no RTO or step names."
            ));
            None
        }
    }
}

#[cfg(test)]
mod tests;
