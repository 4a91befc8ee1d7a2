//! Workload pane: the app StatefulSet's revisions, partition, readiness and error rate,
//! and its pods, so a bad revision or a crashloop is seen next to the database.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::{Freshness, error_line, filtered_frame, fit, highlight, mark, put, waiting, window};
use crate::app::{Model, PaneId};
use crate::config::theme::Theme;

/// Error rates at which the app is a warning, and critical.
pub const ERR_WARN: f64 = 0.01;
pub const ERR_CRIT: f64 = 0.05;

pub fn render(model: &Model, area: Rect, theme: &Theme, focused: bool, buf: &mut Buffer) {
    if super::kube_workload::applies(model) {
        return super::kube_workload::render(model, area, theme, focused, buf);
    }
    // Only the drill world has a workload source in this release: the first one is shown.
    let fig = model.workload.values().next();
    // A watching console has no workload source: nothing to wait for.
    let fresh = match fig {
        None if model.drill.is_none() => Freshness::Current,
        _ => Freshness::of(model, fig),
    };
    let subtitle = fig
        .map(|f| f.value.statefulset.as_str().to_string())
        .unwrap_or_default();
    let when = fig.map(|f| format!("{} · {}", f.source.0, f.at.hms()));
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
    let Some(fig) = fig else {
        if model.drill.is_none() {
            let text = "no workload source: no kubernetes target is watched";
            return put(buf, inner, 0, &Line::styled(text, theme.muted));
        }
        return waiting(buf, inner, theme, "workload figures");
    };
    let a = &fig.value;
    let mut y = 0;
    if let Some(l) = error_line(&fresh, theme) {
        put(buf, inner, y, &l);
        y += 1;
    }
    let (sym, err_style) = if a.error_rate >= ERR_CRIT {
        (mark::CRIT, theme.crit)
    } else if a.error_rate >= ERR_WARN {
        (mark::WARN, theme.warn)
    } else {
        (mark::OK, theme.ok)
    };
    let err_style = fresh.figure_style(theme, err_style);
    let ready_style = fresh.figure_style(
        theme,
        if a.ready < a.replicas {
            theme.warn
        } else {
            theme.ok
        },
    );
    let rollout = if a.current_revision == a.update_revision {
        format!("rev {}", a.current_revision)
    } else {
        format!("rev {} → {}", a.current_revision, a.update_revision)
    };
    put(
        buf,
        inner,
        y,
        &Line::from(vec![
            Span::styled(
                format!("{sym} errors {:.1}%", a.error_rate * 100.0),
                err_style,
            ),
            Span::styled(format!("  ready {}/{}", a.ready, a.replicas), ready_style),
            Span::styled(format!("  partition {}", a.partition), theme.muted),
            Span::styled(format!("  {rollout}"), theme.muted),
        ]),
    );
    y += 1;
    let rows = inner.height.saturating_sub(y) as usize;
    let win = window(model, PaneId::Workload, a.pods.len(), rows, theme);
    if let Some(line) = &win.no_match {
        return put(buf, inner, y, line);
    }
    for i in win.rows.iter().copied() {
        let Some(p) = a.pods.get(i) else { continue };
        let (sym, style) = if p.reason.is_some() || !p.ready {
            (mark::CRIT, theme.crit)
        } else {
            (mark::OK, theme.ok)
        };
        let style = fresh.figure_style(theme, style);
        let state = p
            .reason
            .as_ref()
            .map(|r| r.as_str().to_string())
            .unwrap_or_else(|| {
                if p.ready {
                    p.phase.as_str().to_string()
                } else {
                    format!("{} (not ready)", p.phase)
                }
            });
        put(
            buf,
            inner,
            y,
            &Line::from(vec![
                Span::styled(format!("{sym} "), style),
                Span::styled(fit(p.name.as_str(), 14), theme.accent),
                Span::styled(fit(p.revision.as_str(), 18), theme.muted),
                Span::styled(fit(&state, 20), style),
                Span::styled(
                    format!("restarts {}", p.restarts),
                    if p.restarts > 0 {
                        theme.warn
                    } else {
                        theme.muted
                    },
                ),
            ]),
        );
        if win.selected == Some(i) {
            highlight(buf, inner, y, theme);
        }
        y += 1;
    }
}
