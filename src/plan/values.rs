//! The checking context and the value parsers it applies: durations, percentages, counts,
//! secret references, target names. Each records a located error and yields `None` when bad.

use std::collections::BTreeMap;
use std::ops::Range;
use std::time::Duration;

use toml::Spanned;

use super::model::{SecretRef, TargetKind};
use super::raw::S;
use crate::diag::{LocatedError, SourceFile};
use crate::suggest::did_you_mean;
use crate::units::parse_duration;

pub(super) const SECRET_HELP: &str = "secrets come from env: or file:, e.g. \"env:ORDERS_DB_URL\" or \"file:/run/secrets/orders-db-url\"";

/// Collects every error of one plan file; checks go on after an error so all are reported.
pub(super) struct Ctx<'a> {
    pub(super) file: &'a SourceFile,
    pub(super) errors: Vec<LocatedError>,
    /// Declared targets and their kinds (`None` when the kind itself was wrong).
    pub(super) targets: BTreeMap<String, Option<TargetKind>>,
}

impl<'a> Ctx<'a> {
    pub(super) fn new(file: &'a SourceFile) -> Self {
        Ctx {
            file,
            errors: Vec::new(),
            targets: BTreeMap::new(),
        }
    }

    pub(super) fn err(&mut self, span: Range<usize>, msg: impl Into<String>, help: Option<String>) {
        self.errors.push(self.file.error_at(span, msg, help));
    }

    pub(super) fn line_of(&self, span: &Range<usize>) -> usize {
        self.file.line_col(span.start).0
    }

    /// A duration that must be more than zero.
    pub(super) fn duration(&mut self, s: &S, what: &str) -> Option<Duration> {
        match parse_duration(s.get_ref()) {
            Ok(d) if d.is_zero() => {
                self.err(s.span(), format!("{what} must be more than zero"), None);
                None
            }
            Ok(d) => Some(d),
            Err(m) => {
                let help = s
                    .get_ref()
                    .trim_start()
                    .starts_with('-')
                    .then(|| format!("{what} cannot be negative"));
                self.err(s.span(), format!("bad {what}: {m}"), help);
                None
            }
        }
    }

    /// `"95%"` as the ratio 0.95; between 0% and 100%.
    pub(super) fn percent(&mut self, s: &S, what: &str) -> Option<f64> {
        let t = s.get_ref().trim();
        let value = crate::units::parse_percent(t);
        match value {
            None => {
                self.err(
                    s.span(),
                    format!("bad {what}: expected a percentage like \"95%\", found {t:?}"),
                    None,
                );
                None
            }
            Some(v) if !(0.0..=100.0).contains(&v) => {
                self.err(
                    s.span(),
                    format!("bad {what}: percentage {t} is outside 0% to 100%"),
                    None,
                );
                None
            }
            Some(v) => Some(v / 100.0),
        }
    }

    /// An integer count at least `min`.
    pub(super) fn count(&mut self, v: &Spanned<i64>, what: &str, min: i64) -> Option<u64> {
        let n = *v.get_ref();
        if n < min {
            let msg = if min == 1 {
                format!("{what} must be at least 1, found {n}")
            } else {
                format!("{what} must be at least {min}, found {n}")
            };
            self.err(v.span(), msg, None);
            return None;
        }
        u64::try_from(n).ok()
    }

    /// A count that must fit a u32.
    pub(super) fn count32(&mut self, v: &Spanned<i64>, what: &str, min: i64) -> Option<u32> {
        let n = self.count(v, what, min)?;
        match u32::try_from(n) {
            Ok(n) => Some(n),
            Err(_) => {
                self.err(v.span(), format!("{what} is too large ({n})"), None);
                None
            }
        }
    }

    /// Parses `env:NAME` / `file:PATH` without reporting; `None` when it is neither.
    pub(super) fn secret_ref(text: &str) -> Option<Result<SecretRef, String>> {
        SecretRef::parse(text)
    }

    /// A value that may carry credentials: must be `env:` or `file:`.
    pub(super) fn secret(&mut self, s: &S, what: &str) -> Option<SecretRef> {
        match Self::secret_ref(s.get_ref()) {
            Some(Ok(r)) => Some(r),
            Some(Err(m)) => {
                self.err(
                    s.span(),
                    format!("bad {what}: {m}"),
                    Some(SECRET_HELP.into()),
                );
                None
            }
            None => {
                self.err(
                    s.span(),
                    format!("inline {what}: secrets come from env: or file:"),
                    Some(format!(
                        "put the value in an environment variable and write \"env:NAME\" ({SECRET_HELP})"
                    )),
                );
                None
            }
        }
    }

    /// A target's URL: `env:` / `file:`, or inline when it holds no password or token.
    pub(super) fn target_url(&mut self, s: &S) -> Option<SecretRef> {
        if Self::secret_ref(s.get_ref()).is_some() {
            return self.secret(s, "url");
        }
        match SecretRef::inline(s.get_ref()) {
            Ok(r) => Some(r),
            Err(m) => {
                self.err(
                    s.span(),
                    m,
                    Some(format!(
                        "put the URL in an environment variable and write \"env:NAME\" ({SECRET_HELP})"
                    )),
                );
                None
            }
        }
    }

    /// An https target's extra CA file (`file:PATH`, PEM), read now.
    pub(super) fn ca_file(&mut self, s: &S) -> Option<std::path::PathBuf> {
        match super::secret::parse_ca(s.get_ref()) {
            Ok(p) => Some(p),
            Err(m) => {
                self.err(s.span(), m, Some(super::secret::CA_HELP.into()));
                None
            }
        }
    }

    /// A reference to a declared target of one of `kinds`.
    pub(super) fn target(&mut self, s: &S, kinds: &[TargetKind], user: &str) -> Option<String> {
        let name = s.get_ref();
        match self.targets.get(name.as_str()) {
            None => {
                let help = did_you_mean(name, self.targets.keys().map(String::as_str))
                    .or_else(|| Some(format!("declare it under [targets.{name}]")));
                self.err(s.span(), format!("undeclared target {name:?}"), help);
                None
            }
            Some(None) => None,
            Some(Some(kind)) if !kinds.contains(kind) => {
                let want: Vec<&str> = kinds.iter().map(|k| k.name()).collect();
                self.err(
                    s.span(),
                    format!(
                        "{user} needs a target of kind {}, but {name:?} is {}",
                        want.join(" or "),
                        kind.name()
                    ),
                    None,
                );
                None
            }
            Some(Some(_)) => Some(name.clone()),
        }
    }

    /// Reports fields that `kind` does not take.
    pub(super) fn refuse_fields(
        &mut self,
        present: &[(&'static str, Range<usize>)],
        allowed: &[&str],
        what: &str,
    ) {
        for (name, span) in present {
            if !allowed.contains(name) {
                let help = if allowed.is_empty() {
                    format!("{what} takes no parameters")
                } else {
                    format!("{what} takes: {}", allowed.join(", "))
                };
                self.err(
                    span.clone(),
                    format!("`{name}` does not apply to {what}"),
                    Some(help),
                );
            }
        }
    }

    /// Reports required fields that are missing, at `at` (the table that lacks them).
    pub(super) fn require(
        &mut self,
        present: &[(&'static str, Range<usize>)],
        required: &[&str],
        what: &str,
        at: Range<usize>,
    ) -> bool {
        let mut ok = true;
        for r in required {
            if !present.iter().any(|(n, _)| n == r) {
                self.err(at.clone(), format!("{what} needs `{r}`"), None);
                ok = false;
            }
        }
        ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> S {
        Spanned::new(0..v.len(), v.to_string())
    }

    #[test]
    fn percentages_are_ratios_within_bounds() {
        let f = SourceFile::new("p.toml", "");
        let mut c = Ctx::new(&f);
        assert_eq!(c.percent(&s("95%"), "max"), Some(0.95));
        assert_eq!(c.percent(&s(" 0.1 %"), "max"), Some(0.001));
        assert_eq!(c.percent(&s("100%"), "max"), Some(1.0));
        assert_eq!(c.percent(&s("100.5%"), "max"), None);
        assert_eq!(c.percent(&s("-1%"), "max"), None);
        assert_eq!(c.percent(&s("95"), "max"), None);
        assert_eq!(c.percent(&s("nan%"), "max"), None);
        assert_eq!(c.errors.len(), 4);
    }

    #[test]
    fn durations_must_be_positive() {
        let f = SourceFile::new("p.toml", "");
        let mut c = Ctx::new(&f);
        assert_eq!(c.duration(&s("1m30s"), "t"), Some(Duration::from_secs(90)));
        assert_eq!(c.duration(&s("0s"), "t"), None);
        assert_eq!(c.duration(&s("-5s"), "t"), None);
        assert_eq!(c.errors[1].help.as_deref(), Some("t cannot be negative"));
    }

    #[test]
    fn secret_references() {
        assert_eq!(
            Ctx::secret_ref("env:DB_URL"),
            Some(Ok(SecretRef::Env("DB_URL".into())))
        );
        assert_eq!(
            Ctx::secret_ref("file:/run/s"),
            Some(Ok(SecretRef::File("/run/s".into())))
        );
        assert!(matches!(Ctx::secret_ref("env:"), Some(Err(_))));
        assert!(matches!(Ctx::secret_ref("file: "), Some(Err(_))));
        assert_eq!(Ctx::secret_ref("postgres://u:p@h/db"), None);
        assert_eq!(Ctx::secret_ref("https://flags/x"), None);
    }
}
