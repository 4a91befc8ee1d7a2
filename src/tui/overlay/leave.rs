//! The leave layer (`q` on a run a runner drives): the run does not stop with this console,
//! so it asks whether to detach or to pause and detach; keys come from the live keymap.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use super::{first_keys, framed};
use crate::action::Action;
use crate::app::Model;
use crate::config::keymap::{Keymap, Mode};
use crate::config::theme::Theme;

pub fn render(keymap: &Keymap, model: &Model, area: Rect, theme: &Theme, buf: &mut Buffer) {
    let inner = framed(
        area,
        76,
        9,
        " Leave the run ",
        theme.title_focus,
        theme,
        buf,
    );
    let on_detach = model
        .team
        .as_ref()
        .map(|t| t.on_detach.as_str())
        .unwrap_or("pause");
    let goes_on = if on_detach == "continue" {
        "it goes on (on_detach = \"continue\")"
    } else {
        "it pauses at the next safe point (on_detach = \"pause\")"
    };
    let key = |a| format!(" {} ", first_keys(keymap, Mode::Leave, a));
    let lines = vec![
        Line::from(format!(
            "The runner keeps the run going without this console. If no other console drives it, {goes_on}."
        )),
        Line::from(""),
        Line::from(vec![
            Span::styled(key(Action::ConsoleDetach), theme.hint_key),
            Span::styled(" detach   ", theme.hint_desc),
            Span::styled(key(Action::RunPauseDetach), theme.hint_key),
            Span::styled(" pause the run, then detach   ", theme.hint_desc),
            Span::styled(key(Action::LayerClose), theme.hint_key),
            Span::styled(" stay ", theme.hint_desc),
        ]),
    ];
    Paragraph::new(lines)
        .wrap(Wrap { trim: true })
        .style(theme.overlay)
        .render(inner, buf);
}
