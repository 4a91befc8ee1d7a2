//! STUB (replaced by the config branch): keymap trie per mode.
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::fmt;

use crate::action::Action;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mode {
    Main,
    Help,
    Palette,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct KeyChord {
    pub code: KeyCode,
    pub mods: KeyModifiers,
}

impl KeyChord {
    pub fn from_event(e: &KeyEvent) -> KeyChord {
        KeyChord {
            code: e.code,
            mods: e.modifiers,
        }
    }
}

impl fmt::Display for KeyChord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.code {
            KeyCode::Char(' ') => write!(f, "space"),
            KeyCode::Char(c) => write!(f, "{c}"),
            KeyCode::Tab => write!(f, "tab"),
            KeyCode::Esc => write!(f, "esc"),
            KeyCode::Enter => write!(f, "enter"),
            other => write!(f, "{other:?}"),
        }
    }
}

pub enum Lookup {
    Action(Action),
    Pending,
    NoMatch,
}

#[derive(Clone, Debug)]
pub struct Keymap {
    pub binds: Vec<(Mode, Vec<KeyChord>, Action)>,
}

fn k(c: char) -> KeyChord {
    KeyChord {
        code: KeyCode::Char(c),
        mods: KeyModifiers::NONE,
    }
}

impl Keymap {
    pub fn stub() -> Keymap {
        use Action::*;
        let mut binds = vec![
            (Mode::Main, vec![k('q')], Quit),
            (Mode::Main, vec![k('?')], HelpToggle),
            (Mode::Main, vec![k(':')], PaletteOpen),
            (
                Mode::Main,
                vec![KeyChord {
                    code: KeyCode::Tab,
                    mods: KeyModifiers::NONE,
                }],
                FocusNext,
            ),
            (Mode::Main, vec![k('z')], Zoom),
            (Mode::Main, vec![k('j')], ScrollDown),
            (Mode::Main, vec![k('k')], ScrollUp),
            (Mode::Main, vec![k('g'), k('g')], ScrollTop),
            (Mode::Main, vec![k('F')], DrillFreeze),
            (Mode::Main, vec![k('+')], DrillFaster),
            (Mode::Main, vec![k('-')], DrillSlower),
            (Mode::Main, vec![k('1')], FocusMigration),
            (Mode::Main, vec![k('5')], FocusTimeline),
        ];
        for m in [Mode::Help, Mode::Palette] {
            binds.push((
                m,
                vec![KeyChord {
                    code: KeyCode::Esc,
                    mods: KeyModifiers::NONE,
                }],
                LayerClose,
            ));
        }
        binds.push((Mode::Help, vec![k('?')], LayerClose));
        binds.push((Mode::Help, vec![k('j')], ScrollDown));
        binds.push((
            Mode::Palette,
            vec![KeyChord {
                code: KeyCode::Enter,
                mods: KeyModifiers::NONE,
            }],
            PaletteSubmit,
        ));
        binds.push((
            Mode::Palette,
            vec![KeyChord {
                code: KeyCode::Down,
                mods: KeyModifiers::NONE,
            }],
            PaletteNext,
        ));
        binds.push((
            Mode::Palette,
            vec![KeyChord {
                code: KeyCode::Up,
                mods: KeyModifiers::NONE,
            }],
            PalettePrev,
        ));
        Keymap { binds }
    }
    pub fn name(&self) -> &str {
        "stub"
    }
    pub fn lookup(&self, mode: Mode, pending: &[KeyChord], key: KeyChord) -> Lookup {
        let mut seq = pending.to_vec();
        seq.push(key);
        for (m, s, a) in &self.binds {
            if *m == mode && *s == seq {
                return Lookup::Action(*a);
            }
        }
        for (m, s, _) in &self.binds {
            if *m == mode && s.len() > seq.len() && s[..seq.len()] == seq[..] {
                return Lookup::Pending;
            }
        }
        Lookup::NoMatch
    }
    pub fn continuations(
        &self,
        mode: Mode,
        pending: &[KeyChord],
    ) -> Vec<(KeyChord, Option<Action>)> {
        self.binds
            .iter()
            .filter(|(m, s, _)| {
                *m == mode && s.len() > pending.len() && s[..pending.len()] == pending[..]
            })
            .map(|(_, s, a)| {
                (
                    s[pending.len()],
                    if s.len() == pending.len() + 1 {
                        Some(*a)
                    } else {
                        None
                    },
                )
            })
            .collect()
    }
    pub fn bindings(&self, mode: Mode) -> Vec<(Vec<KeyChord>, Action)> {
        self.binds
            .iter()
            .filter(|(m, _, _)| *m == mode)
            .map(|(_, s, a)| (s.clone(), *a))
            .collect()
    }
    pub fn keys_for(&self, mode: Mode, action: Action) -> Vec<Vec<KeyChord>> {
        self.binds
            .iter()
            .filter(|(m, _, a)| *m == mode && *a == action)
            .map(|(_, s, _)| s.clone())
            .collect()
    }
}
