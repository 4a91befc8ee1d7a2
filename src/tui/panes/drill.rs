//! The facilitator's box: the drill's clock, hidden sources, objectives' scores and faults
//! (scenario names sanitized as outside text). Only a facilitator's console draws it.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Widget};

use super::{mark, put};
use crate::app::Model;
use crate::config::theme::Theme;
use crate::sim::world::live::{FaultState, fmt_world};
use crate::sim::world::{ObjectiveState, OutageSource};
use crate::text::sanitize;

/// Rows the box wants for what it has to show (borders included).
pub fn wanted_rows(model: &Model) -> u16 {
    let Some(f) = &model.facilitator else {
        return 0;
    };
    let objectives = model
        .objectives
        .as_ref()
        .map_or(1, |o| o.value.len().max(1));
    let faults = f
        .seen
        .faults
        .iter()
        .filter(|x| x.state != FaultState::Ended)
        .count()
        .max(1);
    (2 + 1 + 1 + objectives + 1 + faults) as u16
}

pub fn render(model: &Model, area: Rect, theme: &Theme, buf: &mut Buffer) {
    let Some(f) = &model.facilitator else {
        return;
    };
    let block = Block::bordered()
        .border_type(BorderType::Rounded)
        .border_style(theme.border)
        .title_top(Line::styled(" Drill · facilitator ", theme.title));
    let inner = block.inner(area);
    block.render(area, buf);
    let mut lines: Vec<Line> = Vec::new();
    let clock = match &model.drill {
        Some(d) if d.frozen => format!("world frozen (×{})", d.speed),
        Some(d) => format!("world ×{}", d.speed),
        None => "world".to_string(),
    };
    let hidden: Vec<&str> = f
        .seen
        .hidden
        .iter()
        .map(|s| match s {
            OutageSource::Db => "sim:db",
            OutageSource::App => "sim:app",
        })
        .collect();
    let mut head = vec![Span::styled(clock, theme.accent)];
    if !hidden.is_empty() {
        head.push(Span::styled(
            format!(" · hidden from consoles: {}", hidden.join(", ")),
            theme.warn,
        ));
    }
    lines.push(Line::from(head));
    lines.push(Line::styled("Objectives", theme.title));
    match model.objectives.as_ref().map(|o| &o.value) {
        Some(list) if !list.is_empty() => {
            for o in list {
                let (sym, style, text) = match &o.state {
                    ObjectiveState::Met { at_ms, detail } => (
                        mark::OK,
                        theme.ok,
                        format!("met at {}: {}", world(*at_ms), sanitize(detail)),
                    ),
                    ObjectiveState::Missed { at_ms, detail } => (
                        mark::CRIT,
                        theme.crit,
                        format!("missed at {}: {}", world(*at_ms), sanitize(detail)),
                    ),
                    ObjectiveState::Pending => (mark::PENDING, theme.muted, "pending".into()),
                };
                let fin = if o.fin { " (final)" } else { "" };
                lines.push(Line::from(vec![
                    Span::styled(format!("{sym} "), style),
                    Span::styled(format!("{} ", sanitize(&o.name)), theme.base),
                    Span::styled(format!("{text}{fin}"), style),
                ]));
            }
        }
        _ => lines.push(Line::styled("  the scenario declares none", theme.muted)),
    }
    lines.push(Line::styled("Faults", theme.title));
    let live: Vec<_> = f
        .seen
        .faults
        .iter()
        .filter(|x| x.state != FaultState::Ended)
        .collect();
    if live.is_empty() {
        lines.push(Line::styled("  none in force or scheduled", theme.muted));
    }
    for x in live {
        let until = x
            .until_ms
            .map(|u| format!(" until {}", world(u)))
            .unwrap_or_default();
        let (sym, when) = match x.state {
            FaultState::Active => (mark::WARN, format!("since {}{until}", world(x.at_ms))),
            _ => (mark::PENDING, format!("at {}{until}", world(x.at_ms))),
        };
        let who = if x.live { " (injected)" } else { "" };
        lines.push(Line::from(vec![
            Span::styled(format!("{sym} #{} ", x.index), theme.warn),
            Span::styled(format!("{}{who} · {when}", sanitize(&x.text)), theme.base),
        ]));
    }
    for (y, line) in lines.iter().enumerate().take(inner.height as usize) {
        put(buf, inner, y as u16, line);
    }
}

fn world(ms: u64) -> String {
    fmt_world(std::time::Duration::from_millis(ms))
}
