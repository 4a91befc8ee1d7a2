//! Layers drawn above the main screen: help, the palette, the facilitator's menu, confirms.
//! Help and the palette come from the live keymap and the action list, never hand-kept.

pub mod confirm;
pub mod faults;
pub mod filter;
pub mod help;
pub mod leave;
pub mod note;
pub mod palette;
pub mod start;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Clear, Widget};

use crate::config::theme::Theme;
use crate::tui::panes::put;

use crate::action::Action;
use crate::config::keymap::{Keymap, Mode};

/// A box near the top of `area` for a list that typing narrows (the command palette, the
/// facilitator's menu): `width` wide, room for `rows` lines, titled, with the typed
/// `input` on its first line. Returns the inside.
pub fn list_box(
    area: Rect,
    buf: &mut Buffer,
    theme: &Theme,
    title: &str,
    (width, rows): (u16, u16),
    input: &str,
) -> Rect {
    let w = width.min(area.width);
    let rect = Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + 2.min(area.height.saturating_sub(rows)),
        width: w,
        height: rows.min(area.height),
    };
    Clear.render(rect, buf);
    let block = Block::bordered()
        .border_type(BorderType::Double)
        .border_style(theme.border_focus)
        .style(theme.overlay)
        .title_top(Line::styled(format!(" {title} "), theme.title_focus));
    let inner = block.inner(rect);
    block.render(rect, buf);
    put(buf, inner, 0, &input_line(input, theme));
    inner
}

/// The first key sequence bound to `action` in `mode`, spelled for a hint.
pub fn first_keys(keymap: &Keymap, mode: Mode, action: Action) -> String {
    keymap
        .keys_for(mode, action)
        .first()
        .map(|k| {
            k.iter()
                .map(|c| c.to_string())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|| "(unbound)".into())
}

/// A double-bordered box of at most `w`×`h` centred in `area`, cleared, titled in `style`;
/// returns the area inside its border. The frame of the confirm and go-ahead layers.
pub fn framed(
    area: ratatui::layout::Rect,
    w: u16,
    h: u16,
    title: &str,
    style: ratatui::style::Style,
    theme: &crate::config::theme::Theme,
    buf: &mut ratatui::buffer::Buffer,
) -> Rect {
    use ratatui::text::Line;
    use ratatui::widgets::{Block, BorderType, Clear, Widget};
    let rect = centered(area, w, h);
    Clear.render(rect, buf);
    let block = Block::bordered()
        .border_type(BorderType::Double)
        .border_style(style)
        .style(theme.overlay)
        .title_top(Line::styled(title.to_string(), style));
    let inner = block.inner(rect);
    block.render(rect, buf);
    inner
}

/// A rectangle of at most `w`×`h` centred in `area`.
pub fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}

/// A typed line with its prompt mark and cursor: `› text▏`.
pub fn input_line<'a>(input: &str, theme: &Theme) -> Line<'a> {
    Line::from(vec![
        Span::styled("› ", theme.accent),
        Span::styled(input.to_string(), theme.overlay),
        Span::styled("▏", theme.accent),
    ])
}
