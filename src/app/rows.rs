//! The rows of the filterable panes as plain (sanitized) text, in the order the panes draw
//! them: what a `/` filter matches (see `filter::matches`), which rows it keeps, and what `y` copies.

use crate::engine::StepStatus;
use crate::sources::PodStatus;
use crate::sources::kube::{ClaimStatus, KubeSnapshot, RolloutStatus};
use crate::sources::{SnapshotStatus, SourceId, StorageSnapshot};
use crate::units::fmt_bytes;

use super::model::{Model, PaneId};

/// Every row of `pane`, one string each, in drawing order (empty for unfiltered panes).
pub fn rows(model: &Model, pane: PaneId) -> Vec<String> {
    match pane {
        PaneId::Timeline => model
            .timeline
            .iter()
            .map(|e| format!("{} {}", e.at.hms(), e.text.as_str()))
            .collect(),
        PaneId::Plan => model.plan.as_ref().map_or_else(Vec::new, |p| {
            p.steps
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    let status = model
                        .run
                        .as_ref()
                        .and_then(|r| r.steps.get(i))
                        .map_or("", |v| step_word(&v.status));
                    format!(
                        "{} {} {} {status} {}",
                        i + 1,
                        s.id.as_str(),
                        s.kind.as_str(),
                        s.description.as_str()
                    )
                })
                .collect()
        }),
        PaneId::Workload => workload(model),
        PaneId::Storage => storage(model),
        PaneId::Migration | PaneId::Replication => Vec::new(),
    }
}

/// The indices of the rows `pane`'s filter keeps, or `None` when it has no filter.
pub fn shown(model: &Model, pane: PaneId) -> Option<Vec<usize>> {
    let filter = model.filter_of(pane)?.to_lowercase();
    Some(
        rows(model, pane)
            .iter()
            .enumerate()
            .filter(|(_, r)| r.to_lowercase().contains(&filter))
            .map(|(i, _)| i)
            .collect(),
    )
}

/// The selected row of a filtered pane: among the rows kept, the one at the pane's scroll
/// position (the top of the list unless moved). `None` without a filter or a match.
pub fn selected(model: &Model, pane: PaneId) -> Option<(usize, usize)> {
    selected_of(model, pane, &shown(model, pane)?)
}

/// [`selected`] among rows already filtered (`kept`, from [`shown`]).
pub fn selected_of(model: &Model, pane: PaneId, kept: &[usize]) -> Option<(usize, usize)> {
    let at = model.scroll_of(pane).min(kept.len().checked_sub(1)?);
    Some((at, kept[at]))
}

/// The text of the selected row of the focused pane, if it has one.
pub fn selected_text(model: &Model) -> Option<String> {
    let (_, row) = selected(model, model.focus)?;
    rows(model, model.focus).into_iter().nth(row)
}

/// The word the Plan pane shows for a step's status (empty while pending).
pub fn step_word(status: &StepStatus) -> &'static str {
    match status {
        StepStatus::Pending => "",
        StepStatus::Running { .. } => "running",
        StepStatus::Applied => "done",
        StepStatus::Partial { .. } => "partial",
        StepStatus::Unchecked { .. } => "applied",
        StepStatus::Failed { .. } => "FAILED",
        StepStatus::Skipped { .. } => "skipped",
        StepStatus::InDoubt { .. } => "IN DOUBT",
        StepStatus::Undoing => "undoing",
        StepStatus::Compensated => "undone",
        StepStatus::UndoFailed { .. } => "UNDO FAILED",
        StepStatus::NotCompensated => "no undo",
    }
}

/// Whether the Workload pane shows Kubernetes rollouts (the same test as the pane).
pub fn kube_workload(model: &Model) -> bool {
    model.workload.is_empty()
        && (!model.kube.is_empty() || model.watched.iter().any(|s| s.0.starts_with("kube:")))
}

fn pod(p: &PodStatus) -> String {
    let state = match &p.reason {
        Some(r) => r.as_str().to_string(),
        None if p.ready => p.phase.as_str().to_string(),
        None => format!("{} (not ready)", p.phase),
    };
    format!(
        "{} {} {state} restarts {}",
        p.name.as_str(),
        p.revision.as_str(),
        p.restarts
    )
}

fn rollout(s: &RolloutStatus) -> String {
    format!(
        "{} ready {}/{} rev {} → {} partition {}",
        s.name.as_str(),
        s.ready,
        s.replicas,
        s.current_revision.as_str(),
        s.update_revision.as_str(),
        s.partition
    )
}

fn workload(model: &Model) -> Vec<String> {
    if !kube_workload(model) {
        return model
            .workload
            .values()
            .next()
            .map_or_else(Vec::new, |f| f.value.pods.iter().map(pod).collect());
    }
    let sources = model.kube_sources();
    let headed = sources.len() > 1;
    let mut out = Vec::new();
    for source in &sources {
        if headed {
            out.push(source.target().to_string());
        }
        let Some(f) = model.kube.get(source) else {
            continue;
        };
        if f.value.statefulsets.is_empty() {
            out.push(format!("no StatefulSets in {}", f.value.namespace));
        }
        for s in &f.value.statefulsets {
            out.push(rollout(s));
            out.extend(s.unready.iter().map(pod));
        }
    }
    out
}

fn snapshot(s: &SnapshotStatus) -> String {
    let word = match s.state {
        crate::sources::SnapshotState::Ready => "ready",
        crate::sources::SnapshotState::Pending => "pending",
        crate::sources::SnapshotState::Failed => "failed",
    };
    format!("{} {word} of {}", s.name.as_str(), s.volume.as_str())
}

fn postgres_storage(s: &StorageSnapshot, say_no_snapshots: bool, out: &mut Vec<String>) {
    for v in &s.volumes {
        out.push(format!(
            "{} {}/{}",
            v.name.as_str(),
            fmt_bytes(v.used_bytes),
            fmt_bytes(v.capacity_bytes)
        ));
    }
    if !s.slots.is_empty() {
        out.push("replication slots".into());
        for slot in &s.slots {
            out.push(format!(
                "{} {} retains {} wal {}",
                slot.name.as_str(),
                if slot.active { "active" } else { "INACTIVE" },
                fmt_bytes(slot.retained_bytes),
                slot.wal_status.as_str()
            ));
        }
    }
    if !s.snapshots.is_empty() {
        out.push("snapshots".into());
        out.extend(s.snapshots.iter().map(snapshot));
    } else if say_no_snapshots {
        out.push("snapshots: none taken".into());
    }
}

fn claim(v: &ClaimStatus) -> String {
    let pod = v.pod.as_ref().map(|p| p.as_str()).unwrap_or("");
    format!("{} {} {pod}", v.name.as_str(), v.phase.as_str())
        .trim_end()
        .to_string()
}

fn kube_storage(s: &KubeSnapshot, say_none: bool, out: &mut Vec<String>) {
    if s.volumes.is_empty() {
        out.push(format!("no PersistentVolumeClaims in {}", s.namespace));
    }
    out.extend(s.volumes.iter().map(claim));
    if s.snapshots.is_empty() {
        if say_none {
            out.push("snapshots: none taken".into());
        }
    } else {
        out.push("volume snapshots".into());
        out.extend(s.snapshots.iter().map(snapshot));
    }
}

fn storage(model: &Model) -> Vec<String> {
    let groups: Vec<SourceId> = model.sources_for(&model.storage);
    let kube = model.kube_sources();
    let headed = groups.len() + kube.len() > 1;
    let mut out = Vec::new();
    for source in &groups {
        if headed {
            out.push(source.target().to_string());
        }
        if let Some(f) = model.storage.get(source) {
            postgres_storage(&f.value, !headed, &mut out);
        }
    }
    for source in &kube {
        if headed {
            out.push(source.target().to_string());
        }
        if let Some(f) = model.kube.get(source) {
            kube_storage(&f.value, !headed, &mut out);
        }
    }
    out
}
