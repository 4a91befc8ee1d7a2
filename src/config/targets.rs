//! The console's targets file: `[targets.NAME]` as plans declare them (postgres, `url`
//! optional: the libpq environment; prometheus, `url` required) and an optional `[console]`.
//!
//! ```toml
//! [console]
//! interval = "2s"   # how often each target is observed (250ms–1h)
//! timeout = "2s"    # connect and query timeout per observation (100ms–1m)
//!
//! [targets.db]
//! kind = "postgres"
//! url = "env:ORDERS_DB_URL"
//!
//! [targets.metrics]
//! kind = "prometheus"
//! url = "env:PROM_URL"
//! ```

use std::collections::BTreeMap;
use std::ops::Range;
use std::time::Duration;

use miette::Diagnostic;
use serde::Deserialize;
use toml::Spanned;

use super::diag::{LocatedError, SourceFile};
use super::secrets::SECRET_HELP;
use crate::plan::{SecretRef, TargetKind};
use crate::units::parse_duration;

/// How often a target is observed unless `[console] interval` says otherwise.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(2);
/// The connect and query timeout unless `[console] timeout` says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);

/// A validated targets file.
#[derive(Clone, Debug, PartialEq)]
pub struct TargetsFile {
    pub interval: Duration,
    pub timeout: Duration,
    /// In name order.
    pub targets: Vec<WatchTarget>,
}

/// One server to watch: PostgreSQL or Prometheus.
#[derive(Clone, Debug, PartialEq)]
pub struct WatchTarget {
    pub name: String,
    /// `Postgres` or `Prometheus`.
    pub kind: TargetKind,
    /// `None`: connect as libpq would from the environment (PGHOST, PGUSER, …); a
    /// prometheus target always has one.
    pub url: Option<SecretRef>,
}

/// Every error of one targets file, in file order.
#[derive(Debug, thiserror::Error, Diagnostic)]
#[error("{name}: {} error{} in the console file", errors.len(), if errors.len() == 1 { "" } else { "s" })]
pub struct TargetsErrors {
    pub name: String,
    #[related]
    pub errors: Vec<LocatedError>,
}

type S = Spanned<String>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    console: Option<RawConsole>,
    #[serde(default)]
    targets: BTreeMap<S, Spanned<RawTarget>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConsole {
    interval: Option<S>,
    timeout: Option<S>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTarget {
    kind: S,
    url: Option<S>,
}

/// Parses and validates a targets file. A TOML syntax error, unknown key or wrong type
/// stops at that one error; the rest are all collected.
pub fn parse(file: &SourceFile) -> Result<TargetsFile, TargetsErrors> {
    let one = |e| TargetsErrors {
        name: file.name.clone(),
        errors: vec![e],
    };
    let raw: RawFile = file.parse_toml().map_err(one)?;
    let mut errors = Vec::new();
    let mut err = |span: Range<usize>, msg: String, help: Option<String>| {
        errors.push(file.error_at(span, msg, help));
    };
    let mut duration = |s: &Option<S>, what: &str, min: Duration, max: Duration, default| {
        let Some(s) = s else { return default };
        match parse_duration(s.get_ref()) {
            Ok(d) if d >= min && d <= max => d,
            Ok(_) => {
                err(
                    s.span(),
                    format!("{what} must be between {min:?} and {max:?}"),
                    None,
                );
                default
            }
            Err(m) => {
                err(s.span(), format!("bad {what}: {m}"), None);
                default
            }
        }
    };
    let (interval, timeout) = match &raw.console {
        Some(c) => (
            duration(
                &c.interval,
                "interval",
                Duration::from_millis(250),
                Duration::from_secs(3600),
                DEFAULT_INTERVAL,
            ),
            duration(
                &c.timeout,
                "timeout",
                Duration::from_millis(100),
                Duration::from_secs(60),
                DEFAULT_TIMEOUT,
            ),
        ),
        None => (DEFAULT_INTERVAL, DEFAULT_TIMEOUT),
    };
    let mut targets = Vec::new();
    for (name, t) in &raw.targets {
        let ok_name = !name.get_ref().is_empty()
            && name
                .get_ref()
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
        if !ok_name {
            err(
                name.span(),
                format!(
                    "target name {:?}: use letters, digits, - _ .",
                    name.get_ref()
                ),
                None,
            );
        }
        let t = t.get_ref();
        let kind = match t.kind.get_ref().as_str() {
            "postgres" => TargetKind::Postgres,
            "prometheus" => {
                if t.url.is_none() {
                    err(
                        t.kind.span(),
                        "a prometheus target needs `url`".into(),
                        Some(format!(
                            "url = \"env:PROM_URL\" with PROM_URL=http://prometheus:9090 ({SECRET_HELP})"
                        )),
                    );
                }
                TargetKind::Prometheus
            }
            other => {
                let known = ["kubernetes", "http", "sim"].contains(&other);
                err(
                    t.kind.span(),
                    format!(
                        "the console watches kind \"postgres\" and \"prometheus\" targets, found {other:?}"
                    ),
                    Some(if known {
                        "this kind is not watched by the console yet; leave it to the plan".into()
                    } else {
                        "kind = \"postgres\" or kind = \"prometheus\"".into()
                    }),
                );
                TargetKind::Postgres
            }
        };
        let url = match &t.url {
            None => None,
            Some(u) => match SecretRef::parse(u.get_ref()) {
                Some(Ok(r)) => Some(r),
                Some(Err(m)) => {
                    err(u.span(), format!("bad url: {m}"), Some(SECRET_HELP.into()));
                    None
                }
                None => {
                    err(
                        u.span(),
                        "inline url: secrets come from env: or file:".into(),
                        Some(format!(
                            "put the URL in an environment variable and write \"env:NAME\", or leave url out to use PGHOST, PGUSER… ({SECRET_HELP})"
                        )),
                    );
                    None
                }
            },
        };
        targets.push(WatchTarget {
            name: name.get_ref().clone(),
            kind,
            url,
        });
    }
    if raw.targets.is_empty() {
        err(
            0..0,
            "no targets: declare at least one [targets.NAME] with kind = \"postgres\" or \"prometheus\"".into(),
            None,
        );
    }
    if errors.is_empty() {
        Ok(TargetsFile {
            interval,
            timeout,
            targets,
        })
    } else {
        errors.sort_by_key(|e| (e.line, e.col));
        Err(TargetsErrors {
            name: file.name.clone(),
            errors,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(text: &str) -> Result<TargetsFile, TargetsErrors> {
        parse(&SourceFile::new("c.toml", text))
    }

    #[test]
    fn targets_with_and_without_url_and_console_settings() {
        let f = parse_str(
            "[console]\ninterval = \"1s\"\n\n[targets.db]\nkind = \"postgres\"\nurl = \"env:DB_URL\"\n\n[targets.local]\nkind = \"postgres\"\n",
        )
        .unwrap();
        assert_eq!(f.interval, Duration::from_secs(1));
        assert_eq!(f.timeout, DEFAULT_TIMEOUT);
        assert_eq!(f.targets.len(), 2);
        assert_eq!(f.targets[0].url, Some(SecretRef::Env("DB_URL".into())));
        assert_eq!(f.targets[1].name, "local");
        assert_eq!(f.targets[1].url, None);
    }

    #[test]
    fn a_prometheus_target_needs_its_url() {
        let f = parse_str("[targets.metrics]\nkind = \"prometheus\"\nurl = \"env:PROM_URL\"\n")
            .unwrap();
        assert_eq!(f.targets[0].kind, TargetKind::Prometheus);
        assert_eq!(f.targets[0].url, Some(SecretRef::Env("PROM_URL".into())));
        let e = parse_str("[targets.metrics]\nkind = \"prometheus\"\n").unwrap_err();
        assert!(
            e.errors[0]
                .line_form()
                .starts_with("c.toml:2:8: a prometheus target needs `url`"),
            "{:?}",
            e.errors
        );
    }

    #[test]
    fn every_error_is_located_and_reported() {
        let e = parse_str(
            "[console]\ninterval = \"1 fortnight\"\n[targets.db]\nkind = \"kubernetes\"\nurl = \"postgres://u:p@h/db\"\n",
        )
        .unwrap_err();
        let lines: Vec<String> = e.errors.iter().map(|e| e.line_form()).collect();
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert!(
            lines[0].starts_with("c.toml:2:12: bad interval"),
            "{lines:?}"
        );
        assert!(
            lines[1].starts_with("c.toml:4:8: the console watches"),
            "{lines:?}"
        );
        assert!(lines[2].starts_with("c.toml:5:7: inline url"), "{lines:?}");
    }
}
