//! `clip.copy` (`y`): the selected row of a filtered pane, else the run id, handed to the
//! terminal loop to write as OSC 52 (so the copy works over SSH), and a flash saying what.

use super::model::Model;

/// The most copied at once (64 KiB); longer text is cut at a character boundary.
pub const MAX_COPY: usize = 64 * 1024;

/// Asks the loop to copy the selected row or the run id; says "nothing to copy" otherwise.
pub fn copy(model: &mut Model) {
    let (what, text) = match super::rows::selected_text(model) {
        Some(row) => ("row", row),
        None => match &model.run {
            Some(run) => ("run id", run.run_id.clone()),
            None => {
                model.flash = Some((model.now, "nothing to copy: no row selected, no run".into()));
                return;
            }
        },
    };
    let text = clean(&text);
    model.flash = Some((
        model.now,
        if what == "row" {
            format!("copied 1 row ({} bytes)", text.len())
        } else {
            format!("copied run id {text}")
        },
    ));
    model.clipboard = Some(text);
}

/// `text` without control characters, at most [`MAX_COPY`] bytes.
pub fn clean(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars().filter(|c| !c.is_control()) {
        if out.len() + c.len_utf8() > MAX_COPY {
            break;
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_are_stripped_and_the_size_is_capped() {
        assert_eq!(clean("a\u{1b}]52;c;x\u{7}b\n"), "a]52;c;xb");
        let big = "é".repeat(MAX_COPY);
        let c = clean(&big);
        assert!(c.len() <= MAX_COPY && c.len() > MAX_COPY - 2, "{}", c.len());
    }
}
