//! `DisplayText`: text from outside (world, targets, files) made safe to draw, once, at ingress.
//! Escape sequences, C0/C1 controls and bidi overrides are removed and shown as a visible mark.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// What stands in the text where something was removed.
pub const REMOVED_MARK: char = '\u{FFFD}';

/// Sanitized, single-line text; the original is kept (escaped) when anything was changed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct DisplayText {
    text: String,
    /// The original, only when it differs from `text`.
    raw: Option<String>,
}

impl DisplayText {
    pub fn new(raw: &str) -> Self {
        let text = sanitize(raw);
        let raw = if text == raw {
            None
        } else {
            Some(raw.to_string())
        };
        DisplayText { text, raw }
    }

    /// Safe to draw.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether sanitizing changed anything.
    pub fn was_altered(&self) -> bool {
        self.raw.is_some()
    }

    /// The original value with every non-printable character escaped (`\u{1b}`), for the audit log.
    pub fn raw_escaped(&self) -> String {
        let raw = self.raw.as_deref().unwrap_or(&self.text);
        raw.chars()
            .flat_map(|c| {
                if is_unsafe(c) {
                    c.escape_unicode().collect::<Vec<_>>()
                } else {
                    vec![c]
                }
            })
            .collect()
    }
}

impl From<&str> for DisplayText {
    fn from(s: &str) -> Self {
        DisplayText::new(s)
    }
}

impl From<String> for DisplayText {
    fn from(s: String) -> Self {
        DisplayText::new(&s)
    }
}

impl fmt::Display for DisplayText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Serialize for DisplayText {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if verbatim::on() {
            return match &self.raw {
                None => s.serialize_str(&self.text),
                Some(raw) => (&self.text, raw).serialize(s),
            };
        }
        s.serialize_str(&self.raw_escaped())
    }
}

/// Text read back from the store (the run bus): it crossed a process boundary, so it is
/// sanitized again at this ingress. What was escaped stays visible as its escape.
/// Inside [`verbatim::with`] (console recordings only) it is read back as it was kept.
impl<'de> Deserialize<'de> for DisplayText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        if verbatim::on() {
            #[derive(Deserialize)]
            #[serde(untagged)]
            enum Kept {
                Same(String),
                Altered(String, String),
            }
            return Ok(match Kept::deserialize(d)? {
                Kept::Same(text) => DisplayText {
                    text: sanitize(&text),
                    raw: None,
                },
                Kept::Altered(text, raw) => DisplayText {
                    text: sanitize(&text),
                    raw: Some(raw),
                },
            });
        }
        let s = String::deserialize(d)?;
        Ok(DisplayText::new(&s))
    }
}

/// Console recordings (`crate::replay`) keep text exactly as the console held it, so a
/// replayed screen is byte-equal to the one drawn: inside [`verbatim::with`], a
/// `DisplayText` is written as its sanitized text (and its original, when altered) and
/// read back as that text, not from its escaped original. It is sanitized once more on
/// reading (a recording is outside data too), which changes nothing in what a console
/// wrote, `sanitize` being idempotent.
pub mod verbatim {
    use std::cell::Cell;

    thread_local! {
        static ON: Cell<bool> = const { Cell::new(false) };
    }

    /// Whether text is being written or read for a console recording on this thread.
    pub fn on() -> bool {
        ON.with(Cell::get)
    }

    /// Runs `f` (a recording's encoding or decoding, synchronous) with text kept verbatim.
    pub fn with<T>(f: impl FnOnce() -> T) -> T {
        struct Reset(bool);
        impl Drop for Reset {
            fn drop(&mut self) {
                ON.with(|c| c.set(self.0));
            }
        }
        let _reset = Reset(ON.with(|c| c.replace(true)));
        f()
    }
}

/// `sanitize` line by line: for multi-line output printed to a terminal (reports, plan
/// summaries); the line breaks are kept, everything else `sanitize` removes is removed.
pub fn sanitize_lines(input: &str) -> String {
    input
        .split('\n')
        .map(sanitize)
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every control (but line break and tab) and bidi character replaced by printable
/// characters of the same UTF-8 length, so byte offsets into the text stay valid: for a
/// file's text that a diagnostic renders a snippet of. What follows an ESC shows as
/// plain, visible text.
pub fn defang(input: &str) -> String {
    input
        .chars()
        .map(|c| {
            if c == '\n' || c == '\t' || !is_unsafe(c) {
                return c;
            }
            match c.len_utf8() {
                1 => '?',
                2 => '\u{00BF}',
                _ => REMOVED_MARK,
            }
        })
        .collect()
}

fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
}

/// Whether `c` may not be shown as it is: a control or a bidi override.
pub fn is_unsafe(c: char) -> bool {
    c.is_control() || is_bidi_control(c)
}

/// Removes escape sequences (CSI, OSC, DCS, SOS/PM/APC and two-byte ESC forms, in 7- and
/// 8-bit forms), C0/C1 controls and bidi controls. Tabs and line breaks become one space;
/// anything else removed becomes one `REMOVED_MARK`. Idempotent.
pub fn sanitize(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    let mut chars = input.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\t' | '\n' | '\r' => out.push(' '),
            '\u{1b}' => {
                match chars.peek().copied() {
                    Some('[') => {
                        chars.next();
                        skip_csi(&mut chars);
                    }
                    Some(']') | Some('P') | Some('X') | Some('^') | Some('_') => {
                        chars.next();
                        skip_string(&mut chars);
                    }
                    Some(n) if ('\u{20}'..='\u{7e}').contains(&n) => {
                        // nF sequences: intermediates 0x20-0x2F then a final byte.
                        while let Some(&i) = chars.peek() {
                            if ('\u{20}'..='\u{2f}').contains(&i) {
                                chars.next();
                            } else {
                                break;
                            }
                        }
                        if let Some(&f) = chars.peek()
                            && ('\u{30}'..='\u{7e}').contains(&f)
                        {
                            chars.next();
                        }
                    }
                    _ => {}
                }
                out.push(REMOVED_MARK);
            }
            '\u{9b}' => {
                skip_csi(&mut chars);
                out.push(REMOVED_MARK);
            }
            '\u{9d}' | '\u{90}' | '\u{98}' | '\u{9e}' | '\u{9f}' => {
                skip_string(&mut chars);
                out.push(REMOVED_MARK);
            }
            c if is_unsafe(c) => out.push(REMOVED_MARK),
            c => out.push(c),
        }
    }
    out
}

fn skip_csi(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    // Parameters and intermediates 0x20-0x3F, then one final byte 0x40-0x7E.
    while let Some(&c) = chars.peek() {
        if ('\u{20}'..='\u{3f}').contains(&c) {
            chars.next();
        } else {
            if ('\u{40}'..='\u{7e}').contains(&c) {
                chars.next();
            }
            return;
        }
    }
}

fn skip_string(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    // Runs to BEL, ST (ESC \) or 8-bit ST (0x9C).
    while let Some(c) = chars.next() {
        match c {
            '\u{07}' | '\u{9c}' => return,
            '\u{1b}' => {
                if chars.peek() == Some(&'\\') {
                    chars.next();
                }
                return;
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn strips_sequences() {
        assert_eq!(
            sanitize("ok\u{1b}[31mred\u{1b}[0m"),
            "ok\u{FFFD}red\u{FFFD}"
        );
        assert_eq!(sanitize("a\u{1b}]0;pwned\u{07}b"), "a\u{FFFD}b");
        assert_eq!(sanitize("a\u{1b}]8;;http://x\u{1b}\\b"), "a\u{FFFD}b");
        assert_eq!(sanitize("a\u{9b}2Jb"), "a\u{FFFD}b");
        assert_eq!(sanitize("evil\u{202E}txt.exe"), "evil\u{FFFD}txt.exe");
        assert_eq!(sanitize("tab\there\nnext"), "tab here next");
        assert_eq!(sanitize("bell\u{07}"), "bell\u{FFFD}");
        assert_eq!(sanitize("plain ü text"), "plain ü text");
    }

    #[test]
    fn keeps_raw_escaped() {
        let d = DisplayText::new("x\u{1b}[2Jy");
        assert!(d.was_altered());
        assert_eq!(d.raw_escaped(), "x\\u{1b}[2Jy");
        assert!(!DisplayText::new("fine").was_altered());
    }

    proptest! {
        #[test]
        fn nothing_unsafe_survives(s in any::<String>()) {
            let out = sanitize(&s);
            prop_assert!(!out.chars().any(is_unsafe), "{:?}", out);
        }

        #[test]
        fn idempotent(s in any::<String>()) {
            let once = sanitize(&s);
            prop_assert_eq!(sanitize(&once), once.clone());
        }

        #[test]
        fn escape_heavy_input(s in proptest::collection::vec(prop_oneof![
            Just("\u{1b}".to_string()), Just("[".to_string()), Just("]".to_string()),
            Just("\u{9b}".to_string()), Just("\u{07}".to_string()), Just("\\".to_string()),
            Just("\u{202e}".to_string()), Just("a".to_string()), Just("1;2".to_string()),
        ], 0..40)) {
            let s: String = s.concat();
            let out = sanitize(&s);
            prop_assert!(!out.chars().any(is_unsafe));
            prop_assert_eq!(sanitize(&out), out.clone());
        }
    }

    #[test]
    fn defang_keeps_byte_offsets_and_lines() {
        let raw = "name = \"a\u{1b}]52;c;aGk=\u{7}b\u{202E}c\u{85}\"\nnext\tline";
        let d = defang(raw);
        assert_eq!(d.len(), raw.len());
        assert!(
            d.chars().all(|c| c == '\n' || c == '\t' || !is_unsafe(c)),
            "{d:?}"
        );
        assert!(d.ends_with("\nnext\tline"), "{d:?}");
        for (i, _) in raw.char_indices() {
            assert!(d.is_char_boundary(i));
        }
    }

    #[test]
    fn sanitize_lines_keeps_line_breaks_only() {
        assert_eq!(
            sanitize_lines("a\u{1b}[2Jb\nc\u{202E}d"),
            "a\u{FFFD}b\nc\u{FFFD}d"
        );
    }
}
