//! Pasted text (a bracketed paste) goes to the text field that has focus and nowhere else:
//! never to the keymap, so a paste can never fire a run verb. Pure, like `update`.

use super::model::{Layer, Model};
use super::note::NOTE_MAX;
use crate::text::is_unsafe;

/// Longest single-line field (palette filter, reason, typed confirmation), in characters.
pub const LINE_MAX: usize = 200;

/// Puts a paste into the focused text field; on any other layer it is dropped with a flash.
pub fn on_paste(model: &mut Model, text: &str) {
    match model.layers.last_mut() {
        Some(Layer::Note { editor }) => {
            let room = NOTE_MAX.saturating_sub(editor.text().chars().count());
            let clean: String = multi_line(text).chars().take(room).collect();
            editor.paste(&clean);
        }
        Some(Layer::Palette { input, selected }) => {
            push_line(input, text);
            *selected = 0;
        }
        Some(Layer::Confirm { input, .. }) => push_line(input, text),
        _ => {
            let n = text.chars().count();
            let s = if n == 1 { "" } else { "s" };
            model.flash = Some((
                model.now,
                format!(
                    "paste ignored ({n} character{s}): pasted text goes only into a note, \
                     reason or filter, never to run keys"
                ),
            ));
        }
    }
}

/// Appends `text` to a one-line field: line breaks become spaces (a paste never submits),
/// other controls are dropped, and the field stays within `LINE_MAX`.
fn push_line(input: &mut String, text: &str) {
    let room = LINE_MAX.saturating_sub(input.chars().count());
    let line = text.trim_end_matches(['\r', '\n']);
    let clean = line
        .chars()
        .map(|c| {
            if c == '\n' || c == '\r' || c == '\t' {
                ' '
            } else {
                c
            }
        })
        .filter(|c| !is_unsafe(*c))
        .take(room);
    input.extend(clean);
}

/// Keeps line breaks (as `\n`) and tabs; drops every other control and bidi override.
fn multi_line(text: &str) -> String {
    text.replace("\r\n", "\n")
        .replace('\r', "\n")
        .chars()
        .filter(|c| *c == '\n' || *c == '\t' || !is_unsafe(*c))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::action::Action;
    use crate::app::note::NoteEditor;
    use crate::text::DisplayText;
    use crate::time::Timestamp;

    fn model() -> Model {
        Model::new(DisplayText::new("t"), DisplayText::new("op"), Timestamp(0))
    }

    #[test]
    fn on_the_main_screen_a_paste_is_dropped_with_a_flash() {
        let mut m = model();
        let before = m.clone();
        on_paste(&mut m, "kubectl get pods -n orders");
        let flash = m.flash.as_ref().map(|(_, s)| s.as_str()).unwrap_or("");
        assert!(
            flash.starts_with("paste ignored (26 characters)"),
            "{flash}"
        );
        m.flash = None;
        assert_eq!(m, before, "nothing but the flash changed");
    }

    #[test]
    fn a_paste_into_a_reason_is_one_line_and_never_submits() {
        let mut m = model();
        m.layers.push(Layer::Confirm {
            action: Action::RunAbort,
            input: "why: ".into(),
            reason: None,
        });
        on_paste(&mut m, "replica\x1b[31m lag\r\nclimbing\n");
        match m.layers.last() {
            Some(Layer::Confirm { input, .. }) => {
                assert_eq!(input, "why: replica[31m lag  climbing")
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(m.layers.len(), 1);
    }

    #[test]
    fn a_paste_into_the_palette_filters_and_is_capped() {
        let mut m = model();
        m.layers.push(Layer::Palette {
            input: String::new(),
            selected: 3,
        });
        on_paste(&mut m, &"x".repeat(1000));
        match m.layers.last() {
            Some(Layer::Palette { input, selected }) => {
                assert_eq!(input.chars().count(), LINE_MAX);
                assert_eq!(*selected, 0);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_paste_into_a_note_keeps_its_lines() {
        let mut m = model();
        m.layers.push(Layer::Note {
            editor: Box::new(NoteEditor::new()),
        });
        on_paste(&mut m, "first line\r\nsecond\u{202E} line");
        match m.layers.last() {
            Some(Layer::Note { editor }) => assert_eq!(editor.text(), "first line\nsecond line"),
            other => panic!("{other:?}"),
        }
    }
}
