//! Plan pane: the loaded rollback plan's steps in order with their state marks; once a run
//! exists, the live step, elapsed time per step, progress, direction and pause reason.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};

use super::{Freshness, filtered_frame, fit, highlight, mark, put, window};
use crate::app::{Model, PaneId};
use crate::config::theme::Theme;
use crate::engine::{Direction, Landed, RunView, Status, StepStatus};
use crate::units::fmt_duration;

/// Mark, word and style of a step's status.
pub fn step_mark(status: &StepStatus, theme: &Theme) -> (&'static str, &'static str, Style) {
    let (sym, style) = match status {
        StepStatus::Pending => (mark::PENDING, theme.muted),
        StepStatus::Running { .. } => (mark::RUNNING, theme.accent),
        StepStatus::Applied => (mark::OK, theme.ok),
        StepStatus::Partial { .. } => ("◐", theme.warn),
        StepStatus::Unchecked { .. } => ("◐", theme.warn),
        StepStatus::Failed { .. } => (mark::CRIT, theme.crit),
        StepStatus::Skipped { .. } => ("»", theme.warn),
        StepStatus::InDoubt { .. } => ("?", theme.crit),
        StepStatus::Undoing => ("↺", theme.accent),
        StepStatus::Compensated => ("↺", theme.idle),
        StepStatus::UndoFailed { .. } => (mark::CRIT, theme.crit),
        StepStatus::NotCompensated => ("–", theme.warn),
    };
    // The word is the one a `/` filter matches too.
    (sym, crate::app::rows::step_word(status), style)
}

/// One line on the run: its state, who paused it and why, what holds it.
pub fn run_line(run: &RunView, theme: &Theme) -> Line<'static> {
    let (word, style) = match run.status {
        Status::NotStarted => ("not started".to_string(), theme.muted),
        Status::Running => ("running".to_string(), theme.ok),
        Status::Pausing => ("pausing (at the next safe point)".to_string(), theme.warn),
        Status::Paused => ("paused".to_string(), theme.warn),
        Status::Finished(f) => (f.word().to_string(), theme.accent),
    };
    let mut spans = vec![Span::styled(
        word,
        style.add_modifier(ratatui::style::Modifier::BOLD),
    )];
    if run.direction == Direction::Rollback && !matches!(run.status, Status::Finished(_)) {
        spans.push(Span::styled(" · ROLLING BACK", theme.crit));
    }
    if run.step_mode {
        spans.push(Span::styled(" · step mode", theme.accent));
    }
    if let Some(held) = &run.held {
        spans.push(Span::styled(format!(" · held: {held}"), theme.warn));
    }
    if let Some(p) = &run.pause
        && matches!(run.status, Status::Paused | Status::Pausing)
    {
        spans.push(Span::styled(
            format!(" · {} (by {})", p.text, p.by),
            theme.warn,
        ));
    }
    Line::from(spans)
}

pub fn render(model: &Model, area: Rect, theme: &Theme, focused: bool, buf: &mut Buffer) {
    let subtitle = model
        .plan
        .as_ref()
        .map(|p| p.name.as_str().to_string())
        .unwrap_or_default();
    let right = match &model.run {
        Some(r) => format!("run {}", r.run_id),
        None if model.drill.is_none() && !model.runnable => "watching only".into(),
        None => "run: not started".into(),
    };
    let inner = filtered_frame(
        model,
        area,
        buf,
        theme,
        PaneId::Plan,
        focused,
        &subtitle,
        &Freshness::Current,
        Some(right),
    );
    let Some(plan) = &model.plan else {
        put(
            buf,
            inner,
            0,
            &Line::styled(
                if model.drill.is_some() {
                    "no plan loaded (ebb drill --plan FILE)"
                } else {
                    "no plan loaded: watching only (ebb console --config PLAN shows its steps)"
                },
                theme.muted,
            ),
        );
        return;
    };
    let mut y = 0;
    match &model.run {
        Some(run) => {
            put(buf, inner, y, &run_line(run, theme));
            y += 1;
            if let Some(p) = &run.progress {
                put(buf, inner, y, &Line::styled(format!("  {p}"), theme.accent));
                y += 1;
            }
            if let Some(a) = &run.ask {
                // Pod names and states come from the API server: sanitized here.
                let (what, word) = (
                    crate::text::DisplayText::new(&a.what),
                    crate::text::DisplayText::new(&a.word),
                );
                let line = Line::from(vec![
                    Span::styled(
                        "  ASK ",
                        theme.crit.add_modifier(ratatui::style::Modifier::BOLD),
                    ),
                    Span::styled(what.as_str().to_string(), theme.crit),
                    Span::styled(
                        format!(" · c, then type {} to allow it", word.as_str()),
                        theme.warn,
                    ),
                ]);
                put(buf, inner, y, &line);
                y += 1;
            }
        }
        None => {
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
            put(buf, inner, y, &Line::from(summary));
            y += 1;
        }
    }
    let rows = inner.height.saturating_sub(y) as usize;
    let win = window(model, PaneId::Plan, plan.steps.len(), rows, theme);
    if let Some(line) = &win.no_match {
        return put(buf, inner, y, line);
    }
    let id_w = plan
        .steps
        .iter()
        .map(|s| s.id.as_str().chars().count())
        .max()
        .unwrap_or(8)
        .min(24)
        + 2;
    // The longest kind and two spaces (`statefulset_rollback` fills 20 columns).
    let kind_w = if inner.width >= 60 {
        plan.steps
            .iter()
            .map(|s| s.kind.as_str().chars().count())
            .max()
            .unwrap_or(4)
            .min(20)
            + 2
    } else {
        0
    };
    for (row, i) in win.rows.iter().copied().enumerate() {
        let Some(step) = plan.steps.get(i) else {
            continue;
        };
        let view = model.run.as_ref().and_then(|r| r.steps.get(i));
        let status = view
            .map(|v| v.status.clone())
            .unwrap_or(StepStatus::Pending);
        let (mut sym, mut word, mut style) = step_mark(&status, theme);
        let stopped = view.and_then(|v| v.stopped_at.as_deref());
        if let (StepStatus::Pending | StepStatus::Applied, Some(_)) = (&status, stopped) {
            // Cut off inside (a batch boundary): partly done, continues from there.
            (sym, word, style) = ("◐", "stopped", theme.warn);
        }
        let mut spans = vec![
            Span::styled(format!("{sym} "), style),
            Span::styled(format!("{:>2} ", i + 1), theme.muted),
            Span::styled(
                fit(step.id.as_str(), id_w),
                if word.is_empty() { theme.accent } else { style },
            ),
        ];
        if kind_w > 0 {
            spans.push(Span::styled(fit(step.kind.as_str(), kind_w), theme.muted));
        }
        // Part of its effect in place: what, instead of the time it took.
        let landed_word = match &status {
            StepStatus::Partial { done } => Some(format!("partial: {done}")),
            StepStatus::Unchecked { why } => Some(format!("applied, {why}")),
            _ => None,
        };
        if let Some(label) = landed_word {
            spans.push(Span::styled(format!("{label}  "), style));
            let next = match stopped {
                Some(at) => format!("stopped at {at}; r goes on, R undoes it"),
                None => "r goes on, R undoes it".to_string(),
            };
            spans.push(Span::styled(next, theme.muted));
        } else if !word.is_empty() {
            let elapsed = view.and_then(|v| match (v.started_at, v.finished_at) {
                (Some(a), Some(b))
                    if !matches!(status, StepStatus::Running { .. } | StepStatus::Undoing) =>
                {
                    Some(a.age_at(b))
                }
                (Some(a), _) => Some(a.age_at(model.now)),
                _ => None,
            });
            let t = elapsed
                .map(|d| format!(" {}", fmt_duration(d)))
                .unwrap_or_default();
            spans.push(Span::styled(format!("{word}{t}  "), style));
            if let StepStatus::Failed { error, .. } = &status {
                let landed = view.map(|v| &v.landed);
                match landed {
                    Some(Landed::Part(done)) => {
                        spans.push(Span::styled(format!("◐ partial: {done} · "), theme.warn));
                    }
                    Some(Landed::Unchecked(_)) => {
                        spans.push(Span::styled("◐ applied · ", theme.warn));
                    }
                    _ => {}
                }
                spans.push(Span::styled(error.clone(), theme.crit));
            } else if let StepStatus::UndoFailed { error } = &status {
                spans.push(Span::styled(error.clone(), theme.crit));
            } else if let StepStatus::Skipped { reason } = &status {
                spans.push(Span::styled(reason.clone(), theme.warn));
            } else if let Some(at) = stopped.filter(|_| word == "stopped") {
                spans.push(Span::styled(
                    format!("at {at}; r continues from there"),
                    theme.warn,
                ));
            } else {
                spans.push(Span::styled(
                    step.description.as_str().to_string(),
                    theme.muted,
                ));
            }
        } else {
            spans.push(Span::styled(
                step.description.as_str().to_string(),
                theme.base,
            ));
        }
        put(buf, inner, y + row as u16, &Line::from(spans));
        if win.selected == Some(i) {
            highlight(buf, inner, y + row as u16, theme);
        }
    }
}
