//! The scenario's fault timeline: starts and ends faults at their world time and says,
//! each sub-step, what the active ones do (stalls, bandwidth, disk fill, crashes, outages).

use super::model::WorldState;
use super::scenario::{Bandwidth, CrashTarget, Fault, FaultSpec, Fill, OutageSource};
use super::tick::DT;
use super::{Events, push_event};
use crate::sources::Severity;
use crate::units::{fmt_bytes, fmt_rate};

/// One timeline entry and how far it has got.
#[derive(Clone, Debug, PartialEq)]
pub struct FaultRun {
    pub spec: FaultSpec,
    pub started: bool,
    pub ended: bool,
    /// Bytes a disk fill has written so far (released when it ends).
    pub filled: f64,
    /// Its start and end are world events everyone sees; a facilitator's injected fault
    /// is seen only by its effects.
    pub announced: bool,
}

impl FaultRun {
    pub fn new(spec: FaultSpec) -> Self {
        FaultRun {
            spec,
            started: false,
            ended: false,
            filled: 0.0,
            announced: true,
        }
    }

    pub fn active(&self) -> bool {
        self.started && !self.ended
    }
}

/// What the active faults do during one sub-step.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Effects {
    /// Per replica: apply stalled.
    pub stalled: Vec<bool>,
    /// Per replica: bandwidth override, bytes/s.
    pub bandwidth: Vec<Option<f64>>,
    /// Message of an uncounted batch failure in force.
    pub batch_failing: Option<String>,
    pub crash_pods: Vec<u32>,
    pub crash_revisions: Vec<String>,
    pub outage_db: bool,
    pub outage_app: bool,
}

impl Effects {
    pub fn none(replicas: usize) -> Self {
        Effects {
            stalled: vec![false; replicas],
            bandwidth: vec![None; replicas],
            ..Effects::default()
        }
    }

    pub fn outage(&self, source: OutageSource) -> bool {
        match source {
            OutageSource::Db => self.outage_db,
            OutageSource::App => self.outage_app,
        }
    }
}

/// One line saying what a fault does, with the world's names.
pub fn describe(f: &Fault, s: &WorldState) -> String {
    let replica = |i: usize| s.replicas.get(i).map(|r| r.name.as_str()).unwrap_or("?");
    let volume = |i: usize| s.volumes.get(i).map(|v| v.name.as_str()).unwrap_or("?");
    match f {
        Fault::ReplicaApplyStall { replica: r } => format!("{}: WAL replay stalled", replica(*r)),
        Fault::NetworkDegradation {
            replica: r,
            bandwidth,
        } => match bandwidth {
            Bandwidth::Factor(x) if *x == 0.0 => {
                format!("{}: network partitioned from the primary", replica(*r))
            }
            Bandwidth::Factor(x) => format!(
                "{}: network degraded to {:.0}% bandwidth",
                replica(*r),
                x * 100.0
            ),
            Bandwidth::Absolute(b) => {
                format!("{}: network degraded to {}", replica(*r), fmt_rate(*b))
            }
        },
        Fault::DiskFill { volume: v, fill } => match fill {
            Fill::Bytes(b) => format!(
                "{}: {} written outside the database",
                volume(*v),
                fmt_bytes(*b as u64)
            ),
            Fill::Rate(r) => format!(
                "{}: filling at {} outside the database",
                volume(*v),
                fmt_rate(*r)
            ),
        },
        Fault::MigrationBatchFailure { message, count } => match count {
            Some(n) => format!("{}: next {n} batches fail: {message}", s.migration.name),
            None => format!("{}: batches fail: {message}", s.migration.name),
        },
        Fault::Crashloop { target } => match target {
            CrashTarget::Pod(o) => format!("{}: container crashes on start", s.app.pod_name(*o)),
            CrashTarget::Revision(r) => format!("pods on {r}: container crashes on start"),
        },
        Fault::SourceOutage { source } => match source {
            OutageSource::Db => "sim:db: monitoring connection times out".to_string(),
            OutageSource::App => "sim:app: Kubernetes API unreachable".to_string(),
        },
    }
}

/// Starts and ends faults due at time `t` (seconds) and returns the effects in force.
pub fn advance(runs: &mut [FaultRun], s: &mut WorldState, t: f64, ev: &mut Events) -> Effects {
    let mut fx = Effects::none(s.replicas.len());
    for run in runs.iter_mut() {
        let at = run.spec.at.as_secs_f64();
        if !run.started && t >= at - 1e-9 {
            run.started = true;
            if run.announced {
                push_event(
                    ev,
                    t,
                    Severity::Warn,
                    format!("fault started: {}", describe(&run.spec.fault, s)),
                );
            }
            match &run.spec.fault {
                Fault::DiskFill {
                    volume,
                    fill: Fill::Bytes(b),
                } => {
                    if let Some(v) = s.volumes.get_mut(*volume) {
                        let room = (v.capacity - v.used).max(0.0);
                        run.filled = b.min(room);
                        v.fill += run.filled;
                    }
                }
                Fault::MigrationBatchFailure {
                    message,
                    count: Some(n),
                } => {
                    s.migration.fail_budget = Some((*n, message.clone()));
                }
                _ => {}
            }
        }
        if run.active()
            && let Some(d) = run.spec.duration
            && t >= at + d.as_secs_f64() - 1e-9
        {
            run.ended = true;
            if run.announced {
                push_event(
                    ev,
                    t,
                    Severity::Info,
                    format!("fault ended: {}", describe(&run.spec.fault, s)),
                );
            }
            match &run.spec.fault {
                Fault::DiskFill { volume, .. } => {
                    if let Some(v) = s.volumes.get_mut(*volume) {
                        v.fill = (v.fill - run.filled).max(0.0);
                    }
                    run.filled = 0.0;
                }
                Fault::MigrationBatchFailure { count: Some(_), .. } => {
                    s.migration.fail_budget = None
                }
                _ => {}
            }
        }
        if !run.active() {
            continue;
        }
        match &run.spec.fault {
            Fault::ReplicaApplyStall { replica } => {
                if let Some(x) = fx.stalled.get_mut(*replica) {
                    *x = true;
                }
            }
            Fault::NetworkDegradation { replica, bandwidth } => {
                if let (Some(x), Some(r)) =
                    (fx.bandwidth.get_mut(*replica), s.replicas.get(*replica))
                {
                    *x = Some(match bandwidth {
                        Bandwidth::Factor(f) => r.bandwidth * f,
                        Bandwidth::Absolute(b) => *b,
                    });
                }
            }
            Fault::DiskFill {
                volume,
                fill: Fill::Rate(rate),
            } => {
                if let Some(v) = s.volumes.get_mut(*volume) {
                    let add = (rate * DT).min((v.capacity - v.used).max(0.0));
                    v.fill += add;
                    run.filled += add;
                }
            }
            Fault::DiskFill { .. } => {}
            Fault::MigrationBatchFailure {
                message,
                count: None,
            } => fx.batch_failing = Some(message.clone()),
            Fault::MigrationBatchFailure { .. } => {}
            Fault::Crashloop { target } => match target {
                CrashTarget::Pod(o) => fx.crash_pods.push(*o),
                CrashTarget::Revision(r) => fx.crash_revisions.push(r.clone()),
            },
            Fault::SourceOutage { source } => match source {
                OutageSource::Db => fx.outage_db = true,
                OutageSource::App => fx.outage_app = true,
            },
        }
    }
    fx
}
