//! The facilitator's menu: every fault of the scenario's vocabulary, each source to hide,
//! each fault in force to end; typed words narrow it, `@T` and `for D` time a fault.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::Line;

use crate::app::Model;
use crate::app::facilitate::offered;
use crate::config::theme::Theme;
use crate::sim::facilitate::Typed;
use crate::text::sanitize;
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
    let inner = super::list_box(
        area,
        buf,
        theme,
        "Facilitator",
        (96, (found.len() as u16 + 4).clamp(5, 22)),
        input,
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
            // Labels carry the scenario file's names: outside text.
            &Line::styled(fit(&sanitize(&c.label), inner.width as usize), style),
        );
    }
}
