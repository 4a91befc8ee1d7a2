//! Confirm layer: a dangerous verb (abort, rollback, skip, an in-doubt decision) waits
//! here for a typed reason; enter confirms, esc cancels. The keys come from the keymap.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use crate::action::Action;
use crate::config::keymap::{Keymap, Mode};
use crate::config::theme::Theme;
use crate::tui::panes::put;

fn keys(keymap: &Keymap, action: Action) -> String {
    super::first_keys(keymap, Mode::Confirm, action)
}

/// What the verb will do, in one line.
fn consequence(action: Action) -> &'static str {
    match action {
        Action::RunAbort => "Stop forward progress and leave everything as it is (no undo).",
        Action::RunRollback => "Undo every completed step, newest first.",
        Action::RunSkip => "Mark the failed (or next) step skipped; the run stays paused.",
        Action::RunResolveHappened => "Record that the in-doubt step's effect DID happen.",
        Action::RunResolveNotHappened => {
            "Record that the in-doubt step's effect did NOT happen; it will run again."
        }
        _ => "",
    }
}

#[allow(clippy::too_many_arguments)]
pub fn render(
    keymap: &Keymap,
    action: Action,
    input: &str,
    reason: Option<&str>,
    name: Option<&str>,
    area: Rect,
    theme: &Theme,
    buf: &mut Buffer,
) {
    let title = format!(" Confirm {} ", action.name());
    let inner = super::framed(area, 90, 7, &title, theme.crit, theme, buf);
    put(
        buf,
        inner,
        0,
        &Line::styled(consequence(action), theme.overlay),
    );
    let prompt = match (reason, name) {
        (Some(r), Some(n)) => format!("Reason: {r} — now type {n} to confirm:"),
        (None, Some(_)) => {
            "Reason (recorded with the action); the plan's name is asked next:".to_string()
        }
        _ => "Reason (recorded with the action):".to_string(),
    };
    let style = if reason.is_some() {
        theme.warn
    } else {
        theme.muted
    };
    put(buf, inner, 1, &Line::styled(prompt, style));
    put(buf, inner, 2, &super::input_line(input, theme));
    put(
        buf,
        inner,
        4,
        &Line::from(vec![
            Span::styled(
                format!(" {} ", keys(keymap, Action::ConfirmSubmit)),
                theme.hint_key,
            ),
            Span::styled(" confirm   ", theme.hint_desc),
            Span::styled(
                format!(" {} ", keys(keymap, Action::LayerClose)),
                theme.hint_key,
            ),
            Span::styled(" cancel", theme.hint_desc),
        ]),
    );
}
