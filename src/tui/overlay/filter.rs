//! The `/` filter line: one row at the bottom of the screen's body, above the hint bar,
//! showing what is typed (sanitized) and which pane, or the help, it narrows.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Widget};

use crate::app::Model;
use crate::app::filter::{Target, editing};
use crate::config::theme::Theme;
use crate::text::DisplayText;
use crate::tui::panes::put;

pub fn render(model: &Model, area: Rect, theme: &Theme, buf: &mut Buffer) {
    let Some((target, text)) = editing(model) else {
        return;
    };
    if area.height == 0 {
        return;
    }
    let row = Rect {
        y: area.y + area.height - 1,
        height: 1,
        ..area
    };
    Clear.render(row, buf);
    buf.set_style(row, theme.overlay);
    let what = match target {
        Target::Pane(p) => format!("filter {} ", p.title()),
        Target::Help => "search help ".to_string(),
    };
    let line = Line::from(vec![
        Span::styled(what, theme.title_focus),
        Span::styled("/", theme.accent),
        Span::styled(DisplayText::new(text).as_str().to_string(), theme.overlay),
        Span::styled("▏", theme.accent),
        Span::styled("  enter keeps it · esc clears it", theme.muted),
    ]);
    put(buf, row, 0, &line);
}
