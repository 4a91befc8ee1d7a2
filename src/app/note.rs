//! The note editor's state: a multi-line ratatui-textarea, compared by its text so the
//! model stays plain data. Keys that the keymap does not take are typed into it.

use std::fmt;

use crossterm::event::{KeyEvent, KeyEventKind, KeyEventState};
use ratatui_textarea::TextArea;

use crate::config::keymap::KeyChord;

/// Longest note kept, in characters.
pub const NOTE_MAX: usize = 4000;

#[derive(Clone, Default)]
pub struct NoteEditor {
    pub area: TextArea<'static>,
}

impl NoteEditor {
    pub fn new() -> NoteEditor {
        let mut area = TextArea::default();
        area.set_placeholder_text("what happened, what you decided, why");
        NoteEditor { area }
    }

    pub fn text(&self) -> String {
        self.area.lines().join("\n")
    }

    /// Inserts pasted text at the cursor, line breaks included.
    pub fn paste(&mut self, text: &str) {
        self.area.insert_str(text);
    }

    /// Types one key (a character, enter, backspace, arrows…).
    pub fn key(&mut self, key: KeyChord) {
        if self.text().chars().count() >= NOTE_MAX
            && matches!(key.code, crossterm::event::KeyCode::Char(_))
        {
            return;
        }
        let ev = KeyEvent {
            code: key.code,
            modifiers: key.mods,
            kind: KeyEventKind::Press,
            state: KeyEventState::NONE,
        };
        self.area.input(ev);
    }
}

impl PartialEq for NoteEditor {
    fn eq(&self, other: &Self) -> bool {
        self.area.lines() == other.area.lines() && self.area.cursor() == other.area.cursor()
    }
}

impl fmt::Debug for NoteEditor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NoteEditor")
            .field("text", &self.text())
            .finish()
    }
}
