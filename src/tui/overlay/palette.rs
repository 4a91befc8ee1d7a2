//! Command palette: type to filter every action by name or description; each entry shows
//! the keys bound to it in the live keymap. Enter runs it through the same dispatch as keys.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::Line;

use crate::app::palette::matches;
use crate::config::keymap::{Keymap, Mode};
use crate::config::theme::Theme;
use crate::tui::panes::{fit, put};

pub fn render(
    keymap: &Keymap,
    input: &str,
    selected: usize,
    area: Rect,
    theme: &Theme,
    buf: &mut Buffer,
) {
    let found = matches(input);
    let inner = super::list_box(
        area,
        buf,
        theme,
        "Command",
        (80, (found.len() as u16 + 3).clamp(4, 16)),
        input,
    );
    if found.is_empty() {
        put(
            buf,
            inner,
            1,
            &Line::styled("no command matches", theme.muted),
        );
        return;
    }
    let rows = inner.height.saturating_sub(1) as usize;
    let selected = selected.min(found.len() - 1);
    let start = selected.saturating_sub(rows.saturating_sub(1));
    for (i, a) in found.iter().enumerate().skip(start).take(rows) {
        let keys: Vec<String> = keymap
            .keys_for(Mode::Main, *a)
            .iter()
            .map(|k| {
                k.iter()
                    .map(|c| c.to_string())
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        let style = if i == selected {
            theme.selection
        } else {
            theme.overlay
        };
        let text = format!(
            "{}{}{}",
            fit(a.name(), 24),
            fit(a.description(), (inner.width as usize).saturating_sub(36)),
            fit(&keys.join(", "), 12)
        );
        put(
            buf,
            inner,
            1 + (i - start) as u16,
            &Line::styled(text, style),
        );
    }
}
