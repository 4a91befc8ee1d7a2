//! Checks (gates, preflight, postcheck, wait, verify): the typed `CheckKind`s and how each
//! is read from its table, with the fields and target kinds it accepts.

use std::time::Duration;

use toml::Spanned;

use super::model::TargetKind;
use super::raw::RawCheck;
use super::values::Ctx;
use crate::suggest::did_you_mean;

/// A condition on a target that holds or not (or cannot be evaluated: inconclusive).
#[derive(Clone, Debug, PartialEq)]
pub struct Check {
    /// A declared target.
    pub target: String,
    pub kind: CheckKind,
}

#[derive(Clone, Debug, PartialEq)]
pub enum CheckKind {
    /// Lag of `replica` (or of every replica) at most `max`.
    ReplicationLag {
        replica: Option<String>,
        max: Duration,
    },
    /// Used fraction of `volume` at most `max` (a ratio, 0.95 for "95%").
    VolumeUsage { volume: String, max: f64 },
    /// Fraction of failed requests at most `max` (a ratio).
    ErrorRate { max: f64 },
    /// Row count within `tolerance` (a ratio) of the baseline captured at run start.
    RowCount { table: String, tolerance: f64 },
    /// Checksum equal to the baseline captured at run start.
    TableChecksum { table: String },
    /// The first column of the first row of `query` equals `expect`.
    Sql { query: String, expect: toml::Value },
    /// `query`'s value compares to `threshold` with `op`, for at least `for_` if given.
    Promql {
        query: String,
        op: CompareOp,
        threshold: f64,
        for_: Option<Duration>,
    },
    /// The schema's migration version is exactly `is`.
    SchemaVersion { is: String },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompareOp {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
}

impl CompareOp {
    pub const ALL: [(&'static str, CompareOp); 6] = [
        ("<", CompareOp::Lt),
        ("<=", CompareOp::Le),
        (">", CompareOp::Gt),
        (">=", CompareOp::Ge),
        ("==", CompareOp::Eq),
        ("!=", CompareOp::Ne),
    ];

    pub fn holds(self, value: f64, threshold: f64) -> bool {
        match self {
            CompareOp::Lt => value < threshold,
            CompareOp::Le => value <= threshold,
            CompareOp::Gt => value > threshold,
            CompareOp::Ge => value >= threshold,
            CompareOp::Eq => value == threshold,
            CompareOp::Ne => value != threshold,
        }
    }
}

impl CheckKind {
    pub fn name(&self) -> &'static str {
        match self {
            CheckKind::ReplicationLag { .. } => "replication_lag",
            CheckKind::VolumeUsage { .. } => "volume_usage",
            CheckKind::ErrorRate { .. } => "error_rate",
            CheckKind::RowCount { .. } => "row_count",
            CheckKind::TableChecksum { .. } => "table_checksum",
            CheckKind::Sql { .. } => "sql",
            CheckKind::Promql { .. } => "promql",
            CheckKind::SchemaVersion { .. } => "schema_version",
        }
    }
}

use TargetKind::{Kubernetes, Postgres, Prometheus, Sim};

/// Per kind: required fields, optional fields, target kinds it reads.
struct Spec {
    name: &'static str,
    required: &'static [&'static str],
    optional: &'static [&'static str],
    targets: &'static [TargetKind],
}

const SPECS: &[Spec] = &[
    Spec {
        name: "replication_lag",
        required: &["max"],
        optional: &["replica"],
        targets: &[Postgres, Sim],
    },
    Spec {
        name: "volume_usage",
        required: &["volume"],
        optional: &["max"],
        targets: &[Kubernetes, Prometheus, Sim],
    },
    Spec {
        name: "error_rate",
        required: &[],
        optional: &["max"],
        targets: &[Prometheus, Sim],
    },
    Spec {
        name: "row_count",
        required: &["table"],
        optional: &["tolerance"],
        targets: &[Postgres, Sim],
    },
    Spec {
        name: "table_checksum",
        required: &["table"],
        optional: &[],
        targets: &[Postgres, Sim],
    },
    Spec {
        name: "sql",
        required: &["query", "expect"],
        optional: &[],
        targets: &[Postgres],
    },
    Spec {
        name: "promql",
        required: &["query", "threshold"],
        optional: &["op", "for"],
        targets: &[Prometheus],
    },
    Spec {
        name: "schema_version",
        required: &["is"],
        optional: &[],
        targets: &[Postgres, Sim],
    },
];

/// Names of every check kind, for messages and suggestions.
pub fn check_kind_names() -> impl Iterator<Item = &'static str> {
    SPECS.iter().map(|s| s.name)
}

impl Ctx<'_> {
    /// Reads one check; errors are recorded and yield `None`.
    pub(super) fn check(&mut self, raw: &Spanned<RawCheck>) -> Option<Check> {
        let span = raw.span();
        let c = raw.get_ref();
        let kind = c.kind.get_ref().as_str();
        let Some(spec) = SPECS.iter().find(|s| s.name == kind) else {
            let help = did_you_mean(kind, check_kind_names()).unwrap_or_else(|| {
                format!(
                    "check kinds: {}",
                    check_kind_names().collect::<Vec<_>>().join(", ")
                )
            });
            self.err(
                c.kind.span(),
                format!("unknown check kind {kind:?}"),
                Some(help),
            );
            return None;
        };
        let what = format!("a `{kind}` check");
        let params = c.params();
        let allowed: Vec<&str> = spec.required.iter().chain(spec.optional).copied().collect();
        self.refuse_fields(&params, &allowed, &what);
        let complete = self.require(&params, spec.required, &what, span.clone());
        let target = match &c.target {
            Some(t) => self.target(t, spec.targets, &what),
            None => {
                self.err(span, format!("{what} needs `target`"), None);
                None
            }
        };
        if !complete {
            return None;
        }
        let text = |s: &Option<toml::Spanned<String>>| s.as_ref().map(|s| s.get_ref().clone());
        let kind = match kind {
            "replication_lag" => CheckKind::ReplicationLag {
                replica: text(&c.replica),
                max: self.duration(c.max.as_ref()?, "max lag")?,
            },
            "volume_usage" => CheckKind::VolumeUsage {
                volume: text(&c.volume)?,
                max: match &c.max {
                    Some(m) => self.percent(m, "max usage")?,
                    None => 0.95,
                },
            },
            "error_rate" => CheckKind::ErrorRate {
                max: match &c.max {
                    Some(m) => self.percent(m, "max error rate")?,
                    None => 0.01,
                },
            },
            "row_count" => CheckKind::RowCount {
                table: text(&c.table)?,
                tolerance: match &c.tolerance {
                    Some(m) => self.percent(m, "tolerance")?,
                    None => 0.001,
                },
            },
            "table_checksum" => CheckKind::TableChecksum {
                table: text(&c.table)?,
            },
            "sql" => CheckKind::Sql {
                query: text(&c.query)?,
                expect: c.expect.as_ref()?.get_ref().clone(),
            },
            "promql" => {
                let op = match &c.op {
                    None => CompareOp::Lt,
                    Some(o) => match CompareOp::ALL.iter().find(|(n, _)| n == o.get_ref()) {
                        Some((_, op)) => *op,
                        None => {
                            self.err(
                                o.span(),
                                format!("unknown comparison {:?}", o.get_ref()),
                                Some("op is one of <, <=, >, >=, ==, !=".into()),
                            );
                            return None;
                        }
                    },
                };
                let threshold = c.threshold.as_ref()?;
                if !threshold.get_ref().is_finite() {
                    self.err(threshold.span(), "threshold must be a finite number", None);
                    return None;
                }
                let for_ = match &c.for_ {
                    Some(f) => Some(self.duration(f, "`for` duration")?),
                    None => None,
                };
                CheckKind::Promql {
                    query: text(&c.query)?,
                    op,
                    threshold: *threshold.get_ref(),
                    for_,
                }
            }
            "schema_version" => CheckKind::SchemaVersion { is: text(&c.is)? },
            _ => return None,
        };
        Some(Check {
            target: target?,
            kind,
        })
    }

    pub(super) fn checks(&mut self, raw: &[Spanned<RawCheck>]) -> Vec<Check> {
        raw.iter().filter_map(|c| self.check(c)).collect()
    }
}
