//! Located errors for every file ebb reads (themes, keymaps, scenarios, plans):
//! `file:line:col: message`, with a miette snippet for people and a plain line for logs.

use std::ops::Range;

use miette::{Diagnostic, NamedSource, SourceSpan};
use serde::de::DeserializeOwned;

/// The text of a file ebb reads, with the name it is reported under.
#[derive(Clone, Debug)]
pub struct SourceFile {
    /// Path as the user knows it, or `(embedded) themes/dark.toml` for presets.
    pub name: String,
    pub text: String,
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
    src: NamedSource<String>,
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
        }
    }

    /// Reads a file from disk; an unreadable file is an error located at 1:1.
    pub fn read(path: &std::path::Path) -> Result<Self, LocatedError> {
        let name = path.display().to_string();
        match std::fs::read_to_string(path) {
            Ok(text) => Ok(SourceFile { name, text }),
            Err(e) => Err(SourceFile::new(name, String::new()).error_at(
                0..0,
                format!("cannot read file: {e}"),
                None,
            )),
        }
    }

    /// 1-based (line, column) of a byte offset; offsets past the end clamp to the end.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
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
        let start = span.start.min(self.text.len());
        let end = span.end.clamp(start, self.text.len());
        let (line, col) = self.line_col(start);
        LocatedError {
            name: self.name.clone(),
            line,
            col,
            // Names and values from the file can hold escape sequences: the message and
            // the rendered snippet never carry them to the terminal.
            message: crate::text::sanitize_lines(&message.into()),
            src: NamedSource::new(
                crate::text::sanitize(&self.name),
                crate::text::defang(&self.text),
            ),
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

    #[test]
    fn columns_count_characters() {
        let f = SourceFile::new("x.toml", "# é\nab");
        assert_eq!(f.line_col(f.text.len()), (2, 3));
    }
}
