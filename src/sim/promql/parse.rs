//! The PromQL subset's parser: a lexer and a precedence-climbing parser into `Expr`, with
//! Prometheus's type rules; constructs outside the subset are `Unsupported`, naming them.

use regex::Regex;

use super::PromqlError;

/// A parsed expression of the subset.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    Number(f64),
    /// An instant vector selector: the latest sample of each series within the lookback.
    Selector(Selector),
    /// A range vector selector `sel[range]`, range in seconds.
    Range(Selector, f64),
    /// `rate`, `irate` or `increase` of a range vector.
    Call(Func, Box<Expr>),
    Aggregate {
        op: AggOp,
        grouping: Grouping,
        expr: Box<Expr>,
    },
    Binary {
        op: BinOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
        /// `bool`: a comparison gives 0 or 1 instead of filtering.
        keep: bool,
        matching: Matching,
    },
    Neg(Box<Expr>),
}

/// What an expression evaluates to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Type {
    Scalar,
    Vector,
    Matrix,
}

impl Type {
    fn name(self) -> &'static str {
        match self {
            Type::Scalar => "scalar",
            Type::Vector => "instant vector",
            Type::Matrix => "range vector",
        }
    }
}

impl Expr {
    pub fn ty(&self) -> Type {
        match self {
            Expr::Number(_) => Type::Scalar,
            Expr::Range(..) => Type::Matrix,
            Expr::Selector(_) | Expr::Call(..) | Expr::Aggregate { .. } => Type::Vector,
            Expr::Neg(e) => e.ty(),
            Expr::Binary { lhs, rhs, .. } => {
                if lhs.ty() == Type::Scalar && rhs.ty() == Type::Scalar {
                    Type::Scalar
                } else {
                    Type::Vector
                }
            }
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Selector {
    /// The metric name, when written before the braces.
    pub name: Option<String>,
    pub matchers: Vec<Matcher>,
}

#[derive(Clone, Debug)]
pub struct Matcher {
    pub label: String,
    pub op: MatchOp,
    pub value: String,
    /// For `=~` and `!~`: the value anchored at both ends, as Prometheus does.
    pub re: Option<Regex>,
}

impl PartialEq for Matcher {
    fn eq(&self, other: &Matcher) -> bool {
        self.label == other.label && self.op == other.op && self.value == other.value
    }
}

impl Matcher {
    /// Whether a label value (`""` for a missing label) matches.
    pub fn matches(&self, v: &str) -> bool {
        match (self.op, &self.re) {
            (MatchOp::Eq, _) => v == self.value,
            (MatchOp::Ne, _) => v != self.value,
            (MatchOp::Re, Some(re)) => re.is_match(v),
            (MatchOp::NotRe, Some(re)) => !re.is_match(v),
            (MatchOp::Re | MatchOp::NotRe, None) => false,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MatchOp {
    Eq,
    Ne,
    Re,
    NotRe,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Func {
    Rate,
    Irate,
    Increase,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AggOp {
    Sum,
    Max,
    Min,
    Avg,
    Count,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Grouping {
    /// Everything into one group with no labels.
    All,
    By(Vec<String>),
    Without(Vec<String>),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Matching {
    /// One-to-one on every label but `__name__`.
    Default,
    On(Vec<String>),
    Ignoring(Vec<String>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Eq,
    Ne,
    Gt,
    Lt,
    Ge,
    Le,
}

impl BinOp {
    pub fn is_comparison(self) -> bool {
        matches!(
            self,
            BinOp::Eq | BinOp::Ne | BinOp::Gt | BinOp::Lt | BinOp::Ge | BinOp::Le
        )
    }

    fn precedence(self) -> u8 {
        match self {
            BinOp::Eq | BinOp::Ne | BinOp::Gt | BinOp::Lt | BinOp::Ge | BinOp::Le => 3,
            BinOp::Add | BinOp::Sub => 4,
            BinOp::Mul | BinOp::Div => 5,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
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

struct Lexer<'a> {
    src: &'a str,
    pos: usize,
}

fn parse_error<T>(pos: usize, msg: impl Into<String>) -> Result<T, PromqlError> {
    Err(PromqlError::Parse {
        pos,
        msg: msg.into(),
    })
}

fn unsupported<T>(what: impl Into<String>) -> Result<T, PromqlError> {
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
    fn next(&mut self) -> Result<(Tok, usize), PromqlError> {
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

/// Parses `src` into an expression of the subset, type-checked as Prometheus does.
pub fn parse(src: &str) -> Result<Expr, PromqlError> {
    let mut p = Parser::new(src)?;
    let e = p.expr(0)?;
    match p.tok {
        Tok::Eof => Ok(e),
        _ => p.unexpected("the end of the query"),
    }
}

struct Parser<'a> {
    lex: Lexer<'a>,
    tok: Tok,
    at: usize,
}

const AGGREGATIONS: &[(&str, AggOp)] = &[
    ("sum", AggOp::Sum),
    ("max", AggOp::Max),
    ("min", AggOp::Min),
    ("avg", AggOp::Avg),
    ("count", AggOp::Count),
];
/// Prometheus aggregations outside the subset.
const OTHER_AGGREGATIONS: &[&str] = &[
    "topk",
    "bottomk",
    "quantile",
    "count_values",
    "stddev",
    "stdvar",
    "group",
    "limitk",
    "limit_ratio",
];
const FUNCTIONS: &[(&str, Func)] = &[
    ("rate", Func::Rate),
    ("irate", Func::Irate),
    ("increase", Func::Increase),
];

impl<'a> Parser<'a> {
    fn new(src: &'a str) -> Result<Parser<'a>, PromqlError> {
        let mut lex = Lexer { src, pos: 0 };
        let (tok, at) = lex.next()?;
        Ok(Parser { lex, tok, at })
    }

    fn bump(&mut self) -> Result<Tok, PromqlError> {
        let (tok, at) = self.lex.next()?;
        self.at = at;
        Ok(std::mem::replace(&mut self.tok, tok))
    }

    fn is_op(&self, op: &str) -> bool {
        matches!(self.tok, Tok::Op(o) if o == op)
    }

    fn is_ident(&self, word: &str) -> bool {
        matches!(&self.tok, Tok::Ident(w) if w.eq_ignore_ascii_case(word))
    }

    fn expect_op(&mut self, op: &str) -> Result<(), PromqlError> {
        if self.is_op(op) {
            self.bump()?;
            Ok(())
        } else {
            self.unexpected(&format!("`{op}`"))
        }
    }

    fn unexpected<T>(&self, wanted: &str) -> Result<T, PromqlError> {
        let found = match &self.tok {
            Tok::Num(n) => format!("number {n}"),
            Tok::Dur(_) => "a duration".to_string(),
            Tok::Ident(w) => format!("`{w}`"),
            Tok::Str(s) => format!("string {s:?}"),
            Tok::Op(o) => format!("`{o}`"),
            Tok::Eof => "the end of the query".to_string(),
        };
        parse_error(self.at, format!("expected {wanted}, found {found}"))
    }

    /// A binary operator at the current token, or `None`; operators outside the subset
    /// are `Unsupported`.
    fn binop(&self) -> Result<Option<BinOp>, PromqlError> {
        Ok(Some(match &self.tok {
            Tok::Op("+") => BinOp::Add,
            Tok::Op("-") => BinOp::Sub,
            Tok::Op("*") => BinOp::Mul,
            Tok::Op("/") => BinOp::Div,
            Tok::Op("==") => BinOp::Eq,
            Tok::Op("!=") => BinOp::Ne,
            Tok::Op(">") => BinOp::Gt,
            Tok::Op("<") => BinOp::Lt,
            Tok::Op(">=") => BinOp::Ge,
            Tok::Op("<=") => BinOp::Le,
            Tok::Op(op @ ("%" | "^")) => return unsupported(format!("the `{op}` operator")),
            Tok::Ident(w) if ["and", "or", "unless", "atan2"].contains(&w.as_str()) => {
                return unsupported(format!("the `{w}` operator"));
            }
            _ => return Ok(None),
        }))
    }

    fn expr(&mut self, min_prec: u8) -> Result<Expr, PromqlError> {
        let mut lhs = self.unary()?;
        while let Some(op) = self.binop()? {
            let prec = op.precedence();
            if prec < min_prec {
                break;
            }
            let op_at = self.at;
            self.bump()?;
            let keep = if self.is_ident("bool") {
                if !op.is_comparison() {
                    return parse_error(
                        self.at,
                        "bool modifier can only be used on comparison operators",
                    );
                }
                self.bump()?;
                true
            } else {
                false
            };
            let matching = if self.is_ident("on") {
                self.bump()?;
                Matching::On(self.labels()?)
            } else if self.is_ident("ignoring") {
                self.bump()?;
                Matching::Ignoring(self.labels()?)
            } else {
                Matching::Default
            };
            if self.is_ident("group_left") || self.is_ident("group_right") {
                return unsupported("many-to-one matching (`group_left`/`group_right`)");
            }
            let rhs = self.expr(prec + 1)?;
            let (lt, rt) = (lhs.ty(), rhs.ty());
            for t in [lt, rt] {
                if t == Type::Matrix {
                    return parse_error(
                        op_at,
                        "binary expression must contain only scalar and instant vector types",
                    );
                }
            }
            if lt == Type::Scalar && rt == Type::Scalar {
                if op.is_comparison() && !keep {
                    return parse_error(
                        op_at,
                        "comparisons between scalars must use BOOL modifier",
                    );
                }
                if matching != Matching::Default {
                    return parse_error(
                        op_at,
                        "vector matching only allowed between instant vectors",
                    );
                }
            }
            lhs = Expr::Binary {
                op,
                lhs: Box::new(lhs),
                rhs: Box::new(rhs),
                keep,
                matching,
            };
        }
        Ok(lhs)
    }

    fn unary(&mut self) -> Result<Expr, PromqlError> {
        if self.is_op("-") || self.is_op("+") {
            let neg = self.is_op("-");
            let at = self.at;
            self.bump()?;
            let e = self.unary()?;
            if e.ty() == Type::Matrix {
                return parse_error(
                    at,
                    "unary expression only allowed on expressions of type scalar or instant vector",
                );
            }
            return Ok(match (neg, e) {
                (true, Expr::Number(n)) => Expr::Number(-n),
                (true, e) => Expr::Neg(Box::new(e)),
                (false, e) => e,
            });
        }
        let e = self.primary()?;
        self.postfix(e)
    }

    /// Range, subquery, `offset` and `@` after an expression.
    fn postfix(&mut self, e: Expr) -> Result<Expr, PromqlError> {
        let mut e = e;
        loop {
            if self.is_op("[") {
                let at = self.at;
                self.bump()?;
                let range = match self.bump()? {
                    Tok::Dur(s) => s,
                    _ => return parse_error(self.at, "expected a duration in `[…]`, e.g. [5m]"),
                };
                if self.is_op(":") {
                    return unsupported("subqueries (`[range:step]`)");
                }
                self.expect_op("]")?;
                e = match e {
                    Expr::Selector(sel) if range > 0.0 => Expr::Range(sel, range),
                    Expr::Selector(_) => return parse_error(at, "the range must be more than 0"),
                    _ => {
                        return parse_error(at, "ranges only allowed for vector selectors");
                    }
                };
            } else if self.is_ident("offset") {
                return unsupported("the `offset` modifier");
            } else if self.is_op("@") {
                return unsupported("the `@` modifier");
            } else {
                return Ok(e);
            }
        }
    }

    fn primary(&mut self) -> Result<Expr, PromqlError> {
        let at = self.at;
        match self.bump()? {
            Tok::Num(n) => Ok(Expr::Number(n)),
            Tok::Str(_) => unsupported("string literals"),
            Tok::Op("(") => {
                let e = self.expr(0)?;
                self.expect_op(")")?;
                Ok(e)
            }
            Tok::Op("{") => {
                let matchers = self.matchers()?;
                self.selector(None, matchers, at)
            }
            Tok::Ident(word) => self.word(word, at),
            tok => {
                self.tok_back(tok, at);
                self.unexpected("an expression")
            }
        }
    }

    /// Puts a consumed token back for an error message.
    fn tok_back(&mut self, tok: Tok, at: usize) {
        self.tok = tok;
        self.at = at;
    }

    fn word(&mut self, word: String, at: usize) -> Result<Expr, PromqlError> {
        let lower = word.to_ascii_lowercase();
        if let Some((_, op)) = AGGREGATIONS.iter().find(|(n, _)| *n == lower) {
            return self.aggregation(*op, &lower);
        }
        if OTHER_AGGREGATIONS.contains(&lower.as_str()) {
            return unsupported(format!("the `{lower}` aggregation"));
        }
        if self.is_op("(") {
            let Some((_, func)) = FUNCTIONS.iter().find(|(n, _)| *n == word) else {
                return unsupported(format!("the function `{word}`"));
            };
            self.bump()?;
            let arg_at = self.at;
            let arg = self.expr(0)?;
            if self.is_op(",") {
                return parse_error(self.at, format!("{word} takes one argument"));
            }
            self.expect_op(")")?;
            if arg.ty() != Type::Matrix {
                return parse_error(
                    arg_at,
                    format!(
                        "expected type range vector in call to function {word:?}, got {}",
                        arg.ty().name()
                    ),
                );
            }
            return Ok(Expr::Call(*func, Box::new(arg)));
        }
        match lower.as_str() {
            "inf" | "+inf" => return Ok(Expr::Number(f64::INFINITY)),
            "nan" => return Ok(Expr::Number(f64::NAN)),
            "bool" | "on" | "ignoring" | "by" | "without" | "offset" | "group_left"
            | "group_right" | "and" | "or" | "unless" | "atan2" => {
                self.tok_back(Tok::Ident(word), at);
                return self.unexpected("an expression");
            }
            _ => {}
        }
        let matchers = if self.is_op("{") {
            self.bump()?;
            self.matchers()?
        } else {
            Vec::new()
        };
        self.selector(Some(word), matchers, at)
    }

    fn selector(
        &mut self,
        name: Option<String>,
        matchers: Vec<Matcher>,
        at: usize,
    ) -> Result<Expr, PromqlError> {
        if name.is_none() && matchers.iter().all(|m| m.matches("")) {
            return parse_error(
                at,
                "vector selector must contain at least one non-empty matcher",
            );
        }
        Ok(Expr::Selector(Selector { name, matchers }))
    }

    /// `label op "value", …}` after `{`.
    fn matchers(&mut self) -> Result<Vec<Matcher>, PromqlError> {
        let mut out = Vec::new();
        loop {
            let label = match self.bump()? {
                Tok::Op("}") => return Ok(out),
                Tok::Ident(l) => l,
                tok => {
                    let at = self.at;
                    self.tok_back(tok, at);
                    return self.unexpected("a label name or `}`");
                }
            };
            let op = match self.bump()? {
                Tok::Op("=") => MatchOp::Eq,
                Tok::Op("!=") => MatchOp::Ne,
                Tok::Op("=~") => MatchOp::Re,
                Tok::Op("!~") => MatchOp::NotRe,
                tok => {
                    let at = self.at;
                    self.tok_back(tok, at);
                    return self.unexpected("a label matcher (=, !=, =~ or !~)");
                }
            };
            let value_at = self.at;
            let value = match self.bump()? {
                Tok::Str(s) => s,
                tok => {
                    self.tok_back(tok, value_at);
                    return self.unexpected("a quoted label value");
                }
            };
            let re = match op {
                MatchOp::Re | MatchOp::NotRe => Some(
                    Regex::new(&format!("^(?:{value})$")).map_err(|e| PromqlError::Parse {
                        pos: value_at,
                        msg: format!("bad regex: {e}"),
                    })?,
                ),
                _ => None,
            };
            out.push(Matcher {
                label,
                op,
                value,
                re,
            });
            if self.is_op(",") {
                self.bump()?;
            } else if !self.is_op("}") {
                return self.unexpected("`,` or `}`");
            }
        }
    }

    /// `(label, …)`.
    fn labels(&mut self) -> Result<Vec<String>, PromqlError> {
        self.expect_op("(")?;
        let mut out = Vec::new();
        loop {
            match self.bump()? {
                Tok::Op(")") => return Ok(out),
                Tok::Ident(l) => out.push(l),
                tok => {
                    let at = self.at;
                    self.tok_back(tok, at);
                    return self.unexpected("a label name or `)`");
                }
            }
            if self.is_op(",") {
                self.bump()?;
            } else if !self.is_op(")") {
                return self.unexpected("`,` or `)`");
            }
        }
    }

    fn grouping(&mut self) -> Result<Option<Grouping>, PromqlError> {
        if self.is_ident("by") {
            self.bump()?;
            Ok(Some(Grouping::By(self.labels()?)))
        } else if self.is_ident("without") {
            self.bump()?;
            Ok(Some(Grouping::Without(self.labels()?)))
        } else {
            Ok(None)
        }
    }

    /// `op [by|without (…)] (expr) [by|without (…)]`.
    fn aggregation(&mut self, op: AggOp, name: &str) -> Result<Expr, PromqlError> {
        let before = self.grouping()?;
        self.expect_op("(")?;
        let arg_at = self.at;
        let expr = self.expr(0)?;
        if self.is_op(",") {
            return parse_error(self.at, format!("{name} takes one argument"));
        }
        self.expect_op(")")?;
        let after = self.grouping()?;
        let grouping = match (before, after) {
            (Some(_), Some(_)) => {
                return parse_error(self.at, "give `by`/`without` once, before or after");
            }
            (Some(g), None) | (None, Some(g)) => g,
            (None, None) => Grouping::All,
        };
        if expr.ty() != Type::Vector {
            return parse_error(
                arg_at,
                format!(
                    "expected type instant vector in aggregation expression, got {}",
                    expr.ty().name()
                ),
            );
        }
        Ok(Expr::Aggregate {
            op,
            grouping,
            expr: Box::new(expr),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sel(name: &str) -> Expr {
        Expr::Selector(Selector {
            name: Some(name.into()),
            matchers: vec![],
        })
    }

    fn unsupported_what(q: &str) -> String {
        match parse(q) {
            Err(PromqlError::Unsupported(what)) => what,
            other => panic!("{q}: {other:?}"),
        }
    }

    fn parse_err(q: &str) -> String {
        match parse(q) {
            Err(PromqlError::Parse { msg, .. }) => msg,
            other => panic!("{q}: {other:?}"),
        }
    }

    #[test]
    fn numbers_and_durations() {
        assert_eq!(parse("1.5").unwrap(), Expr::Number(1.5));
        assert_eq!(parse("1e3").unwrap(), Expr::Number(1000.0));
        assert_eq!(parse("0x10").unwrap(), Expr::Number(16.0));
        assert_eq!(parse("-2").unwrap(), Expr::Number(-2.0));
        assert!(matches!(parse("NaN").unwrap(), Expr::Number(n) if n.is_nan()));
        assert_eq!(parse("Inf").unwrap(), Expr::Number(f64::INFINITY));
        let Expr::Range(_, secs) = parse("up[1h30m]").unwrap() else {
            panic!()
        };
        assert_eq!(secs, 5400.0);
        let Expr::Range(_, secs) = parse("up[250ms]").unwrap() else {
            panic!()
        };
        assert_eq!(secs, 0.25);
    }

    #[test]
    fn selectors_with_each_matcher() {
        let Expr::Selector(s) =
            parse(r#"http_requests_total{code=~"5..", job!="x", pod!~'a|b', env=`prod`,}"#)
                .unwrap()
        else {
            panic!()
        };
        assert_eq!(s.name.as_deref(), Some("http_requests_total"));
        let ops: Vec<MatchOp> = s.matchers.iter().map(|m| m.op).collect();
        assert_eq!(ops, [MatchOp::Re, MatchOp::Ne, MatchOp::NotRe, MatchOp::Eq]);
        // Anchored: "5.." matches 500 but not 5000 nor x500.
        assert!(s.matchers[0].matches("500"));
        assert!(!s.matchers[0].matches("5000"));
        assert!(!s.matchers[0].matches("x500"));
        assert!(s.matchers[2].matches("c") && !s.matchers[2].matches("a"));
        assert_eq!(s.matchers[3].value, "prod");
        let Expr::Selector(s) = parse(r#"{__name__="up", a="x\"y"}"#).unwrap() else {
            panic!()
        };
        assert_eq!(s.name, None);
        assert_eq!(s.matchers[1].value, "x\"y");
        assert!(parse_err(r#"{a=""}"#).contains("non-empty matcher"));
        assert!(parse_err(r#"up{a=~"("}"#).contains("bad regex"));
        assert!(parse_err(r#"up{a="x""#).contains("expected"));
    }

    #[test]
    fn functions_and_aggregations_with_grouping_before_or_after() {
        assert_eq!(
            parse("rate(x[5m])").unwrap(),
            Expr::Call(
                Func::Rate,
                Box::new(Expr::Range(
                    Selector {
                        name: Some("x".into()),
                        matchers: vec![]
                    },
                    300.0
                ))
            )
        );
        assert!(matches!(
            parse("irate(x[1m])").unwrap(),
            Expr::Call(Func::Irate, _)
        ));
        assert!(matches!(
            parse("increase(x[1m])").unwrap(),
            Expr::Call(Func::Increase, _)
        ));
        let by_before = parse("sum by (pod, job) (x)").unwrap();
        let by_after = parse("sum(x) by (pod, job)").unwrap();
        assert_eq!(by_before, by_after);
        assert_eq!(
            by_before,
            Expr::Aggregate {
                op: AggOp::Sum,
                grouping: Grouping::By(vec!["pod".into(), "job".into()]),
                expr: Box::new(sel("x"))
            }
        );
        for (q, op) in [
            ("max(x)", AggOp::Max),
            ("min(x)", AggOp::Min),
            ("avg(x)", AggOp::Avg),
            ("count(x)", AggOp::Count),
        ] {
            assert!(
                matches!(parse(q).unwrap(), Expr::Aggregate { op: o, grouping: Grouping::All, .. } if o == op),
                "{q}"
            );
        }
        assert!(matches!(
            parse("max without (pod) (x)").unwrap(),
            Expr::Aggregate { grouping: Grouping::Without(l), .. } if l == ["pod"]
        ));
        assert!(parse_err("rate(x)").contains("expected type range vector"));
        assert!(parse_err("sum(x[5m])").contains("expected type instant vector"));
        assert!(parse_err("sum by (a) (x) by (b)").contains("once"));
    }

    #[test]
    fn binary_operators_precedence_modifiers_and_parentheses() {
        let e = parse("a + b * c").unwrap();
        let Expr::Binary {
            op: BinOp::Add,
            rhs,
            ..
        } = e
        else {
            panic!("{e:?}")
        };
        assert!(matches!(*rhs, Expr::Binary { op: BinOp::Mul, .. }));
        let e = parse("(a + b) * c").unwrap();
        assert!(matches!(e, Expr::Binary { op: BinOp::Mul, .. }));
        let e = parse("a - b - c").unwrap();
        let Expr::Binary { lhs, .. } = e else {
            panic!()
        };
        assert!(
            matches!(*lhs, Expr::Binary { op: BinOp::Sub, .. }),
            "left-associative"
        );
        let e = parse("a / b > 0.5").unwrap();
        assert!(matches!(
            e,
            Expr::Binary {
                op: BinOp::Gt,
                keep: false,
                ..
            }
        ));
        let e = parse("a > bool 1").unwrap();
        assert!(matches!(
            e,
            Expr::Binary {
                op: BinOp::Gt,
                keep: true,
                ..
            }
        ));
        let e = parse("a / on(pod) b").unwrap();
        assert!(matches!(e, Expr::Binary { matching: Matching::On(l), .. } if l == ["pod"]));
        let e = parse("a / ignoring(code) b").unwrap();
        assert!(matches!(e, Expr::Binary { matching: Matching::Ignoring(l), .. } if l == ["code"]));
        for (q, op) in [
            ("a == 1", BinOp::Eq),
            ("a != 1", BinOp::Ne),
            ("a < 1", BinOp::Lt),
            ("a <= 1", BinOp::Le),
            ("a >= 1", BinOp::Ge),
            ("a - 1", BinOp::Sub),
        ] {
            assert!(
                matches!(parse(q).unwrap(), Expr::Binary { op: o, .. } if o == op),
                "{q}"
            );
        }
        assert_eq!(parse("-(1)").unwrap(), Expr::Number(-1.0));
        assert!(matches!(parse("-a").unwrap(), Expr::Neg(_)));
        assert_eq!(parse("1 > bool 2").unwrap().ty(), Type::Scalar);
        assert!(parse_err("1 > 2").contains("BOOL"));
        assert!(parse_err("a + bool b").contains("comparison"));
        assert!(parse_err("a[5m] + 1").contains("scalar and instant vector"));
        assert!(parse_err("(a + b").contains("expected `)`"));
        assert!(parse_err("a b").contains("end of the query"));
        assert!(parse_err("").contains("expected an expression"));
    }

    #[test]
    fn everything_outside_the_subset_is_unsupported_and_named() {
        for (q, what) in [
            (
                "histogram_quantile(0.9, x)",
                "function `histogram_quantile`",
            ),
            ("abs(x)", "function `abs`"),
            ("topk(3, x)", "`topk` aggregation"),
            ("quantile(0.5, x)", "`quantile` aggregation"),
            ("x offset 5m", "`offset`"),
            ("x @ 100", "`@`"),
            ("rate(x[5m:1m])", "subqueries"),
            ("a % b", "`%`"),
            ("a ^ 2", "`^`"),
            ("a and b", "`and`"),
            ("a or b", "`or`"),
            ("a unless b", "`unless`"),
            ("a / on(x) group_left b", "group_left"),
            ("\"text\"", "string literals"),
        ] {
            let got = unsupported_what(q);
            assert!(got.contains(what), "{q}: {got}");
        }
    }
}
