//! Located errors for every file ebb reads (themes, keymaps, scenarios, plans):
//! `file:line:col: message`, with a miette snippet for people and a plain line for logs.

pub mod snippet;

use std::ops::Range;
use std::sync::{Arc, OnceLock};

use miette::{Diagnostic, NamedSource, SourceSpan};
use serde::de::DeserializeOwned;

use snippet::{Snippet, clip_end, floor_char};

/// Errors a report of one file shows before "and N more" (plans, console files).
pub const MAX_ERRORS_SHOWN: usize = 50;

/// The text of a file ebb reads, with the name it is reported under.
#[derive(Clone, Debug)]
pub struct SourceFile {
    /// Path as the user knows it, or `(embedded) themes/dark.toml` for presets.
    pub name: String,
    pub text: String,
    /// The text once more, shared by every error about this file (built on the first).
    shared: OnceLock<Arc<str>>,
}

/// One error at one place in one file.
#[derive(Debug, thiserror::Error, Diagnostic)]
#[error("{name}:{line}:{col}: {message}")]
pub struct LocatedError {
    pub name: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub col: usize,
    pub message: String,
    #[source_code]
    src: NamedSource<Snippet>,
    #[label("here")]
    span: SourceSpan,
    #[help]
    pub help: Option<String>,
}

impl LocatedError {
    /// The one-line form `file:line:col: message`.
    pub fn line_form(&self) -> String {
        self.to_string()
    }
}

impl SourceFile {
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Self {
        SourceFile {
            name: name.into(),
            text: text.into(),
            shared: OnceLock::new(),
        }
    }

    /// Reads a file from disk through [`crate::input::read_text`] (regular files of at
    /// most 4 MiB); one that cannot be read is an error located at 1:1.
    pub fn read(path: &std::path::Path) -> Result<Self, LocatedError> {
        let name = path.display().to_string();
        match crate::input::read_text(path) {
            Ok(text) => Ok(SourceFile::new(name, text)),
            Err(e) => Err(SourceFile::new(name, String::new()).error_at(
                0..0,
                format!("cannot read file: {e}"),
                None,
            )),
        }
    }

    /// 1-based (line, column) of a byte offset; offsets past the end clamp to the end.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = floor_char(&self.text, offset);
        let before = &self.text[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
        let col = before[line_start..].chars().count() + 1;
        (line, col)
    }

    /// An error at `span` (byte range into the text).
    pub fn error_at(
        &self,
        span: Range<usize>,
        message: impl Into<String>,
        help: Option<String>,
    ) -> LocatedError {
        let start = floor_char(&self.text, span.start);
        // The label covers at most a short run of text: the snippet never echoes a huge value.
        let end = clip_end(&self.text, start, span.end.clamp(start, self.text.len()));
        let (line, col) = self.line_col(start);
        let shared = self
            .shared
            .get_or_init(|| Arc::from(crate::text::defang(&self.text)))
            .clone();
        LocatedError {
            name: self.name.clone(),
            line,
            col,
            // Names and values from the file can hold escape sequences: the message and
            // the rendered snippet (the text defanged, same byte offsets) never carry them
            // to the terminal.
            message: crate::text::sanitize_lines(&cap_message(message.into())),
            src: NamedSource::new(crate::text::sanitize(&self.name), Snippet(shared)),
            span: SourceSpan::new(start.into(), end - start),
            help: help.map(|h| crate::text::sanitize_lines(&h)),
        }
    }

    /// Deserializes TOML; syntax errors, unknown keys and wrong types come back located.
    pub fn parse_toml<T: DeserializeOwned>(&self) -> Result<T, LocatedError> {
        toml::from_str::<T>(&self.text).map_err(|e| {
            let span = e.span().unwrap_or(0..0);
            let message = e.message().trim().replace('\n', " ");
            self.error_at(span, message, None)
        })
    }
}

/// The most characters of a message shown (a parser may quote a whole huge value).
const MAX_MESSAGE: usize = 400;

fn cap_message(m: String) -> String {
    match m.char_indices().nth(MAX_MESSAGE) {
        Some((cut, _)) => format!("{}… ({} bytes in all)", &m[..cut], m.len()),
        None => m,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct T {
        a: u32,
    }

    #[test]
    fn locates_unknown_key() {
        let f = SourceFile::new("x.toml", "a = 1\nbogus = 2\n");
        let e = f.parse_toml::<T>().unwrap_err();
        assert_eq!((e.line, e.col), (2, 1), "{e}");
        assert!(
            e.to_string()
                .starts_with("x.toml:2:1: unknown field `bogus`"),
            "{e}"
        );
    }

    #[test]
    fn locates_bad_type() {
        let f = SourceFile::new("x.toml", "a = \"one\"\n");
        let e = f.parse_toml::<T>().unwrap_err();
        assert_eq!((e.line, e.col), (1, 5), "{e}");
    }

    fn render(e: LocatedError) -> String {
        let handler =
            miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor());
        let mut out = String::new();
        handler.render_report(&mut out, &e).unwrap();
        out
    }

    #[test]
    fn an_error_far_along_a_huge_line_shows_a_short_window() {
        // Past column 65,535, miette used to panic formatting the label's padding.
        let mut text = String::from("a = 1\nb = \"");
        text.push_str(&"x".repeat(5 * 1024 * 1024));
        text.push_str("\" oops\n");
        let f = SourceFile::new("big.toml", text);
        let e = f.parse_toml::<T>().unwrap_err();
        assert_eq!(e.line, 2, "{}", e.line_form());
        assert!(e.col > 65_535, "{}", e.col);
        let shown = render(e);
        assert!(shown.len() < 4_000, "{} bytes shown", shown.len());
        assert!(shown.contains("big.toml"), "{shown}");

        let e = f.error_at(70_000..5_000_000, "here", None);
        let shown = render(e);
        assert!(shown.len() < 4_000, "{} bytes shown", shown.len());
        assert!(shown.contains("xxxx"), "{shown}");
    }

    #[test]
    fn a_huge_message_is_cut() {
        let f = SourceFile::new("x.toml", "a = 1\n");
        let e = f.error_at(0..1, "y".repeat(1_000_000), None);
        assert!(e.message.len() < 1_000, "{}", e.message.len());
        assert!(
            e.message.ends_with("(1000000 bytes in all)"),
            "{}",
            &e.message[400..]
        );
    }

    #[test]
    fn columns_count_characters() {
        let f = SourceFile::new("x.toml", "# é\nab");
        assert_eq!(f.line_col(f.text.len()), (2, 3));
    }
}
