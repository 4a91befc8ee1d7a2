//! The plan file exactly as written: serde shapes with spans. Unknown keys are ignored
//! here and reported, all of them, by `keys.rs`, which reads these shapes' field lists.
//! Every step (and every `undo`) shares one flat shape; `validate` checks fields per kind.

use std::collections::BTreeMap;
use std::ops::Range;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use toml::Spanned;

pub(super) type S = Spanned<String>;

#[derive(Deserialize)]
pub(super) struct RawPlan {
    pub(super) plan: Spanned<RawHeader>,
    #[serde(default)]
    pub(super) targets: BTreeMap<S, Spanned<RawTarget>>,
    #[serde(default)]
    pub(super) gate: Vec<Spanned<RawGate>>,
    #[serde(default)]
    pub(super) step: Vec<Spanned<RawStep>>,
}

#[derive(Deserialize)]
pub(super) struct RawHeader {
    pub(super) name: S,
    pub(super) description: Option<S>,
    pub(super) rto: Option<S>,
    pub(super) on_detach: Option<S>,
}

#[derive(Deserialize)]
pub(super) struct RawTarget {
    pub(super) kind: S,
    pub(super) url: Option<S>,
    pub(super) ca: Option<S>,
    pub(super) object: Option<S>,
    pub(super) context: Option<S>,
    pub(super) namespace: Option<S>,
}

#[derive(Deserialize)]
pub(super) struct RawGate {
    pub(super) name: S,
    pub(super) check: Spanned<RawCheck>,
}

/// Every field any check kind takes; which ones a kind accepts is checked semantically.
#[derive(Deserialize)]
pub(super) struct RawCheck {
    pub(super) kind: S,
    pub(super) target: Option<S>,
    pub(super) replica: Option<S>,
    pub(super) volume: Option<S>,
    pub(super) table: Option<S>,
    pub(super) max: Option<S>,
    pub(super) tolerance: Option<S>,
    pub(super) query: Option<S>,
    pub(super) expect: Option<Spanned<toml::Value>>,
    pub(super) op: Option<S>,
    pub(super) threshold: Option<Spanned<f64>>,
    #[serde(rename = "for")]
    pub(super) for_: Option<S>,
    pub(super) is: Option<S>,
}

impl RawCheck {
    /// Fields that are set, other than `kind` and `target`, with their spans.
    pub(super) fn params(&self) -> Vec<(&'static str, Range<usize>)> {
        let mut out = Vec::new();
        let mut s = |name: &'static str, span: Option<Range<usize>>| {
            if let Some(span) = span {
                out.push((name, span));
            }
        };
        s("replica", self.replica.as_ref().map(|v| v.span()));
        s("volume", self.volume.as_ref().map(|v| v.span()));
        s("table", self.table.as_ref().map(|v| v.span()));
        s("max", self.max.as_ref().map(|v| v.span()));
        s("tolerance", self.tolerance.as_ref().map(|v| v.span()));
        s("query", self.query.as_ref().map(|v| v.span()));
        s("expect", self.expect.as_ref().map(|v| v.span()));
        s("op", self.op.as_ref().map(|v| v.span()));
        s("threshold", self.threshold.as_ref().map(|v| v.span()));
        s("for", self.for_.as_ref().map(|v| v.span()));
        s("is", self.is.as_ref().map(|v| v.span()));
        out
    }
}

#[derive(Deserialize)]
pub(super) struct RawRequest {
    pub(super) method: Option<S>,
    pub(super) url: S,
    pub(super) json: Option<Spanned<toml::Value>>,
    pub(super) headers: Option<BTreeMap<S, S>>,
}

#[derive(Deserialize)]
pub(super) struct RawThrottle {
    pub(super) max_replication_lag: Option<S>,
    pub(super) max_rows_per_second: Option<Spanned<i64>>,
}

/// A step's `undo`: `"auto"` (a patch restores what it changed) or an action table.
pub(super) enum RawUndo {
    Auto(S),
    Action(Box<RawStep>),
}

impl<'de> Deserialize<'de> for RawUndo {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawUndo;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("\"auto\" or a table describing the compensating action")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawUndo, A::Error> {
                RawStep::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(|s| RawUndo::Action(Box::new(s)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawUndo, E> {
                // The span is filled in by the caller through `Spanned<RawUndo>`.
                Ok(RawUndo::Auto(Spanned::new(0..0, v.to_string())))
            }
        }
        d.deserialize_any(V)
    }
}

/// Every field any step kind takes (and the same shape for an `undo` action).
#[derive(Deserialize)]
pub(super) struct RawStep {
    // Common to every step.
    pub(super) id: Option<S>,
    pub(super) kind: Option<S>,
    pub(super) target: Option<S>,
    pub(super) description: Option<S>,
    #[serde(default)]
    pub(super) preflight: Vec<Spanned<RawCheck>>,
    #[serde(default)]
    pub(super) postcheck: Vec<Spanned<RawCheck>>,
    pub(super) timeout: Option<S>,
    pub(super) retries: Option<Spanned<u32>>,
    pub(super) backoff: Option<S>,
    pub(super) on_failure: Option<S>,
    pub(super) undo: Option<Spanned<RawUndo>>,

    // Kind-specific parameters.
    pub(super) instruction: Option<S>,
    pub(super) check: Option<Spanned<RawCheck>>,
    pub(super) checks: Option<Spanned<Vec<Spanned<RawCheck>>>>,
    pub(super) statement: Option<S>,
    pub(super) table: Option<S>,
    pub(super) key: Option<S>,
    pub(super) batch: Option<Spanned<i64>>,
    pub(super) throttle: Option<Spanned<RawThrottle>>,
    pub(super) statefulset: Option<S>,
    pub(super) object: Option<S>,
    pub(super) replicas: Option<Spanned<i64>>,
    pub(super) patch: Option<Spanned<toml::Value>>,
    pub(super) volume: Option<S>,
    pub(super) request: Option<Spanned<RawRequest>>,
    pub(super) expect_status: Option<Spanned<i64>>,
    pub(super) to_revision: Option<S>,
    pub(super) partition: Option<Spanned<i64>>,
    pub(super) migration: Option<S>,
    pub(super) flag: Option<S>,
    pub(super) enabled: Option<Spanned<bool>>,
    pub(super) slot: Option<S>,
    pub(super) replica: Option<S>,
    // An http `undo` may be written as the request itself.
    pub(super) method: Option<S>,
    pub(super) url: Option<S>,
    pub(super) json: Option<Spanned<toml::Value>>,
    pub(super) headers: Option<Spanned<BTreeMap<S, S>>>,
}

impl RawStep {
    /// Kind-specific fields that are set, with their spans.
    pub(super) fn params(&self) -> Vec<(&'static str, Range<usize>)> {
        let mut out = Vec::new();
        macro_rules! field {
            ($($f:ident = $name:literal),* $(,)?) => {
                $(if let Some(v) = &self.$f { out.push(($name, v.span())); })*
            };
        }
        field!(
            instruction = "instruction",
            check = "check",
            checks = "checks",
            statement = "statement",
            table = "table",
            key = "key",
            batch = "batch",
            throttle = "throttle",
            statefulset = "statefulset",
            object = "object",
            replicas = "replicas",
            patch = "patch",
            volume = "volume",
            request = "request",
            expect_status = "expect_status",
            to_revision = "to_revision",
            partition = "partition",
            migration = "migration",
            flag = "flag",
            enabled = "enabled",
            slot = "slot",
            replica = "replica",
            method = "method",
            url = "url",
            json = "json",
            headers = "headers",
        );
        out
    }

    /// Fields that belong to a step but not inside an `undo`, with their spans.
    pub(super) fn step_only(&self) -> Vec<(&'static str, Range<usize>)> {
        let mut out = Vec::new();
        macro_rules! field {
            ($($f:ident = $name:literal),* $(,)?) => {
                $(if let Some(v) = &self.$f { out.push(($name, v.span())); })*
            };
        }
        field!(
            id = "id",
            timeout = "timeout",
            retries = "retries",
            backoff = "backoff",
            on_failure = "on_failure",
            undo = "undo",
        );
        if let Some(c) = self.preflight.first() {
            out.push(("preflight", c.span()));
        }
        if let Some(c) = self.postcheck.first() {
            out.push(("postcheck", c.span()));
        }
        out
    }
}
