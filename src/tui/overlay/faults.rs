//! The facilitator's menu: every fault of the scenario's vocabulary, each source to hide,
//! each fault in force to end; typed words narrow it, `@T` and `for D` time a fault.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Clear, Widget};

use crate::app::Model;
use crate::app::facilitate::offered;
use crate::config::theme::Theme;
use crate::sim::facilitate::Typed;
use crate::tui::panes::{fit, put};

pub fn render(
    model: &Model,
    input: &str,
    selected: usize,
    area: Rect,
    theme: &Theme,
    buf: &mut Buffer,
) {
    let found = offered(model, input);
    let h = (found.len() as u16 + 4).clamp(5, 22);
    let w = 96.min(area.width);
    let rect = Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + 2.min(area.height.saturating_sub(h)),
        width: w,
        height: h.min(area.height),
    };
    Clear.render(rect, buf);
    let block = Block::bordered()
        .border_type(BorderType::Double)
        .border_style(theme.border_focus)
        .style(theme.overlay)
        .title_top(Line::styled(" Facilitator ", theme.title_focus));
    let inner = block.inner(rect);
    block.render(rect, buf);
    put(
        buf,
        inner,
        0,
        &Line::from(vec![
            Span::styled("› ", theme.accent),
            Span::styled(input.to_string(), theme.overlay),
            Span::styled("▏", theme.accent),
        ]),
    );
    let help = match Typed::parse(input).error {
        Some(why) => Line::styled(format!("cannot read the time: {why}"), theme.warn),
        None => Line::styled(
            "type to narrow · @12m starts at a world time · for 5m sets how long · say TEXT announces",
            theme.muted,
        ),
    };
    put(buf, inner, 1, &help);
    if found.is_empty() {
        put(buf, inner, 2, &Line::styled("nothing matches", theme.muted));
        return;
    }
    let rows = inner.height.saturating_sub(2) as usize;
    let selected = selected.min(found.len() - 1);
    let start = selected.saturating_sub(rows.saturating_sub(1));
    for (i, c) in found.iter().enumerate().skip(start).take(rows) {
        let style = if i == selected {
            theme.selection
        } else {
            theme.overlay
        };
        put(
            buf,
            inner,
            2 + (i - start) as u16,
            &Line::styled(fit(&c.label, inner.width as usize), style),
        );
    }
}
