//! Help overlay: every binding of every mode of the live keymap, with its action's
//! description, scrollable. Generated, so it can never disagree with the keys.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Clear, Paragraph, Widget};

use super::centered;
use crate::config::keymap::{Keymap, Mode};
use crate::config::theme::Theme;

/// The live console's help sections: a mode and its title.
pub const CONSOLE: &[(Mode, &str)] = &[
    (Mode::Main, "Main screen"),
    (Mode::Help, "This help"),
    (Mode::Palette, "Command palette"),
];

/// `ebb replay`'s help: its own keys only.
pub const REPLAY: &[(Mode, &str)] = &[(Mode::Replay, "Replay (read-only)")];

/// The help text as lines, mode by mode.
pub fn lines(keymap: &Keymap, theme: &Theme) -> Vec<Line<'static>> {
    section_lines(keymap, theme, CONSOLE)
}

/// The help text of `sections` as lines.
pub fn section_lines(
    keymap: &Keymap,
    theme: &Theme,
    sections: &[(Mode, &str)],
) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    for &(mode, title) in sections {
        out.push(Line::styled(
            title.to_string(),
            theme.title_focus.add_modifier(Modifier::BOLD),
        ));
        let mut binds = keymap.bindings(mode);
        binds.sort_by_key(|(_, a)| *a);
        for (keys, action) in binds {
            let spelled: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
            out.push(Line::from(vec![
                Span::styled(format!("  {:<12}", spelled.join(" ")), theme.accent),
                Span::styled(format!("{:<24}", action.name()), theme.muted),
                Span::styled(action.description().to_string(), theme.overlay),
            ]));
        }
        out.push(Line::raw(""));
    }
    out
}

pub fn render(keymap: &Keymap, scroll: usize, area: Rect, theme: &Theme, buf: &mut Buffer) {
    render_sections(keymap, CONSOLE, scroll, area, theme, buf);
}

/// The help overlay for `sections` of the keymap.
pub fn render_sections(
    keymap: &Keymap,
    sections: &[(Mode, &str)],
    scroll: usize,
    area: Rect,
    theme: &Theme,
    buf: &mut Buffer,
) {
    let rect = centered(area, 90, area.height.saturating_sub(4));
    Clear.render(rect, buf);
    let block = Block::bordered()
        .border_type(BorderType::Double)
        .border_style(theme.border_focus)
        .style(theme.overlay)
        .title_top(Line::styled(
            format!(" Keys · keymap {} ", keymap.name()),
            theme.title_focus,
        ))
        .title_bottom(
            Line::styled(" generated from the live keymap · esc closes ", theme.muted)
                .right_aligned(),
        );
    let inner = block.inner(rect);
    block.render(rect, buf);
    let all = section_lines(keymap, theme, sections);
    let start = scroll.min(all.len().saturating_sub(inner.height as usize));
    Paragraph::new(all.into_iter().skip(start).collect::<Vec<_>>())
        .style(theme.overlay)
        .render(inner, buf);
}
