//! Layers drawn above the main screen: the help overlay and the command palette.
//! Both are generated from the live keymap and the action list, never hand-kept.

pub mod confirm;
pub mod faults;
pub mod help;
pub mod leave;
pub mod note;
pub mod palette;
pub mod start;

use ratatui::layout::Rect;

use crate::action::Action;
use crate::config::keymap::{Keymap, Mode};

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
