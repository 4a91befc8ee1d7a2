//! Semantic checks of a parsed plan file: targets, gates, steps, ids, failure policy and
//! undo. Every error is located and all of them are reported together.

use std::collections::BTreeMap;

use toml::Spanned;

use super::model::{
    Gate, HttpUrl, OnDetach, OnFailure, Plan, Step, StepKind, Target, TargetKind, Undo,
};
use super::raw::{RawPlan, RawStep, RawTarget, RawUndo, S};
use super::step_kinds::{Place, step_kind_names};
use super::values::Ctx;
use crate::diag::LocatedError;
use crate::suggest::did_you_mean;

/// Kinds that change nothing that needs compensating (see `StepKind::changes_state`).
const READ_ONLY_KINDS: [&str; 5] = ["manual", "wait", "verify", "snapshot", "sim.snapshot"];

const DEFAULT_BACKOFF: std::time::Duration = std::time::Duration::from_secs(1);

impl Ctx<'_> {
    /// Builds the typed plan, or every error found (sorted by position).
    pub(super) fn build(mut self, raw: RawPlan, digest: String) -> Result<Plan, Vec<LocatedError>> {
        let header = raw.plan.get_ref();
        let name = header.name.get_ref().clone();
        if name.trim().is_empty() {
            self.err(header.name.span(), "the plan name is empty", None);
        }
        self.printable(&header.name, "the plan name");
        for name in raw.targets.keys() {
            self.printable(name, "a target name");
        }
        for g in &raw.gate {
            self.printable(&g.get_ref().name, "a gate name");
        }
        for s in &raw.step {
            if let Some(id) = &s.get_ref().id {
                self.printable(id, "a step id");
            }
        }
        let rto = header.rto.as_ref().and_then(|r| self.duration(r, "rto"));
        let on_detach = match &header.on_detach {
            None => OnDetach::Pause,
            Some(o) => match OnDetach::ALL.iter().find(|(n, _)| n == o.get_ref()) {
                Some((_, d)) => *d,
                None => {
                    let help = did_you_mean(o.get_ref(), OnDetach::ALL.iter().map(|(n, _)| *n))
                        .unwrap_or_else(|| "on_detach is pause or continue".into());
                    self.err(
                        o.span(),
                        format!("unknown on_detach {:?}", o.get_ref()),
                        Some(help),
                    );
                    OnDetach::Pause
                }
            },
        };

        // Record every declared name first so later references resolve whatever the order.
        for (name, t) in &raw.targets {
            let kind = self.target_kind(&t.get_ref().kind);
            self.targets.insert(name.get_ref().clone(), kind);
        }
        let mut targets = BTreeMap::new();
        for (name, t) in &raw.targets {
            if let Some(t) = self.declared_target(name, t) {
                targets.insert(t.name.clone(), t);
            }
        }

        let mut gates = Vec::new();
        for g in &raw.gate {
            let g = g.get_ref();
            if let Some(check) = self.check(&g.check) {
                gates.push(Gate {
                    name: g.name.get_ref().clone(),
                    check,
                });
            }
        }

        let mut steps = Vec::new();
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        for s in &raw.step {
            if let Some(id) = &s.get_ref().id {
                if let Some(first) = seen.get(id.get_ref()) {
                    self.err(
                        id.span(),
                        format!(
                            "duplicate step id {:?} (first defined on line {first})",
                            id.get_ref()
                        ),
                        Some(
                            "step ids name steps in runs and audit records; make each unique"
                                .into(),
                        ),
                    );
                } else {
                    seen.insert(id.get_ref().clone(), self.line_of(&id.span()));
                }
            }
            let undoable_before = steps.iter().any(|s: &Step| s.undo.is_some());
            if let Some(step) = self.step(s, undoable_before) {
                steps.push(step);
            }
        }
        if raw.step.is_empty() {
            self.err(
                raw.plan.span(),
                "the plan has no steps",
                Some("add at least one [[step]]".into()),
            );
        }

        if !self.errors.is_empty() {
            let mut errors = self.errors;
            errors.sort_by_key(|e| (e.line, e.col));
            return Err(errors);
        }
        Ok(Plan {
            name,
            description: header
                .description
                .as_ref()
                .map(|d| d.get_ref().clone())
                .unwrap_or_default(),
            rto,
            on_detach,
            source_name: self.file.name.clone(),
            targets,
            gates,
            steps,
            digest,
        })
    }

    fn target_kind(&mut self, kind: &S) -> Option<TargetKind> {
        let found = TargetKind::ALL
            .iter()
            .find(|(n, _)| n == kind.get_ref())
            .map(|(_, k)| *k);
        if found.is_none() {
            let names = TargetKind::ALL.iter().map(|(n, _)| *n);
            let help = did_you_mean(kind.get_ref(), names).unwrap_or_else(|| {
                "target kinds: postgres, kubernetes, prometheus, http, sim".into()
            });
            self.err(
                kind.span(),
                format!("unknown target kind {:?}", kind.get_ref()),
                Some(help),
            );
        }
        found
    }

    /// Names and ids are shown on terminals and written in audit records: a control or
    /// bidi character in one is an error, located at the name.
    fn printable(&mut self, name: &S, what: &str) {
        if let Some(c) = name.get_ref().chars().find(|c| crate::text::is_unsafe(*c)) {
            self.err(
                name.span(),
                format!(
                    "{what} holds the control or bidi character {}",
                    c.escape_unicode()
                ),
                Some("names and ids may hold printable characters only".into()),
            );
        }
    }

    fn declared_target(&mut self, name: &S, t: &Spanned<RawTarget>) -> Option<Target> {
        let kind = (*self.targets.get(name.get_ref())?)?;
        let raw = t.get_ref();
        let what = format!("a `{}` target", kind.name());
        let mut present = Vec::new();
        for (field, value) in [
            ("url", &raw.url),
            ("ca", &raw.ca),
            ("object", &raw.object),
            ("context", &raw.context),
            ("namespace", &raw.namespace),
        ] {
            if let Some(v) = value {
                present.push((field, v.span()));
            }
        }
        let (required, allowed): (&[&str], &[&str]) = match kind {
            TargetKind::Postgres => (&["url"], &["url"]),
            TargetKind::Prometheus | TargetKind::Http => (&["url"], &["url", "ca"]),
            TargetKind::Kubernetes => (&[], &["url", "context", "namespace"]),
            TargetKind::Sim => (&["object"], &["object"]),
        };
        self.refuse_fields(&present, allowed, &what);
        let complete = self.require(&present, required, &what, t.span());
        let url = match &raw.url {
            Some(u) if kind == TargetKind::Kubernetes => Some(self.secret(u, "url")?),
            Some(u) if allowed.contains(&"url") => Some(self.target_url(u)?),
            _ => None,
        };
        let ca = match &raw.ca {
            Some(c) if allowed.contains(&"ca") => Some(self.ca_file(c)?),
            _ => None,
        };
        complete.then(|| Target {
            name: name.get_ref().clone(),
            kind,
            url,
            ca,
            object: raw.object.as_ref().map(|o| o.get_ref().clone()),
            context: raw.context.as_ref().map(|o| o.get_ref().clone()),
            namespace: raw.namespace.as_ref().map(|o| o.get_ref().clone()),
        })
    }

    fn step(&mut self, s: &Spanned<RawStep>, undoable_before: bool) -> Option<Step> {
        let span = s.span();
        let raw = s.get_ref();
        let line = self.line_of(&span);
        let id = match &raw.id {
            Some(id) if id.get_ref().trim().is_empty() => {
                self.err(id.span(), "the step id is empty", None);
                None
            }
            Some(id) => Some(id.get_ref().clone()),
            None => {
                self.err(span.clone(), "missing field `id`", None);
                None
            }
        };
        let action = self.action(
            raw,
            &Place {
                is_undo: false,
                span: span.clone(),
                default_kind: None,
                default_target: None,
            },
        );
        if let Some((target, StepKind::Http { request, .. })) = &action
            && matches!(request.url, HttpUrl::Path(_))
            && target.is_none()
        {
            self.err(
                span.clone(),
                "the request url is a path, but the step names no `http` target",
                Some(
                    "add `target = \"NAME\"` naming an http target, or use a full URL from env:"
                        .into(),
                ),
            );
        }
        let preflight = self.checks(&raw.preflight);
        let postcheck = self.checks(&raw.postcheck);
        let timeout = match &raw.timeout {
            Some(t) => self.duration(t, "timeout"),
            None => None,
        };
        if let Some((_, StepKind::Wait { .. })) = &action
            && raw.timeout.is_none()
        {
            self.err(
                span.clone(),
                "a `wait` step needs a `timeout`",
                Some("add e.g. `timeout = \"10m\"`: a wait must not hold the run forever".into()),
            );
        }
        let retries = raw.retries.as_ref().map(|r| *r.get_ref()).unwrap_or(0);
        let backoff = match &raw.backoff {
            Some(b) => self.duration(b, "backoff"),
            None => Some(DEFAULT_BACKOFF),
        };
        let on_failure = match &raw.on_failure {
            None => Some(OnFailure::Pause),
            Some(o) => match OnFailure::ALL.iter().find(|(n, _)| n == o.get_ref()) {
                Some((_, f)) => Some(*f),
                None => {
                    let help = did_you_mean(o.get_ref(), OnFailure::ALL.iter().map(|(n, _)| *n))
                        .unwrap_or_else(|| "on_failure is pause, rollback or abort".into());
                    self.err(
                        o.span(),
                        format!("unknown on_failure {:?}", o.get_ref()),
                        Some(help),
                    );
                    None
                }
            },
        };
        // Checked whenever the step's kind is known, even if its parameters had errors.
        let known_kind = raw
            .kind
            .as_ref()
            .map(|k| k.get_ref().as_str())
            .filter(|k| step_kind_names().any(|n| n == *k));
        let undo = match (&raw.undo, known_kind) {
            (Some(u), Some(kind)) => self.undo(u, raw, kind),
            _ => None,
        };
        if let (Some(OnFailure::Rollback), Some(o), None) = (on_failure, &raw.on_failure, &raw.undo)
        {
            // Judged from the kind as written, so it is reported even if the step has other errors.
            let kind = raw
                .kind
                .as_ref()
                .map(|k| k.get_ref().as_str())
                .unwrap_or("");
            if !READ_ONLY_KINDS.contains(&kind) {
                self.err(
                    o.span(),
                    format!("on_failure = \"rollback\" but this `{kind}` step has no `undo`"),
                    Some("give the step an `undo`, or use on_failure = \"pause\"".into()),
                );
            } else if !undoable_before {
                self.err(
                    o.span(),
                    "on_failure = \"rollback\" but no earlier step has an `undo`: nothing would be rolled back",
                    Some("use on_failure = \"pause\" or \"abort\"".into()),
                );
            }
        }
        let (target, kind) = action?;
        let description = raw
            .description
            .as_ref()
            .map(|d| d.get_ref().clone())
            .unwrap_or_default();
        Some(Step {
            id: id?,
            description,
            target,
            kind,
            preflight,
            postcheck,
            timeout,
            retries,
            backoff: backoff?,
            on_failure: on_failure?,
            undo: if raw.undo.is_some() {
                Some(undo?)
            } else {
                None
            },
            line,
        })
    }

    /// The `undo` of a step whose own kind is `step_kind`.
    fn undo(&mut self, u: &Spanned<RawUndo>, step: &RawStep, step_kind: &str) -> Option<Undo> {
        match u.get_ref() {
            RawUndo::Auto(a) => {
                if a.get_ref() != "auto" {
                    self.err(
                        u.span(),
                        format!("undo is a table or \"auto\", found {:?}", a.get_ref()),
                        None,
                    );
                    None
                } else if step_kind != "patch" {
                    self.err(
                        u.span(),
                        format!("undo = \"auto\" is only for `patch` steps, not `{step_kind}`"),
                        Some("describe the compensating action as a table".into()),
                    );
                    None
                } else {
                    Some(Undo::Auto)
                }
            }
            RawUndo::Action(raw) => {
                for (field, span) in raw.step_only() {
                    self.err(
                        span,
                        format!("`{field}` does not apply inside an undo"),
                        Some("set it on the step".into()),
                    );
                }
                let (target, kind) = self.action(
                    raw,
                    &Place {
                        is_undo: true,
                        span: u.span(),
                        default_kind: Some(step_kind.to_string()),
                        default_target: step.target.clone(),
                    },
                )?;
                Some(Undo::Action { target, kind })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::SourceFile;
    use crate::plan::{HeaderValue, SecretRef};

    const HEAD: &str = "[plan]\nname = \"p\"\n\n[targets.db]\nkind = \"postgres\"\nurl = \"env:DB\"\n\n[targets.k8s]\nkind = \"kubernetes\"\n\n[targets.flags]\nkind = \"http\"\nurl = \"file:/run/secrets/flags\"\n\n";

    fn parse(steps: &str) -> Result<Plan, Vec<String>> {
        Plan::parse(&SourceFile::new("p.toml", format!("{HEAD}{steps}")))
            .map_err(|e| e.errors.iter().map(|e| e.line_form()).collect())
    }

    fn errors(steps: &str) -> Vec<String> {
        match parse(steps) {
            Ok(_) => panic!("expected errors for {steps}"),
            Err(e) => e,
        }
    }

    #[test]
    fn http_undo_is_the_request_and_inherits_the_target() {
        let p = parse(
            "[[step]]\nid = \"f\"\nkind = \"http\"\ntarget = \"flags\"\n\
             request = { method = \"put\", url = \"/flag\", json = { on = false }, headers = { Authorization = \"env:TOKEN\", Accept = \"application/json\" } }\n\
             undo = { method = \"PUT\", url = \"/flag\", json = { on = true } }\non_failure = \"rollback\"\n",
        )
        .unwrap();
        let s = &p.steps[0];
        let StepKind::Http { request, .. } = &s.kind else {
            panic!("{:?}", s.kind)
        };
        assert_eq!(request.method, "PUT");
        assert_eq!(
            request.headers.get("Authorization"),
            Some(&HeaderValue::Secret(SecretRef::Env("TOKEN".into())))
        );
        assert_eq!(
            request.headers.get("Accept"),
            Some(&HeaderValue::Plain("application/json".into()))
        );
        let Some(Undo::Action { target, kind }) = &s.undo else {
            panic!("{:?}", s.undo)
        };
        assert_eq!(target.as_deref(), Some("flags"));
        assert!(
            matches!(kind, StepKind::Http { request, .. } if request.json == Some(serde_json::json!({"on": true})))
        );
    }

    #[test]
    fn an_inline_target_url_without_a_password_or_token_is_kept_as_written() {
        let url = "postgres://ebb@db.internal/orders?sslmode=verify-full";
        let text = format!(
            "[plan]\nname = \"p\"\n\n[targets.db]\nkind = \"postgres\"\nurl = \"{url}\"\n\n\
             [targets.k8s]\nkind = \"kubernetes\"\nurl = \"/etc/kubeconfig\"\n\n\
             [[step]]\nid = \"s\"\nkind = \"sql\"\ntarget = \"db\"\nstatement = \"SELECT 1\"\n"
        );
        let e = Plan::parse(&SourceFile::new("p.toml", text.clone())).unwrap_err();
        let lines: Vec<String> = e.errors.iter().map(|e| e.line_form()).collect();
        // A kubernetes url names a kubeconfig: still env: or file: only.
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(lines[0].starts_with("p.toml:10:7: inline url"), "{lines:?}");
        let text = text.replace(
            "url = \"/etc/kubeconfig\"",
            "url = \"file:/etc/kubeconfig\"",
        );
        let p = Plan::parse(&SourceFile::new("p.toml", text)).unwrap();
        assert_eq!(p.targets["db"].url, Some(SecretRef::Inline(url.into())));
        assert_eq!(
            p.targets["db"].url.as_ref().unwrap().resolve().unwrap(),
            url
        );
    }

    #[test]
    fn path_url_needs_an_http_target() {
        let e = errors("[[step]]\nid = \"f\"\nkind = \"http\"\nrequest = { url = \"/flag\" }\n");
        assert!(e[0].contains("names no `http` target"), "{e:?}");
    }

    #[test]
    fn patch_may_undo_itself() {
        let p = parse(
            "[[step]]\nid = \"p\"\nkind = \"patch\"\ntarget = \"k8s\"\nobject = \"deployment/a\"\n\
             patch = { spec = { replicas = 1 } }\nundo = \"auto\"\non_failure = \"rollback\"\n",
        )
        .unwrap();
        assert_eq!(p.steps[0].undo, Some(Undo::Auto));
        let e = errors(
            "[[step]]\nid = \"p\"\nkind = \"patch\"\ntarget = \"k8s\"\nobject = \"a\"\npatch = 3\nundo = \"later\"\n",
        );
        assert_eq!(e.len(), 3, "{e:?}");
        assert!(e[0].contains("expected KIND/NAME"), "{e:?}");
        assert!(e[1].contains("must be a table"), "{e:?}");
        assert!(e[2].contains("undo is a table or \"auto\""), "{e:?}");
    }

    #[test]
    fn read_only_steps_roll_back_earlier_steps() {
        let verify = "[[step]]\nid = \"v\"\nkind = \"verify\"\non_failure = \"rollback\"\n\
                      checks = [{ kind = \"table_checksum\", target = \"db\", table = \"t\" }]\n";
        let e = errors(verify);
        assert!(e[0].contains("no earlier step has an `undo`"), "{e:?}");
        let sql = "[[step]]\nid = \"s\"\nkind = \"sql\"\ntarget = \"db\"\nstatement = \"X\"\n\
                   undo = { statement = \"Y\" }\n\n";
        let p = parse(&format!("{sql}{verify}")).unwrap();
        assert_eq!(p.steps[1].on_failure, OnFailure::Rollback);
        assert!(p.steps[0].undo.is_some());
    }

    #[test]
    fn undo_fields_are_checked_like_a_step() {
        let e = errors(
            "[[step]]\nid = \"s\"\nkind = \"sql\"\ntarget = \"db\"\nstatement = \"X\"\n\
             undo = { id = \"u\", kind = \"scale\", replicas = -1 }\n",
        );
        let all = e.join("\n");
        assert!(all.contains("`id` does not apply inside an undo"), "{all}");
        assert!(
            all.contains("an undo of kind `scale` needs `object`"),
            "{all}"
        );
        assert!(
            all.contains(
                "needs a target of kind kubernetes, but the step's target \"db\" is postgres"
            ),
            "{all}"
        );
    }

    #[test]
    fn targets_are_checked_per_kind() {
        let text = "[plan]\nname = \"p\"\n\n[targets.a]\nkind = \"sim\"\nurl = \"env:X\"\n\n\
                    [targets.b]\nkind = \"postgress\"\n\n[targets.c]\nkind = \"postgres\"\nurl = \"env:1X\"\n\n\
                    [[step]]\nid = \"m\"\nkind = \"manual\"\ndescription = \"go\"\n";
        let e = Plan::parse(&SourceFile::new("p.toml", text)).unwrap_err();
        let all: Vec<String> = e.errors.iter().map(|e| e.line_form()).collect();
        assert_eq!(all.len(), 4, "{all:#?}");
        assert!(all[0].contains("sim` target needs `object`"), "{all:#?}");
        assert!(
            all[1].contains("`url` does not apply to a `sim` target"),
            "{all:#?}"
        );
        assert!(
            all[2].contains("unknown target kind \"postgress\""),
            "{all:#?}"
        );
        assert_eq!(
            e.errors[2].help.as_deref(),
            Some("did you mean `postgres`?")
        );
        assert!(
            all[3].contains("not an environment variable name"),
            "{all:#?}"
        );
    }

    #[test]
    fn read_only_kinds_match_the_model() {
        let p = parse(
            "[[step]]\nid = \"a\"\nkind = \"snapshot\"\ntarget = \"k8s\"\nvolume = \"v\"\n\n\
             [[step]]\nid = \"b\"\nkind = \"manual\"\ninstruction = \"x\"\n\n\
             [[step]]\nid = \"c\"\nkind = \"sql\"\ntarget = \"db\"\nstatement = \"x\"\n",
        )
        .unwrap();
        for s in &p.steps {
            assert_eq!(
                READ_ONLY_KINDS.contains(&s.kind.name()),
                !s.kind.changes_state(),
                "{}",
                s.kind.name()
            );
        }
    }

    #[test]
    fn names_and_ids_with_control_or_bidi_characters_are_refused_where_they_are() {
        let src = "[plan]\nname = \"evil\\u001b]52;c;aGk=\\u0007\"\ndescription = \"d\"\n\n[targets.\"w\\u202eorld\"]\nkind = \"sim\"\nobject = \"orders-db\"\n\n[[step]]\nid = \"a\\u0085b\"\nkind = \"manual\"\ninstruction = \"x\"\n";
        let file = SourceFile::new("p.toml", src);
        let errors = Plan::parse(&file).unwrap_err().errors;
        let lines: Vec<String> = errors.iter().map(|e| e.line_form()).collect();
        assert!(
            lines.iter().any(|l| l.starts_with(
                "p.toml:2:8: the plan name holds the control or bidi character \\u{1b}"
            )),
            "{lines:#?}"
        );
        assert!(
            lines.iter().any(|l| l.starts_with(
                "p.toml:5:10: a target name holds the control or bidi character \\u{202e}"
            )),
            "{lines:#?}"
        );
        assert!(
            lines.iter().any(|l| l
                .starts_with("p.toml:10:6: a step id holds the control or bidi character \\u{85}")),
            "{lines:#?}"
        );
    }
}
