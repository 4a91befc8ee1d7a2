//! Rollback plans: the TOML file model, its validation into typed structs (every error
//! located, all reported at once), the canonical digest, and the outline the Plan pane shows.
//!
//! Format decisions (examples/plans/ has a plan per built-in scenario, on real kinds):
//! - `[targets.NAME]`: `kind` postgres | kubernetes | prometheus | http | sim. `url` is
//!   required for postgres, prometheus and http, optional for kubernetes (a kubeconfig),
//!   refused for sim, and is always `env:NAME` or `file:PATH`, never inline. Kubernetes
//!   takes `context` and `namespace`; sim requires `object`.
//! - A step's target must be of the kind its step kind acts on (`sql*` postgres; scale,
//!   patch, snapshot, statefulset_rollback kubernetes; `sim.*` sim; http optional http).
//!   Checks also accept `sim` targets, except `sql` and `promql`.
//! - `undo` is a table in the step's own shape; `kind` defaults to the step's kind and
//!   `target` to the step's target (no other field is inherited). An http undo is the
//!   request itself (`{ method, url, json, headers }`); `undo = "auto"` only for `patch`.
//! - http `url` is `env:`/`file:`, or a `/path` under the step's http target's URL;
//!   credential-like headers (Authorization, Cookie, *token*, *key*…) must be env:/file:.
//! - `manual` takes `instruction` or falls back to `description`; `wait` takes `check` and
//!   needs `timeout`; `verify` takes `checks = [...]`. `method` defaults to POST.
//! - `on_failure = "rollback"` needs an `undo` on a step that changes state; on read-only
//!   steps (manual, wait, verify, snapshot) it needs an earlier step with an `undo`.
//! - Defaults: retries 0, backoff 1s (doubling), on_failure pause, volume_usage max 95%,
//!   error_rate max 1%, row_count tolerance 0.1%, promql op `<`.

pub mod bind;
mod check_kinds;
pub mod digest;
mod keys;
mod model;
pub mod outline;
pub mod overrides;
mod raw;
pub mod secret;
pub mod shown;
mod step_kinds;
mod validate;
mod values;

use std::path::Path;

pub use check_kinds::{Check, CheckKind, CompareOp, check_kind_names};
pub use model::{
    Gate, HeaderValue, HttpRequest, HttpUrl, OnDetach, OnFailure, Plan, Revision, SecretRef,
    SimAction, Step, StepKind, Target, TargetKind, Throttle, Undo,
};
pub use outline::{PlanOutline, StepMark, StepOutline};
pub use step_kinds::step_kind_names;

use crate::diag::{LocatedError, SourceFile};

/// Every error of one plan file, in file order (shown: the first
/// [`shown::MAX_ERRORS_SHOWN`], then a count; see `shown.rs`).
#[derive(Debug, thiserror::Error)]
#[error("{name}: {} error{} in the plan", errors.len(), if errors.len() == 1 { "" } else { "s" })]
pub struct PlanErrors {
    pub name: String,
    pub errors: Vec<LocatedError>,
}

impl PlanErrors {
    fn one(name: &str, e: LocatedError) -> Self {
        PlanErrors {
            name: name.to_string(),
            errors: vec![e],
        }
    }
}

impl Plan {
    /// Parses and validates a plan. A TOML syntax error, an unknown key or a value of the
    /// wrong type stops at that one error; semantic errors are all collected.
    pub fn parse(file: &SourceFile) -> Result<Plan, PlanErrors> {
        // Unknown keys are found by a walk of their own, so one of them never hides the
        // file's other errors; the typed parse below ignores them.
        let mut errors = keys::unknown_keys(file);
        let all = |mut errors: Vec<LocatedError>, more: Vec<LocatedError>| {
            errors.extend(more);
            errors.sort_by_key(|e| (e.line, e.col));
            PlanErrors {
                name: file.name.clone(),
                errors,
            }
        };
        let raw: raw::RawPlan = match file.parse_toml() {
            Ok(raw) => raw,
            Err(e) => return Err(all(errors, vec![e])),
        };
        let table: toml::Table = file
            .parse_toml()
            .map_err(|e| PlanErrors::one(&file.name, e))?;
        let digest = digest::digest_table(&table);
        match values::Ctx::new(file).build(raw, digest) {
            Ok(plan) if errors.is_empty() => Ok(plan),
            Ok(_) => Err(all(std::mem::take(&mut errors), Vec::new())),
            Err(more) => Err(all(errors, more)),
        }
    }

    /// Reads and validates a plan file; an unreadable file is one error at 1:1.
    pub fn load(path: &Path) -> Result<Plan, PlanErrors> {
        let name = path.display().to_string();
        let file = SourceFile::read(path).map_err(|e| PlanErrors::one(&name, e))?;
        Plan::parse(&file)
    }
}
