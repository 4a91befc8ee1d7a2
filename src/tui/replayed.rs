//! A console's recording drawn with the console's own view: the screen as it was at any
//! time (`ebb replay`, `ebb screenshot --replay`), and every recorded frame checked.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

use super::view;
use crate::app::Model;
use crate::config::keymap::Keymap;
use crate::config::theme::Theme;
use crate::replay::Player;
use crate::time::Timestamp;

/// The screen as it was at `t`, at the console's size then, drawn by the console's view.
pub fn render_at(player: &mut Player, t: Timestamp, keymap: &Keymap, theme: &Theme) -> Buffer {
    let size = player.size_at(t);
    draw(player.seek(t), keymap, theme, size)
}

/// Every recorded frame against the frame the console's view draws of the replayed model:
/// how many there were, and those that differ as (time, entry index).
pub fn verify_frames(player: &Player, theme: &Theme) -> (usize, Vec<(Timestamp, usize)>) {
    let keymap = player.keymap().clone();
    player.verify_frames_with(|model, size| draw(model, &keymap, theme, size))
}

fn draw(model: &Model, keymap: &Keymap, theme: &Theme, (w, h): (u16, u16)) -> Buffer {
    let area = Rect::new(0, 0, w, h);
    let mut buf = Buffer::empty(area);
    view::render(model, keymap, theme, area, &mut buf);
    buf
}
