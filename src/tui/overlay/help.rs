//! Help overlay: every binding of every mode of the live keymap, with its action's
//! description, scrollable and searchable (`/`). Generated, so it never disagrees with the keys.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Clear, Paragraph, Widget};

use super::centered;
use crate::app::filter::matches;
use crate::config::keymap::{Keymap, Mode};
use crate::config::theme::Theme;
use crate::text::DisplayText;

/// The live console's help sections: a mode and its title.
pub const CONSOLE: &[(Mode, &str)] = &[
    (Mode::Main, "Main screen"),
    (Mode::Help, "This help"),
    (Mode::Filter, "Filter line (/)"),
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
    searched_lines(keymap, theme, sections, "")
}

/// The help text of `sections`, only the bindings whose keys, action name or description
/// contain `search` (ignoring case); a section with none left is not shown.
pub fn searched_lines(
    keymap: &Keymap,
    theme: &Theme,
    sections: &[(Mode, &str)],
    search: &str,
) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    for &(mode, title) in sections {
        let mut binds = keymap.bindings(mode);
        binds.sort_by_key(|(_, a)| *a);
        let binds: Vec<_> = binds
            .into_iter()
            .map(|(keys, action)| {
                let spelled: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
                (spelled.join(" "), action)
            })
            .filter(|(keys, action)| {
                let text = format!("{keys} {} {}", action.name(), action.description());
                matches(&text, search)
            })
            .collect();
        if binds.is_empty() && !search.is_empty() {
            continue;
        }
        out.push(Line::styled(
            title.to_string(),
            theme.title_focus.add_modifier(Modifier::BOLD),
        ));
        for (spelled, action) in binds {
            out.push(Line::from(vec![
                Span::styled(format!("  {spelled:<12}"), theme.accent),
                Span::styled(format!("{:<24}", action.name()), theme.muted),
                Span::styled(action.description().to_string(), theme.overlay),
            ]));
        }
        out.push(Line::raw(""));
    }
    out
}

/// The console's help, narrowed to `search` (empty: everything).
pub fn render(
    keymap: &Keymap,
    (scroll, search): (usize, &str),
    area: Rect,
    theme: &Theme,
    buf: &mut Buffer,
) {
    render_searched(keymap, CONSOLE, (scroll, search), area, theme, buf);
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
    render_searched(keymap, sections, (scroll, ""), area, theme, buf);
}

fn render_searched(
    keymap: &Keymap,
    sections: &[(Mode, &str)],
    (scroll, search): (usize, &str),
    area: Rect,
    theme: &Theme,
    buf: &mut Buffer,
) {
    // Typed by the user: drawn sanitized.
    let shown = DisplayText::new(search);
    let title = if search.is_empty() {
        format!(" Keys · keymap {} ", keymap.name())
    } else {
        format!(" Keys · keymap {} /{} ", keymap.name(), shown.as_str())
    };
    let bottom = if search.is_empty() {
        " generated from the live keymap · esc closes "
    } else {
        " generated from the live keymap · esc clears the search "
    };
    let rect = centered(area, 90, area.height.saturating_sub(4));
    Clear.render(rect, buf);
    let block = Block::bordered()
        .border_type(BorderType::Double)
        .border_style(theme.border_focus)
        .style(theme.overlay)
        .title_top(Line::styled(title, theme.title_focus))
        .title_bottom(Line::styled(bottom, theme.muted).right_aligned());
    let inner = block.inner(rect);
    block.render(rect, buf);
    let mut all = searched_lines(keymap, theme, sections, search);
    if all.is_empty() {
        all.push(Line::styled(
            format!("no key matches /{}", shown.as_str()),
            theme.muted,
        ));
    }
    let start = scroll.min(all.len().saturating_sub(inner.height as usize));
    Paragraph::new(all.into_iter().skip(start).collect::<Vec<_>>())
        .style(theme.overlay)
        .render(inner, buf);
}
