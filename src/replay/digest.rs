//! The digest of a drawn frame: SHA-256 over every cell's symbol, colours and modifiers,
//! so a replayed frame can be compared with the one a console drew, byte for byte.

use ratatui::buffer::Buffer;
use ratatui::style::Color;
use sha2::{Digest, Sha256};

/// `sha256:` and the hex digest of `buf` (its size, then each cell in order).
pub fn frame_digest(buf: &Buffer) -> String {
    let mut h = Sha256::new();
    h.update(buf.area.width.to_le_bytes());
    h.update(buf.area.height.to_le_bytes());
    let mut cell_bytes = Vec::with_capacity(32);
    for cell in &buf.content {
        cell_bytes.clear();
        cell_bytes.extend_from_slice(cell.symbol().as_bytes());
        cell_bytes.push(0);
        color(&mut cell_bytes, cell.fg);
        color(&mut cell_bytes, cell.bg);
        cell_bytes.extend_from_slice(&cell.modifier.bits().to_le_bytes());
        h.update(&cell_bytes);
    }
    format!("sha256:{}", hex::encode(h.finalize()))
}

fn color(out: &mut Vec<u8>, c: Color) {
    match c {
        Color::Rgb(r, g, b) => out.extend_from_slice(&[0xfe, r, g, b]),
        Color::Indexed(i) => out.extend_from_slice(&[0xfd, i]),
        named => out.push(named_index(named)),
    }
}

fn named_index(c: Color) -> u8 {
    match c {
        Color::Reset => 0,
        Color::Black => 1,
        Color::Red => 2,
        Color::Green => 3,
        Color::Yellow => 4,
        Color::Blue => 5,
        Color::Magenta => 6,
        Color::Cyan => 7,
        Color::Gray => 8,
        Color::DarkGray => 9,
        Color::LightRed => 10,
        Color::LightGreen => 11,
        Color::LightYellow => 12,
        Color::LightBlue => 13,
        Color::LightMagenta => 14,
        Color::LightCyan => 15,
        Color::White => 16,
        Color::Rgb(..) | Color::Indexed(_) => 255,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::layout::Rect;
    use ratatui::style::Style;

    #[test]
    fn a_changed_symbol_colour_or_modifier_changes_the_digest() {
        let area = Rect::new(0, 0, 4, 2);
        let mut a = Buffer::empty(area);
        a.set_string(0, 0, "ab", Style::default());
        let base = frame_digest(&a);
        assert_eq!(base, frame_digest(&a.clone()));
        let mut b = a.clone();
        b.set_string(1, 0, "c", Style::default());
        assert_ne!(base, frame_digest(&b));
        let mut c = a.clone();
        c.set_style(Rect::new(0, 0, 1, 1), Style::default().fg(Color::Red));
        assert_ne!(base, frame_digest(&c));
        let mut d = a.clone();
        d.set_style(
            Rect::new(0, 0, 1, 1),
            Style::default().add_modifier(ratatui::style::Modifier::BOLD),
        );
        assert_ne!(base, frame_digest(&d));
        assert_ne!(base, frame_digest(&Buffer::empty(Rect::new(0, 0, 2, 4))));
    }
}
