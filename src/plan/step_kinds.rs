//! Step kinds: the fields and target kind each takes, and how a step's (or an undo's)
//! parameters become a typed `StepKind`.

use std::collections::BTreeMap;
use std::ops::Range;

use toml::Spanned;

use super::model::{
    HeaderValue, HttpRequest, HttpUrl, Revision, SimAction, StepKind, TargetKind, Throttle,
};
use super::raw::{RawRequest, RawStep, S};
use super::values::Ctx;
use crate::suggest::did_you_mean;

use TargetKind::{Http, Kubernetes, Postgres, Sim};

/// Whether a step's target is required, optional or refused.
#[derive(Clone, Copy, PartialEq)]
enum TargetUse {
    None,
    Optional(&'static [TargetKind]),
    Required(&'static [TargetKind]),
}

struct Spec {
    name: &'static str,
    required: &'static [&'static str],
    optional: &'static [&'static str],
    target: TargetUse,
}

const fn spec(
    name: &'static str,
    required: &'static [&'static str],
    optional: &'static [&'static str],
    target: TargetUse,
) -> Spec {
    Spec {
        name,
        required,
        optional,
        target,
    }
}

const SIM: TargetUse = TargetUse::Required(&[Sim]);

const SPECS: &[Spec] = &[
    spec("manual", &[], &["instruction"], TargetUse::None),
    spec("wait", &["check"], &[], TargetUse::None),
    spec("verify", &["checks"], &[], TargetUse::None),
    spec("sql", &["statement"], &[], TargetUse::Required(&[Postgres])),
    spec(
        "sql_batches",
        &["table", "key", "batch", "statement"],
        &["throttle"],
        TargetUse::Required(&[Postgres]),
    ),
    spec(
        "statefulset_rollback",
        &["statefulset"],
        &["to_revision"],
        TargetUse::Required(&[Kubernetes]),
    ),
    spec(
        "scale",
        &["object", "replicas"],
        &[],
        TargetUse::Required(&[Kubernetes]),
    ),
    spec(
        "patch",
        &["object", "patch"],
        &[],
        TargetUse::Required(&[Kubernetes]),
    ),
    spec(
        "snapshot",
        &["volume"],
        &[],
        TargetUse::Required(&[Kubernetes]),
    ),
    spec(
        "http",
        &["request"],
        &["expect_status"],
        TargetUse::Optional(&[Http]),
    ),
    spec("sim.pause_backfill", &[], &[], SIM),
    spec("sim.resume_backfill", &[], &[], SIM),
    spec("sim.set_batch_size", &["batch"], &[], SIM),
    spec("sim.revert_app", &[], &["to_revision"], SIM),
    spec("sim.set_partition", &["partition"], &[], SIM),
    spec("sim.down_migration", &["migration"], &[], SIM),
    spec("sim.set_flag", &["flag", "enabled"], &[], SIM),
    spec("sim.snapshot", &["volume"], &[], SIM),
    spec("sim.drop_slot", &["slot"], &[], SIM),
    spec("sim.create_slot", &["slot"], &["replica"], SIM),
    spec("sim.pause_replay", &["replica"], &[], SIM),
    spec("sim.resume_replay", &["replica"], &[], SIM),
];

/// Names of every step kind, for messages and suggestions.
pub fn step_kind_names() -> impl Iterator<Item = &'static str> {
    SPECS.iter().map(|s| s.name)
}

/// Header names whose values are credentials and so must come from env: or file:.
fn is_credential_header(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    [
        "authorization",
        "cookie",
        "token",
        "secret",
        "key",
        "auth",
        "password",
    ]
    .iter()
    .any(|w| n.contains(w))
}

/// Where a set of parameters sits, for messages and the rules that differ.
pub(super) struct Place {
    /// `a \`sql\` step` or `the undo of a \`sql\` step`.
    pub(super) is_undo: bool,
    /// The table's span (for missing fields).
    pub(super) span: Range<usize>,
    /// Kind to use when the table names none (an undo takes its step's kind).
    pub(super) default_kind: Option<String>,
    /// Target to use when the table names none (an undo acts on its step's target).
    pub(super) default_target: Option<S>,
}

impl Ctx<'_> {
    /// Reads the kind and parameters of a step or undo; returns the target it acts on too.
    pub(super) fn action(
        &mut self,
        raw: &RawStep,
        place: &Place,
    ) -> Option<(Option<String>, StepKind)> {
        let kind_name = match (&raw.kind, &place.default_kind) {
            (Some(k), _) => k.get_ref().clone(),
            (None, Some(k)) => k.clone(),
            (None, None) => {
                self.err(
                    place.span.clone(),
                    "missing field `kind`",
                    Some(format!(
                        "step kinds: {}",
                        step_kind_names().collect::<Vec<_>>().join(", ")
                    )),
                );
                return None;
            }
        };
        let Some(spec) = SPECS.iter().find(|s| s.name == kind_name) else {
            let span = raw
                .kind
                .as_ref()
                .map(|k| k.span())
                .unwrap_or(place.span.clone());
            let help = did_you_mean(&kind_name, step_kind_names()).unwrap_or_else(|| {
                format!(
                    "step kinds: {}",
                    step_kind_names().collect::<Vec<_>>().join(", ")
                )
            });
            self.err(span, format!("unknown step kind {kind_name:?}"), Some(help));
            return None;
        };
        let what = if place.is_undo {
            format!("an undo of kind `{kind_name}`")
        } else {
            format!("a `{kind_name}` step")
        };
        let params = raw.params();
        // An http undo may be the request itself: method, url, json, headers.
        let inline_request = place.is_undo && spec.name == "http" && raw.request.is_none();
        let (required, mut allowed): (Vec<&str>, Vec<&str>) = if inline_request {
            (
                vec!["url"],
                vec!["method", "url", "json", "headers", "expect_status"],
            )
        } else {
            (
                spec.required.to_vec(),
                spec.required.iter().chain(spec.optional).copied().collect(),
            )
        };
        if spec.name == "manual" {
            allowed.push("instruction");
        }
        self.refuse_fields(&params, &allowed, &what);
        let mut complete = self.require(&params, &required, &what, place.span.clone());
        if spec.name == "manual" && raw.instruction.is_none() && raw.description.is_none() {
            self.err(
                place.span.clone(),
                format!(
                    "{what} needs `instruction` or `description`: what should the responder do?"
                ),
                None,
            );
            complete = false;
        }
        let target = self.step_target(raw, place, spec, &what);
        if !complete {
            return None;
        }
        let kind = self.params(raw, spec.name, inline_request)?;
        Some((target?, kind))
    }

    /// The target the action uses, checked against the kind: `Some(None)` for none.
    fn step_target(
        &mut self,
        raw: &RawStep,
        place: &Place,
        spec: &Spec,
        what: &str,
    ) -> Option<Option<String>> {
        let given = raw.target.as_ref().or(place.default_target.as_ref());
        match (spec.target, given) {
            (TargetUse::None, None) => Some(None),
            (TargetUse::None, Some(t)) => {
                if raw.target.is_some() {
                    self.err(
                        t.span(),
                        format!("{what} takes no `target`"),
                        Some("its checks name their own targets".into()),
                    );
                    return None;
                }
                Some(None)
            }
            (TargetUse::Optional(_), None) => Some(None),
            (TargetUse::Required(_), None) => {
                self.err(place.span.clone(), format!("{what} needs `target`"), None);
                None
            }
            (TargetUse::Optional(kinds) | TargetUse::Required(kinds), Some(t))
                if raw.target.is_some() =>
            {
                self.target(t, kinds, what).map(Some)
            }
            // Inherited from the step: its own errors were reported with the step.
            (TargetUse::Optional(kinds) | TargetUse::Required(kinds), Some(t)) => {
                let kind = (*self.targets.get(t.get_ref())?)?;
                if kinds.contains(&kind) {
                    return Some(Some(t.get_ref().clone()));
                }
                let want: Vec<&str> = kinds.iter().map(|k| k.name()).collect();
                self.err(
                    place.span.clone(),
                    format!(
                        "{what} needs a target of kind {}, but the step's target {:?} is {}",
                        want.join(" or "),
                        t.get_ref(),
                        kind.name()
                    ),
                    Some("set `target` in the undo".into()),
                );
                None
            }
        }
    }

    /// The typed parameters of a kind whose required fields are present.
    fn params(&mut self, raw: &RawStep, kind: &str, inline_request: bool) -> Option<StepKind> {
        let text = |s: &Option<S>| s.as_ref().map(|s| s.get_ref().clone());
        let sim = |a: SimAction| Some(StepKind::Sim(a));
        match kind {
            "manual" => Some(StepKind::Manual {
                instruction: text(&raw.instruction).or(text(&raw.description))?,
            }),
            "wait" => Some(StepKind::Wait {
                check: self.check(raw.check.as_ref()?)?,
            }),
            "verify" => {
                let list = raw.checks.as_ref()?;
                if list.get_ref().is_empty() {
                    self.err(list.span(), "`checks` is empty: verify what?", None);
                    return None;
                }
                let n = list.get_ref().len();
                let checks = self.checks(list.get_ref());
                (checks.len() == n).then_some(StepKind::Verify { checks })
            }
            "sql" => Some(StepKind::Sql {
                statement: self.nonempty(raw.statement.as_ref()?, "statement")?,
            }),
            "sql_batches" => {
                let batch = self.count(raw.batch.as_ref()?, "batch", 1);
                let throttle = match &raw.throttle {
                    Some(t) => self.throttle(t),
                    None => Some(Throttle::default()),
                };
                let statement = self.nonempty(raw.statement.as_ref()?, "statement")?;
                Some(StepKind::SqlBatches {
                    table: text(&raw.table)?,
                    key: text(&raw.key)?,
                    batch: batch?,
                    statement,
                    throttle: throttle?,
                })
            }
            "statefulset_rollback" => Some(StepKind::StatefulsetRollback {
                statefulset: text(&raw.statefulset)?,
                to_revision: revision(&raw.to_revision),
            }),
            "scale" => {
                let object = self.object(raw.object.as_ref()?);
                let replicas = self.count32(raw.replicas.as_ref()?, "replicas", 0);
                Some(StepKind::Scale {
                    object: object?,
                    replicas: replicas?,
                })
            }
            "patch" => {
                let object = self.object(raw.object.as_ref()?);
                let patch = raw.patch.as_ref()?;
                if !patch.get_ref().is_table() {
                    self.err(
                        patch.span(),
                        "`patch` must be a table (a JSON merge patch)",
                        None,
                    );
                    return None;
                }
                Some(StepKind::Patch {
                    object: object?,
                    patch: self.json(patch)?,
                })
            }
            "snapshot" => Some(StepKind::Snapshot {
                volume: text(&raw.volume)?,
            }),
            "http" => {
                let request = if inline_request {
                    self.request(&raw.method, raw.url.as_ref()?, &raw.json, &raw.headers)?
                } else {
                    let r: &Spanned<RawRequest> = raw.request.as_ref()?;
                    let r = r.get_ref();
                    let headers = r.headers.as_ref().map(|h| Spanned::new(0..0, h.clone()));
                    self.request(&r.method, &r.url, &r.json, &headers)?
                };
                let expect_status = match &raw.expect_status {
                    Some(s) if !(100..=599).contains(s.get_ref()) => {
                        self.err(
                            s.span(),
                            format!("{} is not an HTTP status", s.get_ref()),
                            None,
                        );
                        return None;
                    }
                    Some(s) => u16::try_from(*s.get_ref()).ok(),
                    None => None,
                };
                Some(StepKind::Http {
                    request,
                    expect_status,
                })
            }
            "sim.pause_backfill" => sim(SimAction::PauseBackfill),
            "sim.resume_backfill" => sim(SimAction::ResumeBackfill),
            "sim.set_batch_size" => sim(SimAction::SetBatchSize {
                batch: self.count(raw.batch.as_ref()?, "batch", 1)?,
            }),
            "sim.revert_app" => sim(SimAction::RevertApp {
                to_revision: revision(&raw.to_revision),
            }),
            "sim.set_partition" => sim(SimAction::SetPartition {
                partition: self.count32(raw.partition.as_ref()?, "partition", 0)?,
            }),
            "sim.down_migration" => sim(SimAction::DownMigration {
                migration: text(&raw.migration)?,
            }),
            "sim.set_flag" => sim(SimAction::SetFlag {
                flag: text(&raw.flag)?,
                enabled: *raw.enabled.as_ref()?.get_ref(),
            }),
            "sim.snapshot" => sim(SimAction::Snapshot {
                volume: text(&raw.volume)?,
            }),
            "sim.drop_slot" => sim(SimAction::DropSlot {
                slot: text(&raw.slot)?,
            }),
            "sim.create_slot" => sim(SimAction::CreateSlot {
                slot: text(&raw.slot)?,
                replica: text(&raw.replica),
            }),
            "sim.pause_replay" => sim(SimAction::PauseReplay {
                replica: text(&raw.replica)?,
            }),
            "sim.resume_replay" => sim(SimAction::ResumeReplay {
                replica: text(&raw.replica)?,
            }),
            _ => None,
        }
    }

    fn nonempty(&mut self, s: &S, what: &str) -> Option<String> {
        if s.get_ref().trim().is_empty() {
            self.err(s.span(), format!("`{what}` is empty"), None);
            return None;
        }
        Some(s.get_ref().clone())
    }

    /// `KIND/NAME`, e.g. `deployment/orders-worker`.
    fn object(&mut self, s: &S) -> Option<String> {
        match s.get_ref().split_once('/') {
            Some((k, n)) if !k.is_empty() && !n.is_empty() && !n.contains('/') => {
                Some(s.get_ref().clone())
            }
            _ => {
                self.err(
                    s.span(),
                    format!("bad object {:?}: expected KIND/NAME", s.get_ref()),
                    Some("e.g. \"deployment/orders-worker\" or \"statefulset/orders-db\"".into()),
                );
                None
            }
        }
    }

    fn json(&mut self, v: &Spanned<toml::Value>) -> Option<serde_json::Value> {
        match serde_json::to_value(v.get_ref()) {
            Ok(j) => Some(j),
            Err(e) => {
                self.err(v.span(), format!("cannot be sent as JSON: {e}"), None);
                None
            }
        }
    }

    fn throttle(&mut self, t: &Spanned<super::raw::RawThrottle>) -> Option<Throttle> {
        let t = t.get_ref();
        let lag = match &t.max_replication_lag {
            Some(l) => Some(self.duration(l, "max_replication_lag")?),
            None => None,
        };
        let rate = match &t.max_rows_per_second {
            Some(r) => Some(self.count(r, "max_rows_per_second", 1)?),
            None => None,
        };
        Some(Throttle {
            max_replication_lag: lag,
            max_rows_per_second: rate,
        })
    }

    fn request(
        &mut self,
        method: &Option<S>,
        url: &S,
        json: &Option<Spanned<toml::Value>>,
        headers: &Option<Spanned<BTreeMap<S, S>>>,
    ) -> Option<HttpRequest> {
        const METHODS: [&str; 6] = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"];
        let method = match method {
            None => "POST".to_string(),
            Some(m) if METHODS.contains(&m.get_ref().to_ascii_uppercase().as_str()) => {
                m.get_ref().to_ascii_uppercase()
            }
            Some(m) => {
                self.err(
                    m.span(),
                    format!("unknown HTTP method {:?}", m.get_ref()),
                    Some(format!("one of {}", METHODS.join(", "))),
                );
                return None;
            }
        };
        let url = if url.get_ref().starts_with('/') {
            HttpUrl::Path(url.get_ref().clone())
        } else {
            HttpUrl::Secret(self.secret(url, "url")?)
        };
        let json = match json {
            Some(j) => Some(self.json(j)?),
            None => None,
        };
        let mut out = BTreeMap::new();
        let mut ok = true;
        for (name, value) in headers.iter().flat_map(|h| h.get_ref().iter()) {
            let v = match Ctx::secret_ref(value.get_ref()) {
                Some(_) => self.secret(value, "header value").map(HeaderValue::Secret),
                None if is_credential_header(name.get_ref()) => self
                    .secret(value, &format!("`{}` header", name.get_ref()))
                    .map(HeaderValue::Secret),
                None => Some(HeaderValue::Plain(value.get_ref().clone())),
            };
            match v {
                Some(v) => {
                    out.insert(name.get_ref().clone(), v);
                }
                None => ok = false,
            }
        }
        ok.then_some(HttpRequest {
            method,
            url,
            json,
            headers: out,
        })
    }
}

fn revision(s: &Option<S>) -> Revision {
    match s.as_ref().map(|s| s.get_ref().as_str()) {
        None | Some("previous") => Revision::Previous,
        Some(name) => Revision::Named(name.to_string()),
    }
}
