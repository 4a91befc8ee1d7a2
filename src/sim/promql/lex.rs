//! The PromQL subset's lexer: numbers, durations, identifiers, quoted strings and operators,
//! each with the byte offset it starts at for error messages.

use super::PromqlError;

#[derive(Clone, Debug, PartialEq)]
pub(super) enum Tok {
    Num(f64),
    /// A duration literal, seconds.
    Dur(f64),
    Ident(String),
    Str(String),
    /// Punctuation and operators, as written.
    Op(&'static str),
    Eof,
}

/// Operators and punctuation, longest first.
const OPS: &[&str] = &[
    "==", "!=", "=~", "!~", ">=", "<=", "(", ")", "{", "}", "[", "]", ",", "=", "+", "-", "*", "/",
    "%", "^", ">", "<", "@", ":",
];

pub(super) struct Lexer<'a> {
    pub(super) src: &'a str,
    pub(super) pos: usize,
}

pub(super) fn parse_error<T>(pos: usize, msg: impl Into<String>) -> Result<T, PromqlError> {
    Err(PromqlError::Parse {
        pos,
        msg: msg.into(),
    })
}

pub(super) fn unsupported<T>(what: impl Into<String>) -> Result<T, PromqlError> {
    Err(PromqlError::Unsupported(what.into()))
}

impl<'a> Lexer<'a> {
    fn rest(&self) -> &'a str {
        let src: &'a str = self.src;
        &src[self.pos..]
    }

    fn skip_space(&mut self) {
        loop {
            let rest = self.rest();
            let trimmed = rest.trim_start();
            self.pos += rest.len() - trimmed.len();
            if trimmed.starts_with('#') {
                self.pos += trimmed.find('\n').unwrap_or(trimmed.len());
            } else {
                return;
            }
        }
    }

    /// The next token and where it starts.
    pub(super) fn next(&mut self) -> Result<(Tok, usize), PromqlError> {
        self.skip_space();
        let start = self.pos;
        let rest = self.rest();
        let Some(c) = rest.chars().next() else {
            return Ok((Tok::Eof, start));
        };
        if c.is_ascii_digit() || (c == '.' && rest[1..].starts_with(|d: char| d.is_ascii_digit())) {
            return self.number(start);
        }
        if c.is_ascii_alphabetic() || c == '_' {
            let len = rest
                .find(|ch: char| !(ch.is_ascii_alphanumeric() || ch == '_' || ch == ':'))
                .unwrap_or(rest.len());
            self.pos += len;
            return Ok((Tok::Ident(rest[..len].to_string()), start));
        }
        if matches!(c, '"' | '\'' | '`') {
            return self.string(c, start);
        }
        match OPS.iter().find(|op| rest.starts_with(**op)) {
            Some(op) => {
                self.pos += op.len();
                Ok((Tok::Op(op), start))
            }
            None => parse_error(start, format!("unexpected character {c:?}")),
        }
    }

    /// A number (`1`, `2.5`, `1e-3`, `0x1f`) or a duration (`5m`, `1h30m`, `250ms`).
    fn number(&mut self, start: usize) -> Result<(Tok, usize), PromqlError> {
        let rest = self.rest();
        if let Some(hex) = rest.strip_prefix("0x").or_else(|| rest.strip_prefix("0X")) {
            let len = hex
                .find(|c: char| !c.is_ascii_hexdigit())
                .unwrap_or(hex.len());
            return match u64::from_str_radix(&hex[..len], 16) {
                Ok(v) => {
                    self.pos += 2 + len;
                    Ok((Tok::Num(v as f64), start))
                }
                Err(_) => parse_error(start, "bad hexadecimal number"),
            };
        }
        let digits = |s: &str| s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        let mut len = digits(rest);
        let unit_follows = rest[len..].starts_with(|c: char| "smhdwy".contains(c));
        if unit_follows {
            return self.duration(start);
        }
        if rest[len..].starts_with('.') {
            len += 1 + digits(&rest[len + 1..]);
        }
        if rest[len..].starts_with(['e', 'E']) {
            let exp = &rest[len + 1..];
            let sign = usize::from(exp.starts_with(['+', '-']));
            let n = digits(&exp[sign..]);
            if n > 0 {
                len += 1 + sign + n;
            }
        }
        match rest[..len].parse::<f64>() {
            Ok(v) => {
                self.pos += len;
                if self
                    .rest()
                    .starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                {
                    return parse_error(self.pos, "bad number or duration syntax");
                }
                Ok((Tok::Num(v), start))
            }
            Err(_) => parse_error(start, "bad number"),
        }
    }

    fn duration(&mut self, start: usize) -> Result<(Tok, usize), PromqlError> {
        const UNITS: &[(&str, f64)] = &[
            ("ms", 0.001),
            ("s", 1.0),
            ("m", 60.0),
            ("h", 3600.0),
            ("d", 86_400.0),
            ("w", 604_800.0),
            ("y", 31_536_000.0),
        ];
        let mut secs = 0.0;
        loop {
            let rest = self.rest();
            let n = rest
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(rest.len());
            if n == 0 {
                break;
            }
            let Some((unit, scale)) = UNITS.iter().find(|(u, _)| rest[n..].starts_with(u)) else {
                return parse_error(
                    self.pos,
                    "bad duration: a number needs a unit (ms, s, m, h, d, w, y)",
                );
            };
            let value: f64 = rest[..n].parse().map_err(|_| PromqlError::Parse {
                pos: self.pos,
                msg: "bad duration".into(),
            })?;
            secs += value * scale;
            self.pos += n + unit.len();
        }
        if self
            .rest()
            .starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
        {
            return parse_error(self.pos, "bad duration");
        }
        Ok((Tok::Dur(secs), start))
    }

    /// A string in `"…"` or `'…'` (with escapes) or `` `…` `` (raw).
    fn string(&mut self, quote: char, start: usize) -> Result<(Tok, usize), PromqlError> {
        let mut out = String::new();
        let mut chars = self.src[start + 1..].char_indices();
        while let Some((i, c)) = chars.next() {
            if c == quote {
                self.pos = start + 1 + i + 1;
                return Ok((Tok::Str(out), start));
            }
            if c == '\\' && quote != '`' {
                let Some((_, e)) = chars.next() else { break };
                match e {
                    'n' => out.push('\n'),
                    't' => out.push('\t'),
                    'r' => out.push('\r'),
                    '\\' | '"' | '\'' => out.push(e),
                    // Regex escapes such as `\.` reach the regex as written.
                    other => {
                        out.push('\\');
                        out.push(other);
                    }
                }
            } else {
                out.push(c);
            }
        }
        parse_error(start, "unterminated string")
    }
}
