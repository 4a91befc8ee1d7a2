//! Layers drawn above the main screen: the help overlay and the command palette.
//! Both are generated from the live keymap and the action list, never hand-kept.

pub mod confirm;
pub mod help;
pub mod note;
pub mod palette;

use ratatui::layout::Rect;

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
