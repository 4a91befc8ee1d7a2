//! Header line: what is watched (scenario or target), the drill clock's speed, the
//! operator, the run state and the UTC clock.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use crate::app::Model;
use crate::config::theme::Theme;
use crate::units::fmt_duration;

pub fn render(model: &Model, area: Rect, theme: &Theme, buf: &mut Buffer) {
    buf.set_style(area, theme.header);
    let h = theme.header;
    let mut left = vec![
        Span::styled(" ebb ", h.add_modifier(Modifier::BOLD)),
        Span::styled("│ ", h),
    ];
    // The one thing that must not be missed: actions are not being recorded.
    if model.audit_down.is_some() {
        left.push(Span::styled(
            " ✖ AUDIT DOWN: run control refused ",
            theme.crit.add_modifier(Modifier::REVERSED),
        ));
        left.push(Span::styled(" │ ", h));
    }
    // A run a runner drives: whether this console only watches, and a runner that is gone.
    if let Some(team) = &model.team {
        if team.role == crate::app::Role::Watcher {
            left.push(Span::styled(
                " WATCHING ",
                h.add_modifier(Modifier::BOLD | Modifier::REVERSED),
            ));
            left.push(Span::styled(" │ ", h));
        }
        if let Some(by) = &team.break_glass {
            left.push(Span::styled(
                format!(" BREAK GLASS by {by} "),
                theme.crit.add_modifier(Modifier::REVERSED | Modifier::BOLD),
            ));
            left.push(Span::styled(" │ ", h));
        }
        if team.policy.is_none() {
            left.push(Span::styled("no policy │ ", h));
        }
        if team.runner.as_ref().is_some_and(|r| !r.alive) {
            let run = model
                .run
                .as_ref()
                .map(|r| r.run_id.as_str())
                .unwrap_or("RUN");
            left.push(Span::styled(
                format!(" ✖ RUNNER GONE: ebb resume {run} "),
                theme.crit.add_modifier(Modifier::REVERSED),
            ));
            left.push(Span::styled(" │ ", h));
        }
    }
    match &model.drill {
        Some(d) => {
            left.push(Span::styled("DRILL ", h.add_modifier(Modifier::BOLD)));
            left.push(Span::styled(format!("{} ", d.scenario), h));
            if area.width >= 120 && model.audit_down.is_none() && model.team.is_none() {
                left.push(Span::styled(format!("— {} ", d.title), h));
            }
            let clock = if d.frozen {
                "world frozen".to_string()
            } else {
                format!("×{}", trim_speed(d.speed))
            };
            left.push(Span::styled(format!("│ {clock} "), h));
        }
        None => left.push(Span::styled(format!("{} ", model.target), h)),
    }

    let up = fmt_duration(model.started_at.age_at(model.now));
    // Right-hand parts in the order they are given up when the terminal is narrow:
    // the clock stays, then the operator, then the run state, then the uptime.
    let clock = Span::styled(
        format!("│ {} UTC ", model.now.hms()),
        h.add_modifier(Modifier::BOLD),
    );
    let optional = [
        Span::styled(format!("│ {} ", model.operator), h),
        Span::styled(
            if model.drill.is_none() && model.run.is_none() && !model.runnable {
                format!("│ {} ", run_state(model))
            } else {
                format!("│ run: {} ", run_state(model))
            },
            h,
        ),
        Span::styled(attached(model), h),
        Span::styled(format!("│ up {up} "), h),
    ];
    let left_min: usize = left
        .iter()
        .take(4)
        .map(|s| s.width())
        .sum::<usize>()
        .min(40);
    let mut budget = (area.width as usize).saturating_sub(left_min + clock.width());
    let mut keep = [false; 4];
    for (i, part) in optional.iter().enumerate() {
        if part.width() <= budget {
            budget -= part.width();
            keep[i] = true;
        }
    }
    let mut right: Vec<Span> = optional
        .into_iter()
        .zip(keep)
        .filter_map(|(s, k)| k.then_some(s))
        .collect();
    right.push(clock);
    let right_line = Line::from(right);
    let rw = right_line.width() as u16;
    Paragraph::new(Line::from(left)).render(
        Rect {
            width: area.width.saturating_sub(rw),
            ..area
        },
        buf,
    );
    if rw <= area.width {
        Paragraph::new(right_line).render(
            Rect {
                x: area.x + area.width - rw,
                width: rw,
                ..area
            },
            buf,
        );
    }
}

/// Who is attached to a run a runner drives (`│ 2 attached: a@h1 (driver), b@h2 (watcher)`).
fn attached(model: &Model) -> String {
    match &model.team {
        Some(t) if !t.consoles.is_empty() => {
            format!("│ {} attached: {} ", t.consoles.len(), t.who())
        }
        _ => String::new(),
    }
}

fn run_state(model: &Model) -> String {
    use crate::engine::{Direction, Status};
    let Some(r) = &model.run else {
        // `ebb console` only watches: it starts no run.
        return if model.drill.is_none() && !model.runnable {
            "watching only".into()
        } else if model.plan.is_some() {
            "not started".into()
        } else {
            "no plan".into()
        };
    };
    let mut s = match r.status {
        Status::NotStarted => "not started".to_string(),
        Status::Running => "running".to_string(),
        Status::Pausing => "pausing".to_string(),
        Status::Paused => match &r.pause {
            Some(p) => format!("paused by {}", p.by),
            None => "paused".to_string(),
        },
        Status::Finished(f) => f.word().to_string(),
    };
    if r.direction == Direction::Rollback && !matches!(r.status, Status::Finished(_)) {
        s.push_str(" ↺");
    }
    if r.step_mode {
        s.push_str(" · STEP");
    }
    s
}

fn trim_speed(s: f64) -> String {
    if (s - s.round()).abs() < 1e-9 {
        format!("{}", s as i64)
    } else {
        format!("{s}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::DrillState;
    use crate::text::DisplayText;
    use crate::time::Timestamp;

    fn header_text(model: &Model, width: u16) -> String {
        let area = Rect::new(0, 0, width, 1);
        let mut buf = Buffer::empty(area);
        render(model, area, &Theme::default(), &mut buf);
        (0..width)
            .map(|x| buf[(x, 0)].symbol().to_string())
            .collect()
    }

    #[test]
    fn every_drill_screen_says_drill_and_a_real_run_never_does() {
        let now = Timestamp(1_796_000_000_000);
        let mut real = Model::new(
            DisplayText::new("run: orders"),
            DisplayText::new("ana"),
            now,
        );
        real.runnable = true;
        let mut drill = real.clone();
        drill.drill = Some(DrillState {
            scenario: DisplayText::new("backfill-slot-fill"),
            title: DisplayText::new("Backfill"),
            speed: 1.0,
            frozen: false,
        });
        for width in [60, 80, 120, 160] {
            assert!(header_text(&drill, width).contains("DRILL"), "{width}");
            assert!(!header_text(&real, width).contains("DRILL"), "{width}");
        }
    }
}
