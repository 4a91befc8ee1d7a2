//! The OSC 52 clipboard sequence: the terminal (local, or at the other end of SSH) puts
//! the text on the system clipboard. Plain OSC 52, BEL-terminated; tmux takes it with
//! `set-clipboard on`.

use std::io::{self, Write};

/// `ESC ] 52 ; c ; <base64> BEL` for `text`.
pub fn sequence(text: &str) -> Vec<u8> {
    let mut out = b"\x1b]52;c;".to_vec();
    out.extend_from_slice(super::base64::encode(text.as_bytes()).as_bytes());
    out.push(0x07);
    out
}

/// Writes the sequence for `text` to the terminal and flushes it.
pub fn write(out: &mut impl Write, text: &str) -> io::Result<()> {
    out.write_all(&sequence(text))?;
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sequence_carries_base64_and_ends_with_bel() {
        assert_eq!(sequence("foo"), b"\x1b]52;c;Zm9v\x07".to_vec());
    }
}
