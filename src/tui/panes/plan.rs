//! Plan pane: the loaded rollback plan's steps in order, each with its state mark.
//! Until the engine drives runs, every step is shown pending and the run as not started.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::{Freshness, first_row, fit, frame, mark, put};
use crate::app::{Model, PaneId};
use crate::config::theme::Theme;
use crate::plan::StepMark;

pub fn render(model: &Model, area: Rect, theme: &Theme, focused: bool, buf: &mut Buffer) {
    let subtitle = model
        .plan
        .as_ref()
        .map(|p| p.name.as_str().to_string())
        .unwrap_or_default();
    let inner = frame(
        area,
        buf,
        theme,
        PaneId::Plan,
        focused,
        &subtitle,
        &Freshness::Current,
        Some("run: not started".into()),
    );
    let Some(plan) = &model.plan else {
        put(
            buf,
            inner,
            0,
            &Line::styled("no plan loaded (ebb drill --plan FILE)", theme.muted),
        );
        return;
    };
    let mut summary = vec![Span::styled(
        plan.description.as_str().to_string(),
        theme.base,
    )];
    if let Some(rto) = &plan.rto {
        summary.push(Span::styled(format!("  rto {rto}"), theme.muted));
    }
    summary.push(Span::styled(
        format!(
            "  {} steps · {} gate{}",
            plan.steps.len(),
            plan.gates,
            if plan.gates == 1 { "" } else { "s" }
        ),
        theme.muted,
    ));
    put(buf, inner, 0, &Line::from(summary));
    let rows = inner.height.saturating_sub(1) as usize;
    let start = first_row(model.scroll_of(PaneId::Plan), plan.steps.len(), rows);
    let id_w = plan
        .steps
        .iter()
        .map(|s| s.id.as_str().chars().count())
        .max()
        .unwrap_or(8)
        .min(24)
        + 2;
    let kind_w = if inner.width >= 60 { 20 } else { 0 };
    for (i, step) in plan.steps.iter().enumerate().skip(start).take(rows) {
        let (sym, style) = match step.mark {
            StepMark::Pending => (mark::PENDING, theme.muted),
            StepMark::Running => (mark::RUNNING, theme.accent),
            StepMark::Done => (mark::OK, theme.ok),
            StepMark::Failed => (mark::CRIT, theme.crit),
            StepMark::Skipped => ("»", theme.warn),
            StepMark::Compensated => ("↺", theme.idle),
        };
        let mut spans = vec![
            Span::styled(format!("{sym} "), style),
            Span::styled(format!("{:>2} ", i + 1), theme.muted),
            Span::styled(fit(step.id.as_str(), id_w), theme.accent),
        ];
        if kind_w > 0 {
            spans.push(Span::styled(fit(step.kind.as_str(), kind_w), theme.muted));
        }
        spans.push(Span::styled(
            step.description.as_str().to_string(),
            theme.base,
        ));
        put(buf, inner, 1 + (i - start) as u16, &Line::from(spans));
    }
}
