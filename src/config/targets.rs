//! The console's targets file: `[targets.NAME]` as plans declare them (postgres, `url`
//! optional: the libpq environment; prometheus, `url` required; kubernetes) and `[console]`.
//!
//! ```toml
//! [console]
//! interval = "2s"   # how often each target is observed (250ms–1h)
//! timeout = "2s"    # connect and query timeout per observation (100ms–1m)
//!
//! [targets.db]
//! kind = "postgres"
//! url = "env:ORDERS_DB_URL"   # absent: the libpq environment
//!
//! [targets.replica]
//! kind = "postgres"
//! url = "postgres://ebb@db-2.internal/orders?sslmode=verify-full"  # inline: no password
//!
//! [targets.metrics]
//! kind = "prometheus"
//! url = "env:PROM_URL"
//! ca = "file:/etc/ssl/internal-ca.pem"   # optional: trusted besides the system's roots
//!
//! [targets.k8s]
//! kind = "kubernetes"
//! url = "file:/etc/ebb/kubeconfig"   # or env:NAME (a path list); absent: KUBECONFIG, ~/.kube/config, in-cluster
//! context = "prod"                   # optional; default: the kubeconfig's current context
//! namespace = "orders"               # optional; default: the context's, else "default"
//! ```

use std::collections::BTreeMap;
use std::ops::Range;
use std::time::Duration;

use miette::Diagnostic;
use serde::Deserialize;
use toml::Spanned;

use super::secrets::SECRET_HELP;
use crate::diag::{LocatedError, SourceFile};
use crate::plan::secret::{CA_HELP, parse_ca};
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

/// One server or namespace to watch: PostgreSQL, Prometheus or Kubernetes.
#[derive(Clone, Debug, PartialEq)]
pub struct WatchTarget {
    pub name: String,
    /// `Postgres`, `Prometheus` or `Kubernetes`.
    pub kind: TargetKind,
    /// Postgres: the URL, `None` for the libpq environment (PGHOST, PGUSER, …); a
    /// prometheus target always has one. Kubernetes: the kubeconfig (`file:` or an `env:`
    /// path list), `None` as kubectl.
    pub url: Option<SecretRef>,
    /// Prometheus only: a PEM file of CAs trusted besides the system's roots.
    pub ca: Option<std::path::PathBuf>,
    /// Kubernetes only: the kubeconfig context and the namespace.
    pub context: Option<String>,
    pub namespace: Option<String>,
}

/// Every error of one targets file, in file order.
#[derive(Debug, thiserror::Error)]
#[error("{name}: {} error{} in the console file", errors.len(), if errors.len() == 1 { "" } else { "s" })]
pub struct TargetsErrors {
    pub name: String,
    pub errors: Vec<LocatedError>,
}

/// A report shows the first errors of a flood, then how many more, as plan reports do.
impl Diagnostic for TargetsErrors {
    fn help<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        let max = crate::diag::MAX_ERRORS_SHOWN;
        match self.errors.len().saturating_sub(max) {
            0 => None,
            n => Some(Box::new(format!("the first {max} are shown, and {n} more"))),
        }
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn Diagnostic> + 'a>> {
        Some(Box::new(
            self.errors
                .iter()
                .take(crate::diag::MAX_ERRORS_SHOWN)
                .map(|e| e as &dyn Diagnostic),
        ))
    }
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
    ca: Option<S>,
    context: Option<S>,
    namespace: Option<S>,
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
            "kubernetes" => TargetKind::Kubernetes,
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
                let known = ["http", "sim"].contains(&other);
                err(
                    t.kind.span(),
                    format!(
                        "the console watches kind \"postgres\", \"prometheus\" and \"kubernetes\" targets, found {other:?}"
                    ),
                    Some(if known {
                        "this kind is not watched by the console yet; leave it to the plan".into()
                    } else {
                        "kind = \"postgres\", \"prometheus\" or \"kubernetes\"".into()
                    }),
                );
                TargetKind::Postgres
            }
        };
        let kube_only =
            |field: &Option<S>,
             what: &str,
             errors: &mut dyn FnMut(Range<usize>, String, Option<String>)| {
                match field {
                    Some(v) if kind != TargetKind::Kubernetes => {
                        errors(
                            v.span(),
                            format!("`{what}` is for kind = \"kubernetes\" targets"),
                            None,
                        );
                        None
                    }
                    Some(v)
                        if !crate::plan::overrides::is_dns_label(v.get_ref())
                            && what == "namespace" =>
                    {
                        errors(
                            v.span(),
                            format!(
                                "namespace {:?}: lower-case letters, digits and -, at most 63",
                                v.get_ref()
                            ),
                            None,
                        );
                        None
                    }
                    Some(v) if v.get_ref().is_empty() => {
                        errors(v.span(), format!("empty `{what}`"), None);
                        None
                    }
                    Some(v) => Some(v.get_ref().clone()),
                    None => None,
                }
            };
        let context = kube_only(&t.context, "context", &mut err);
        let namespace = kube_only(&t.namespace, "namespace", &mut err);
        let url = match &t.url {
            None => None,
            Some(u) => match SecretRef::parse(u.get_ref()) {
                Some(Ok(r)) => Some(r),
                Some(Err(m)) => {
                    err(u.span(), format!("bad url: {m}"), Some(SECRET_HELP.into()));
                    None
                }
                None if kind == TargetKind::Kubernetes => {
                    err(
                        u.span(),
                        "inline url: a kubernetes target's url names its kubeconfig, as file:PATH or env:NAME".into(),
                        Some(format!(
                            "write \"file:/path/to/kubeconfig\", or leave url out to use KUBECONFIG, ~/.kube/config or the in-cluster account ({SECRET_HELP})"
                        )),
                    );
                    None
                }
                None => match SecretRef::inline(u.get_ref()) {
                    Ok(r) => Some(r),
                    Err(m) => {
                        err(
                            u.span(),
                            m,
                            Some(format!(
                                "put the URL in an environment variable and write \"env:NAME\", or leave url out to use PGHOST, PGUSER… ({SECRET_HELP})"
                            )),
                        );
                        None
                    }
                },
            },
        };
        let ca = match &t.ca {
            None => None,
            Some(c) if kind != TargetKind::Prometheus => {
                err(
                    c.span(),
                    "`ca` is for kind = \"prometheus\" targets (postgres: sslrootcert in the url, or PGSSLROOTCERT)".into(),
                    None,
                );
                None
            }
            Some(c) => match parse_ca(c.get_ref()) {
                Ok(p) => Some(p),
                Err(m) => {
                    err(c.span(), m, Some(CA_HELP.into()));
                    None
                }
            },
        };
        targets.push(WatchTarget {
            name: name.get_ref().clone(),
            kind,
            url,
            ca,
            context,
            namespace,
        });
    }
    if raw.targets.is_empty() {
        err(
            0..0,
            "no targets: declare at least one [targets.NAME] with kind = \"postgres\", \"prometheus\" or \"kubernetes\"".into(),
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
    fn a_flood_of_errors_shows_the_first_fifty_then_a_count() {
        let text: String = (0..80)
            .map(|i| format!("[targets.t{i}]\nkind = \"nope\"\n"))
            .collect();
        let e = parse_str(&text).unwrap_err();
        assert_eq!(e.errors.len(), 80);
        assert_eq!(e.related().map(|r| r.count()), Some(50));
        let help = e.help().map(|h| h.to_string()).unwrap_or_default();
        assert_eq!(help, "the first 50 are shown, and 30 more");
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
    fn inline_urls_without_a_password_and_a_prometheus_ca() {
        let dir = tempfile::tempdir().unwrap();
        let ca = dir.path().join("ca.pem");
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["ca".to_string()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        std::fs::write(&ca, cert.pem()).unwrap();
        let text = format!(
            "[targets.db]\nkind = \"postgres\"\nurl = \"postgres://ebb@db.internal/orders?sslmode=verify-full\"\n\n\
             [targets.metrics]\nkind = \"prometheus\"\nurl = \"https://prometheus.internal:9090\"\nca = \"file:{}\"\n",
            ca.display()
        );
        let f = parse_str(&text).unwrap();
        assert_eq!(
            f.targets[0].url,
            Some(SecretRef::Inline(
                "postgres://ebb@db.internal/orders?sslmode=verify-full".into()
            ))
        );
        assert_eq!(f.targets[1].ca, Some(ca));
        let e = parse_str(
            "[targets.db]\nkind = \"postgres\"\nurl = \"postgres://ebb@db/orders?password=x\"\nca = \"file:/x.pem\"\n",
        )
        .unwrap_err();
        let lines: Vec<String> = e.errors.iter().map(|e| e.line_form()).collect();
        assert!(
            lines[0]
                .starts_with("c.toml:3:7: inline url with a token (query parameter `password`)"),
            "{lines:?}"
        );
        assert!(
            lines[1].starts_with("c.toml:4:6: `ca` is for kind = \"prometheus\" targets"),
            "{lines:?}"
        );
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
            "[console]\ninterval = \"1 fortnight\"\n[targets.db]\nkind = \"http\"\nurl = \"postgres://u:p@h/db\"\n",
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

    #[test]
    fn kubernetes_targets_with_kubeconfig_context_and_namespace() {
        let f = parse_str(
            "[targets.k8s]\nkind = \"kubernetes\"\nurl = \"file:/etc/kube.conf\"\ncontext = \"prod\"\nnamespace = \"shop\"\n\n[targets.local]\nkind = \"kubernetes\"\n",
        )
        .unwrap();
        let k = &f.targets[0];
        assert_eq!(k.kind, TargetKind::Kubernetes);
        assert_eq!(k.url, Some(SecretRef::File("/etc/kube.conf".into())));
        assert_eq!(k.context.as_deref(), Some("prod"));
        assert_eq!(k.namespace.as_deref(), Some("shop"));
        assert_eq!(f.targets[1].url, None);
    }

    #[test]
    fn kubernetes_mistakes_are_located() {
        let e = parse_str(
            "[targets.db]\nkind = \"postgres\"\nnamespace = \"shop\"\n\n[targets.k8s]\nkind = \"kubernetes\"\nurl = \"https://10.0.0.1:6443\"\nnamespace = \"Shop_Prod\"\ncontext = \"\"\n",
        )
        .unwrap_err();
        let lines: Vec<String> = e.errors.iter().map(|e| e.line_form()).collect();
        assert_eq!(lines.len(), 4, "{lines:?}");
        assert!(
            lines[0].starts_with("c.toml:3:13: `namespace` is for kind = \"kubernetes\""),
            "{lines:?}"
        );
        assert!(
            lines[1].starts_with("c.toml:7:7: inline url: a kubernetes target"),
            "{lines:?}"
        );
        assert!(
            lines[2].starts_with("c.toml:8:13: namespace \"Shop_Prod\""),
            "{lines:?}"
        );
        assert!(
            lines[3].starts_with("c.toml:9:11: empty `context`"),
            "{lines:?}"
        );
    }
}
