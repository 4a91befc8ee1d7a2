//! The source shown under a located error: the file's text shared by all its errors, and,
//! around a long line, only a short window of it (never a whole huge line).

use std::sync::Arc;

use miette::{MietteError, MietteSpanContents, SourceCode, SourceSpan, SpanContents};

/// Bytes of a line shown before the error's start, when its line is long.
const BEFORE: usize = 80;
/// Bytes shown from the error's start on, when its line is long.
const AFTER: usize = 160;
/// A snippet (the lines in context) longer than this is cut down to the error's window.
const MAX_SNIPPET: usize = 4 * 1024;
/// A line longer than this is shown only around the error.
const MAX_LINE: usize = BEFORE + AFTER;

/// A file's text for miette; cheap to clone.
#[derive(Clone, Debug)]
pub struct Snippet(pub Arc<str>);

/// `offset` moved down to a char boundary of `text`.
pub fn floor_char(text: &str, offset: usize) -> usize {
    let mut o = offset.min(text.len());
    while !text.is_char_boundary(o) {
        o -= 1;
    }
    o
}

fn ceil_char(text: &str, offset: usize) -> usize {
    let mut o = offset.min(text.len());
    while !text.is_char_boundary(o) {
        o += 1;
    }
    o
}

/// The end of a label starting at `start` and asked to end at `end`: at most [`AFTER`]
/// bytes long, on a char boundary.
pub fn clip_end(text: &str, start: usize, end: usize) -> usize {
    ceil_char(text, end.min(start.saturating_add(AFTER))).max(start)
}

impl SourceCode for Snippet {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let text: &'a str = &self.0;
        let start = floor_char(text, span.offset());
        let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
        if line_end - line_start <= MAX_LINE {
            let full = text.read_span(span, context_lines_before, context_lines_after)?;
            let long_line = full
                .data()
                .split(|b| *b == b'\n')
                .any(|l| l.len() > MAX_LINE);
            if full.data().len() <= MAX_SNIPPET && !long_line {
                return Ok(full);
            }
        }
        let from = ceil_char(text, start.saturating_sub(BEFORE).max(line_start));
        let to = floor_char(text, start.saturating_add(AFTER).min(line_end)).max(start);
        let line = text[..line_start].matches('\n').count();
        let column = text[line_start..from].chars().count();
        Ok(Box::new(MietteSpanContents::new(
            &text.as_bytes()[from..to],
            SourceSpan::new(from.into(), to - from),
            line,
            column,
            1,
        )))
    }
}
