//! `KeyChord`: one key press with its modifiers, spelled as in keymap files ("ctrl-w", "G", "shift-tab"),
//! normalised so the same press reads the same however the terminal reports it.

use std::fmt;
use std::str::FromStr;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// Named keys a keymap may spell, with their code. The first spelling of a code is canonical.
const NAMED: &[(&str, KeyCode)] = &[
    ("enter", KeyCode::Enter),
    ("return", KeyCode::Enter),
    ("esc", KeyCode::Esc),
    ("escape", KeyCode::Esc),
    ("tab", KeyCode::Tab),
    ("backtab", KeyCode::BackTab),
    ("space", KeyCode::Char(' ')),
    ("backspace", KeyCode::Backspace),
    ("up", KeyCode::Up),
    ("down", KeyCode::Down),
    ("left", KeyCode::Left),
    ("right", KeyCode::Right),
    ("home", KeyCode::Home),
    ("end", KeyCode::End),
    ("pgup", KeyCode::PageUp),
    ("pageup", KeyCode::PageUp),
    ("pgdown", KeyCode::PageDown),
    ("pagedown", KeyCode::PageDown),
    ("delete", KeyCode::Delete),
    ("del", KeyCode::Delete),
    ("insert", KeyCode::Insert),
    ("ins", KeyCode::Insert),
];

/// The modifiers a chord can carry; others (super, hyper, meta) are dropped.
const KEPT_MODS: KeyModifiers = KeyModifiers::CONTROL
    .union(KeyModifiers::ALT)
    .union(KeyModifiers::SHIFT);

/// One key press. Always normalised: characters never carry SHIFT (an upper-case letter
/// means shift), and shift+tab is `BackTab` without SHIFT.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct KeyChord {
    pub code: KeyCode,
    pub mods: KeyModifiers,
}

impl KeyChord {
    /// A chord from a code and modifiers, normalised.
    pub fn new(code: KeyCode, mods: KeyModifiers) -> KeyChord {
        let mut mods = mods & KEPT_MODS;
        let code = match code {
            KeyCode::Char('\r') | KeyCode::Char('\n') => KeyCode::Enter,
            KeyCode::Char('\t') if mods.contains(KeyModifiers::SHIFT) => KeyCode::BackTab,
            KeyCode::Char('\t') => KeyCode::Tab,
            KeyCode::Tab if mods.contains(KeyModifiers::SHIFT) => KeyCode::BackTab,
            other => other,
        };
        let code = match code {
            KeyCode::Char(c) => {
                let c = if mods.contains(KeyModifiers::SHIFT) && c.is_lowercase() {
                    c.to_uppercase().next().unwrap_or(c)
                } else {
                    c
                };
                mods.remove(KeyModifiers::SHIFT);
                KeyCode::Char(c)
            }
            KeyCode::BackTab => {
                mods.remove(KeyModifiers::SHIFT);
                KeyCode::BackTab
            }
            other => other,
        };
        KeyChord { code, mods }
    }

    /// A plain key without modifiers.
    pub fn plain(code: KeyCode) -> KeyChord {
        KeyChord::new(code, KeyModifiers::NONE)
    }

    /// The chord of a crossterm key event (its kind is not looked at; filter presses first).
    pub fn from_event(event: &KeyEvent) -> KeyChord {
        KeyChord::new(event.code, event.modifiers)
    }

    /// A character that would be typed into a text field: no ctrl or alt.
    pub fn is_printable(&self) -> bool {
        matches!(self.code, KeyCode::Char(_))
            && !self
                .mods
                .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT)
    }

    /// Parses one key ("ctrl-w", "G", "shift-tab", "f5").
    pub fn parse(s: &str) -> Result<KeyChord, String> {
        let mut mods = KeyModifiers::NONE;
        let mut rest = s;
        // A lone "-" (or "ctrl--") is the minus key, not a modifier separator.
        while let Some((head, tail)) = rest.split_once('-') {
            if tail.is_empty() {
                if is_modifier(head) {
                    return Err(format!(
                        "`{s}` has no key after the modifier (the minus key is `{s}-`)"
                    ));
                }
                break;
            }
            let m = match head.to_ascii_lowercase().as_str() {
                "ctrl" | "control" => KeyModifiers::CONTROL,
                "alt" | "meta" => KeyModifiers::ALT,
                "shift" => KeyModifiers::SHIFT,
                _ => {
                    return Err(format!(
                        "unknown modifier `{head}` in key `{s}`; expected ctrl-, alt- or shift-"
                    ));
                }
            };
            if mods.contains(m) {
                return Err(format!("modifier `{head}-` given twice in key `{s}`"));
            }
            mods |= m;
            rest = tail;
        }
        if rest.is_empty() {
            return Err("empty key".to_string());
        }
        let mut chars = rest.chars();
        let code = match (chars.next(), chars.next()) {
            (Some(c), None) => {
                if c.is_control() || c == ' ' {
                    return Err(format!(
                        "key `{s}`: write whitespace and control keys by name (space, tab, enter)"
                    ));
                }
                if mods.contains(KeyModifiers::SHIFT) && !c.is_alphabetic() {
                    return Err(format!(
                        "`{s}`: shift- only goes with letters; write the character shift gives (\"!\" rather than \"shift-1\")"
                    ));
                }
                KeyCode::Char(c)
            }
            _ => named_key(rest).ok_or_else(|| {
                let lower = rest.to_ascii_lowercase();
                match crate::suggest::closest(&lower, NAMED.iter().map(|(n, _)| *n)) {
                    Some(near) => format!("unknown key `{rest}`; did you mean `{near}`?"),
                    None => format!(
                        "unknown key `{rest}`; expected a single character, a key name or f1–f12"
                    ),
                }
            })?,
        };
        Ok(KeyChord::new(code, mods))
    }
}

fn is_modifier(s: &str) -> bool {
    matches!(
        s.to_ascii_lowercase().as_str(),
        "ctrl" | "control" | "alt" | "meta" | "shift"
    )
}

fn named_key(name: &str) -> Option<KeyCode> {
    let lower = name.to_ascii_lowercase();
    if let Some((_, code)) = NAMED.iter().find(|(n, _)| *n == lower) {
        return Some(*code);
    }
    let n: u8 = lower.strip_prefix('f')?.parse().ok()?;
    (1..=12).contains(&n).then_some(KeyCode::F(n))
}

/// Parses a key sequence: keys separated by spaces ("g g", "ctrl-w z").
pub fn parse_sequence(s: &str) -> Result<Vec<KeyChord>, String> {
    let keys = s
        .split_whitespace()
        .map(KeyChord::parse)
        .collect::<Result<Vec<_>, _>>()?;
    if keys.is_empty() {
        return Err("empty key sequence; write keys separated by spaces, e.g. \"g g\"".to_string());
    }
    Ok(keys)
}

/// The canonical spelling of a sequence, keys separated by spaces.
pub fn sequence_to_string(keys: &[KeyChord]) -> String {
    keys.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(" ")
}

/// As its keymap spelling (`ctrl-w`, `G`): console recordings keep keys this way.
impl serde::Serialize for KeyChord {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for KeyChord {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        KeyChord::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl FromStr for KeyChord {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        KeyChord::parse(s)
    }
}

impl fmt::Display for KeyChord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.mods.contains(KeyModifiers::CONTROL) {
            f.write_str("ctrl-")?;
        }
        if self.mods.contains(KeyModifiers::ALT) {
            f.write_str("alt-")?;
        }
        if self.mods.contains(KeyModifiers::SHIFT) || self.code == KeyCode::BackTab {
            f.write_str("shift-")?;
        }
        match self.code {
            KeyCode::Char(' ') => f.write_str("space"),
            KeyCode::Char(c) => write!(f, "{c}"),
            KeyCode::BackTab => f.write_str("tab"),
            KeyCode::F(n) => write!(f, "f{n}"),
            code => match NAMED.iter().find(|(_, c)| *c == code) {
                Some((name, _)) => f.write_str(name),
                None => write!(f, "{}", format!("{code:?}").to_ascii_lowercase()),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(s: &str) -> KeyChord {
        KeyChord::parse(s).unwrap()
    }

    fn ev(code: KeyCode, mods: KeyModifiers) -> KeyChord {
        KeyChord::from_event(&KeyEvent::new(code, mods))
    }

    #[test]
    fn uppercase_and_shift_are_the_same_chord() {
        assert_eq!(k("G"), k("shift-g"));
        assert_eq!(k("G"), k("shift-G"));
        assert_eq!(k("G"), ev(KeyCode::Char('G'), KeyModifiers::SHIFT));
        assert_eq!(k("G"), ev(KeyCode::Char('G'), KeyModifiers::NONE));
        assert_eq!(k("G"), ev(KeyCode::Char('g'), KeyModifiers::SHIFT));
        assert_ne!(k("G"), k("g"));
        assert_eq!(k("G").to_string(), "G");
    }

    #[test]
    fn shifted_symbols_drop_shift() {
        assert_eq!(k("?"), ev(KeyCode::Char('?'), KeyModifiers::SHIFT));
        assert!(KeyChord::parse("shift-?").is_err());
        assert!(
            KeyChord::parse("shift-1")
                .unwrap_err()
                .contains("only goes with letters")
        );
        assert_eq!(k("?").to_string(), "?");
    }

    #[test]
    fn backtab_and_shift_tab_agree() {
        let want = k("shift-tab");
        assert_eq!(want, k("backtab"));
        assert_eq!(want, ev(KeyCode::BackTab, KeyModifiers::SHIFT));
        assert_eq!(want, ev(KeyCode::BackTab, KeyModifiers::NONE));
        assert_eq!(want, ev(KeyCode::Tab, KeyModifiers::SHIFT));
        assert_eq!(want.to_string(), "shift-tab");
        assert_ne!(want, k("tab"));
    }

    #[test]
    fn modifiers_and_names() {
        assert_eq!(k("ctrl-w"), ev(KeyCode::Char('w'), KeyModifiers::CONTROL));
        assert_eq!(k("ctrl-w").to_string(), "ctrl-w");
        assert_eq!(k("alt-ctrl-x").to_string(), "ctrl-alt-x");
        assert_eq!(k("space"), ev(KeyCode::Char(' '), KeyModifiers::NONE));
        assert_eq!(k("space").to_string(), "space");
        assert_eq!(k("-").to_string(), "-");
        assert_eq!(k("ctrl--").to_string(), "ctrl--");
        assert_eq!(k("PgDown"), k("pagedown"));
        assert_eq!(k("f12").code, KeyCode::F(12));
        assert_eq!(k("shift-up").to_string(), "shift-up");
        assert_eq!(ev(KeyCode::Char('x'), KeyModifiers::SUPER), k("x"));
    }

    #[test]
    fn every_display_parses_back() {
        for s in [
            "q",
            "ctrl-c",
            "?",
            ":",
            "tab",
            "shift-tab",
            "G",
            "enter",
            "esc",
            "pgup",
            "f5",
            "alt-enter",
            "+",
        ] {
            assert_eq!(k(s).to_string(), s);
            assert_eq!(k(&k(s).to_string()), k(s));
        }
    }

    #[test]
    fn bad_spellings_say_why() {
        assert!(
            KeyChord::parse("ctlr-x")
                .unwrap_err()
                .contains("unknown modifier `ctlr`")
        );
        assert!(
            KeyChord::parse("foo")
                .unwrap_err()
                .contains("unknown key `foo`")
        );
        assert!(KeyChord::parse("f13").is_err());
        assert!(KeyChord::parse("ctrl-ctrl-x").is_err());
        assert!(parse_sequence("  ").is_err());
        assert_eq!(parse_sequence("g  g").unwrap(), vec![k("g"), k("g")]);
    }
}
