//! The Workload pane for Kubernetes targets: per target its StatefulSets' rollout (ready,
//! current → update revision, partition) and the pods not ready, with restarts and reason.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::groups::{heading, kube_groups, overall};
use super::{Freshness, error_line, filtered_frame, fit, highlight, mark, put, waiting, window};
use crate::app::{Model, PaneId};
use crate::config::theme::Theme;
use crate::sources::PodStatus;
use crate::sources::kube::{KubeSnapshot, RolloutStatus};

/// Whether the console watches Kubernetes targets (their rollouts fill the pane).
pub fn applies(model: &Model) -> bool {
    model.workload.is_empty()
        && (!model.kube.is_empty() || model.watched.iter().any(|s| s.0.starts_with("kube:")))
}

/// One row of the pane.
enum Row<'a> {
    Heading(usize),
    Rollout(usize, &'a RolloutStatus),
    Pod(usize, &'a PodStatus),
    Empty(&'a KubeSnapshot),
}

pub fn render(model: &Model, area: Rect, theme: &Theme, focused: bool, buf: &mut Buffer) {
    let groups = kube_groups(model);
    let fresh = overall(&groups);
    let headed = groups.len() > 1;
    let (subtitle, when) = match groups.as_slice() {
        [one] => (
            one.fig
                .map(|f| format!("ns {}", f.value.namespace))
                .unwrap_or_default(),
            one.fig.map(|f| format!("{} · {}", f.source.0, f.at.hms())),
        ),
        _ => (String::new(), super::groups::when_many(&groups)),
    };
    let inner = filtered_frame(
        model,
        area,
        buf,
        theme,
        PaneId::Workload,
        focused,
        &subtitle,
        &fresh,
        when,
    );
    let mut y = 0;
    if !headed && let Some(l) = error_line(&fresh, theme) {
        put(buf, inner, y, &l);
        y += 1;
    }
    if !headed && groups.iter().all(|g| g.fig.is_none()) {
        if y == 0 {
            waiting(buf, inner, theme, "StatefulSets and pods");
        }
        return;
    }
    let mut rows: Vec<Row> = Vec::new();
    for (gi, g) in groups.iter().enumerate() {
        if headed {
            rows.push(Row::Heading(gi));
        }
        let Some(f) = g.fig else { continue };
        if f.value.statefulsets.is_empty() {
            rows.push(Row::Empty(&f.value));
        }
        for s in &f.value.statefulsets {
            rows.push(Row::Rollout(gi, s));
            rows.extend(s.unready.iter().map(|p| Row::Pod(gi, p)));
        }
    }
    let visible = inner.height.saturating_sub(y) as usize;
    let win = window(model, PaneId::Workload, rows.len(), visible, theme);
    if let Some(line) = &win.no_match {
        return put(buf, inner, y, line);
    }
    for i in win.rows.iter().copied() {
        let Some(row) = rows.get(i) else { continue };
        let line = match row {
            Row::Heading(gi) => {
                let g = &groups[*gi];
                let extra = g.fig.map_or(String::new(), |f| {
                    format!(
                        "ns {} · {} StatefulSets",
                        f.value.namespace,
                        f.value.statefulsets.len()
                    )
                });
                heading(g, &extra, theme)
            }
            Row::Empty(s) => {
                Line::styled(format!("no StatefulSets in {}", s.namespace), theme.muted)
            }
            Row::Rollout(gi, s) => rollout_line(s, &groups[*gi].fresh, theme),
            Row::Pod(gi, p) => pod_line(p, &groups[*gi].fresh, theme),
        };
        put(buf, inner, y, &line);
        if win.selected == Some(i) {
            highlight(buf, inner, y, theme);
        }
        y += 1;
    }
}

fn rollout_line(s: &RolloutStatus, fresh: &Freshness, theme: &Theme) -> Line<'static> {
    let (sym, style) = if s.ready < s.replicas {
        (mark::WARN, theme.warn)
    } else if s.rolling() {
        (mark::RUNNING, theme.accent)
    } else {
        (mark::OK, theme.ok)
    };
    let style = fresh.figure_style(theme, style);
    let rev = if s.rolling() {
        format!("rev {} → {}", s.current_revision, s.update_revision)
    } else {
        format!("rev {}", s.current_revision)
    };
    let mut spans = vec![
        Span::styled(format!("{sym} "), style),
        Span::styled(fit(s.name.as_str(), 16), theme.accent),
        Span::styled(format!("ready {}/{}", s.ready, s.replicas), style),
        Span::styled(format!("  {rev}"), fresh.figure_style(theme, theme.base)),
    ];
    if s.rolling() {
        spans.push(Span::styled(
            format!("  updated {}/{}", s.updated, s.replicas),
            fresh.figure_style(theme, theme.base),
        ));
    }
    spans.push(Span::styled(
        format!("  partition {}", s.partition),
        theme.muted,
    ));
    Line::from(spans)
}

fn pod_line(p: &PodStatus, fresh: &Freshness, theme: &Theme) -> Line<'static> {
    let style = fresh.figure_style(theme, theme.crit);
    let state = match &p.reason {
        Some(r) => r.as_str().to_string(),
        None => format!("{} (not ready)", p.phase),
    };
    Line::from(vec![
        Span::styled(format!("  {} ", mark::CRIT), style),
        Span::styled(fit(p.name.as_str(), 16), theme.accent),
        Span::styled(fit(p.revision.as_str(), 12), theme.muted),
        Span::styled(fit(&state, 18), style),
        Span::styled(
            format!("restarts {}", p.restarts),
            if p.restarts > 0 {
                theme.warn
            } else {
                theme.muted
            },
        ),
    ])
}
