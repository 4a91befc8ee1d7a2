//! Figures grouped by target: which sources a pane shows and how current each one is,
//! the heading line above a target's rows, and the pane's freshness across its targets.

use std::collections::BTreeMap;

use ratatui::text::{Line, Span};

use super::{Freshness, mark};
use crate::app::{Figure, Model};
use crate::config::theme::Theme;
use crate::sources::SourceId;
use crate::sources::kube::KubeSnapshot;
use crate::time::Timestamp;
use crate::units::fmt_duration;

/// One target's figure of a pane's kind, if it has one, and how current it is.
pub struct Group<'a, T> {
    pub source: SourceId,
    pub fig: Option<&'a Figure<T>>,
    pub fresh: Freshness,
}

/// The targets a pane shows, in the model's order (see `Model::sources_for`).
pub fn groups<'a, T>(
    model: &'a Model,
    figs: &'a BTreeMap<SourceId, Figure<T>>,
) -> Vec<Group<'a, T>> {
    model
        .sources_for(figs)
        .into_iter()
        .map(|source| {
            let fig = figs.get(&source);
            let fresh = Freshness::of_source(model, &source, fig);
            Group { source, fig, fresh }
        })
        .collect()
}

/// The Kubernetes targets (Storage and Workload panes), each with its figure.
pub fn kube_groups(model: &Model) -> Vec<Group<'_, KubeSnapshot>> {
    model
        .kube_sources()
        .into_iter()
        .map(|source| {
            let fig = model.kube.get(&source);
            let fresh = Freshness::of_source(model, &source, fig);
            Group { source, fig, fresh }
        })
        .collect()
}

/// The pane's freshness: the worst of its targets (a failed one, else the stalest).
pub fn overall<T>(groups: &[Group<'_, T>]) -> Freshness {
    overall_of(groups.iter().map(|g| g.fresh.clone()).collect())
}

/// The worst of several targets' freshness (a failed one, else the stalest).
pub fn overall_of(fresh: Vec<Freshness>) -> Freshness {
    if let [one] = fresh.as_slice() {
        return one.clone();
    }
    if let Some(f) = fresh.iter().find(|f| matches!(f, Freshness::Failed { .. })) {
        return f.clone();
    }
    let stalest = fresh
        .iter()
        .filter_map(|f| match f {
            Freshness::Stale(age) => Some(*age),
            _ => None,
        })
        .max();
    if let Some(age) = stalest {
        return Freshness::Stale(age);
    }
    if fresh.iter().any(Freshness::is_current) {
        Freshness::Current
    } else {
        Freshness::Waiting
    }
}

/// The frame's right-hand note for several targets: how many, and the newest figure's time.
pub fn when_many<T>(groups: &[Group<'_, T>]) -> Option<String> {
    let newest: Option<Timestamp> = groups.iter().filter_map(|g| g.fig.map(|f| f.at)).max();
    newest.map(|at| format!("{} targets · {}", groups.len(), at.hms()))
}

/// The line above a target's rows: its name, `extra` (e.g. its primary and WAL rate), and
/// what is wrong with its figures: its error and the age of its last good one, or STALE.
pub fn heading<T>(group: &Group<'_, T>, extra: &str, theme: &Theme) -> Line<'static> {
    let name = group.source.target().to_string();
    let mut spans = Vec::new();
    match &group.fresh {
        Freshness::Failed { error, age } => {
            // The age first: a long error is clipped, the age of the figures never is.
            let age = match age {
                Some(a) => format!("last good {} ago", fmt_duration(*a)),
                None => "no figure yet".to_string(),
            };
            spans.push(Span::styled(
                format!("{} {name} · {age} · ", mark::CRIT),
                theme.crit,
            ));
            spans.push(Span::styled(error.clone(), theme.crit));
        }
        Freshness::Stale(age) => {
            spans.push(Span::styled(format!("▸ {name}"), theme.title));
            if !extra.is_empty() {
                spans.push(Span::styled(format!(" · {extra}"), theme.muted));
            }
            spans.push(Span::styled(
                format!("  {} STALE · {} old", mark::STALE, fmt_duration(*age)),
                theme.warn,
            ));
        }
        Freshness::Waiting => {
            spans.push(Span::styled(format!("▸ {name}"), theme.title));
            spans.push(Span::styled(" · waiting for first figures…", theme.muted));
        }
        Freshness::Current => {
            spans.push(Span::styled(format!("▸ {name}"), theme.title));
            if !extra.is_empty() {
                spans.push(Span::styled(format!(" · {extra}"), theme.muted));
            }
        }
    }
    Line::from(spans)
}

/// Every watched target has reported, and none of them with this pane's kind: they are
/// all standbys, which report replication only. The pane says so instead of waiting.
pub fn none_of_this_kind<T>(model: &Model, groups: &[Group<'_, T>]) -> bool {
    groups.is_empty()
        && !model.watched.is_empty()
        && model.watched.iter().all(|s| model.has_any_figure(s))
}
