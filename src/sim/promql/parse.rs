//! The PromQL subset's parser: precedence climbing over the lexer's tokens into `Expr`, with
//! Prometheus's type rules; constructs outside the subset are `Unsupported`, naming them.

use regex::Regex;

use super::PromqlError;
use super::lex::{Lexer, Tok, parse_error, unsupported};

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
mod tests;
