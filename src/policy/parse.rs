//! The policy file read from its TOML tree with spans: every unknown key, wrong type, bad
//! role, principal, action name, count and duration is one located error, all reported together.

use std::collections::BTreeMap;
use std::ops::Range;
use std::time::Duration;

use sha2::{Digest, Sha256};
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::{
    Approval, BreakGlass, EXTRA_APPROVABLE, PlansRule, Policy, PolicyErrors, PolicyRole, Principal,
    approvable,
};
use crate::diag::{LocatedError, SourceFile};
use crate::suggest::did_you_mean;
use crate::units::parse_duration;

const TOP: &[&str] = &["roles", "approval", "break_glass", "plans"];
const APPROVAL: &[&str] = &["needs_second_person", "approvals", "timeout"];
const BREAK_GLASS: &[&str] = &["allowed", "after", "review_within"];
const PLANS: &[&str] = &["require_approved"];

pub(super) fn parse(file: &SourceFile) -> Result<Policy, PolicyErrors> {
    let doc = match DeTable::parse(&file.text) {
        Ok(doc) => doc,
        Err(e) => {
            let span = e.span().unwrap_or(0..0);
            let message = e.message().trim().replace('\n', " ");
            return Err(PolicyErrors {
                name: file.name.clone(),
                errors: vec![file.error_at(span, message, None)],
            });
        }
    };
    let mut cx = Cx {
        file,
        errors: Vec::new(),
    };
    let policy = cx.policy(doc.get_ref());
    let mut errors = cx.errors;
    match policy {
        Some(p) if errors.is_empty() => Ok(p),
        _ => {
            errors.sort_by_key(|e| (e.line, e.col));
            Err(PolicyErrors {
                name: file.name.clone(),
                errors,
            })
        }
    }
}

fn digest(text: &str) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(text.as_bytes())))
}

struct Cx<'f> {
    file: &'f SourceFile,
    errors: Vec<LocatedError>,
}

impl Cx<'_> {
    fn err(&mut self, span: Range<usize>, message: impl Into<String>, help: Option<String>) {
        self.errors.push(self.file.error_at(span, message, help));
    }

    fn policy(&mut self, doc: &DeTable<'_>) -> Option<Policy> {
        let mut roles = None;
        let mut approval = Approval::default();
        let mut break_glass = None;
        let mut plans = PlansRule::default();
        for (k, v) in doc {
            let Some(t) = self.known_table(k, v, TOP, "the file") else {
                continue;
            };
            match k.get_ref().as_ref() {
                "roles" => roles = Some(self.roles(t)),
                "approval" => approval = self.approval(t),
                "break_glass" => break_glass = self.break_glass(t),
                _ => plans = self.plans(t),
            }
        }
        let Some(roles) = roles else {
            self.err(
                0..0,
                "the policy has no [roles] table",
                Some("add [roles] with at least one role, e.g. responder = [\"@oncall\"]".into()),
            );
            return None;
        };
        Some(Policy {
            roles,
            approval,
            break_glass,
            plans,
            digest: digest(&self.file.text),
            source_name: self.file.name.clone(),
        })
    }

    /// `k = v` in a table whose keys are `known`, and `v` a table: the table, else an error.
    fn known_table<'t, 'i>(
        &mut self,
        k: &Spanned<std::borrow::Cow<'i, str>>,
        v: &'t Spanned<DeValue<'i>>,
        known: &[&str],
        what: &str,
    ) -> Option<&'t DeTable<'i>> {
        if !self.known_key(k, known, what) {
            return None;
        }
        match v.get_ref() {
            DeValue::Table(t) => Some(t),
            other => {
                self.err(
                    v.span(),
                    format!(
                        "`{}` must be a table, found {}",
                        k.get_ref(),
                        other.type_str()
                    ),
                    None,
                );
                None
            }
        }
    }

    fn known_key(
        &mut self,
        k: &Spanned<std::borrow::Cow<'_, str>>,
        known: &[&str],
        what: &str,
    ) -> bool {
        let key = k.get_ref().as_ref();
        if known.contains(&key) {
            return true;
        }
        let expected = known
            .iter()
            .map(|f| format!("`{f}`"))
            .collect::<Vec<_>>()
            .join(", ");
        self.err(
            k.span(),
            format!("unknown field `{key}` in {what}, expected one of {expected}"),
            did_you_mean(key, known.iter().copied()),
        );
        false
    }

    fn roles(&mut self, t: &DeTable<'_>) -> BTreeMap<PolicyRole, Vec<Principal>> {
        let mut roles = BTreeMap::new();
        for (k, v) in t {
            let name = k.get_ref().as_ref();
            let Some(role) = PolicyRole::from_name(name) else {
                let names = PolicyRole::ALL.map(PolicyRole::name);
                let help = did_you_mean(name, names).unwrap_or_else(|| {
                    "roles: viewer, responder, approver, facilitator, admin".into()
                });
                self.err(k.span(), format!("unknown role {name:?}"), Some(help));
                continue;
            };
            let principals = self.principals(v, &format!("roles.{name}"));
            roles.insert(role, principals);
        }
        roles
    }

    fn principals(&mut self, v: &Spanned<DeValue<'_>>, what: &str) -> Vec<Principal> {
        self.strings(v, what)
            .into_iter()
            .filter_map(|(s, span)| self.principal(&s, span))
            .collect()
    }

    fn principal(&mut self, s: &str, span: Range<usize>) -> Option<Principal> {
        let help =
            Some("a principal is a user name, or @group, e.g. \"alice\" or \"@oncall\"".into());
        let (name, group) = match s.strip_prefix('@') {
            Some(g) => (g, true),
            None => (s, false),
        };
        let bad = if s.is_empty() {
            Some("an empty principal".to_string())
        } else if group && name.is_empty() {
            Some("`@` alone names no group".to_string())
        } else if name.chars().any(char::is_whitespace) {
            Some(format!("principal {s:?} holds whitespace"))
        } else {
            name.chars()
                .find(|c| c.is_control() || crate::text::is_unsafe(*c))
                .map(|c| format!("principal {s:?} holds the character {}", c.escape_unicode()))
        };
        if let Some(message) = bad {
            self.err(span, message, help);
            return None;
        }
        Some(if group {
            Principal::Group(name.to_string())
        } else {
            Principal::User(name.to_string())
        })
    }

    /// An array of strings with their spans; anything else is an error.
    fn strings(&mut self, v: &Spanned<DeValue<'_>>, what: &str) -> Vec<(String, Range<usize>)> {
        let DeValue::Array(items) = v.get_ref() else {
            self.err(
                v.span(),
                format!(
                    "{what} must be an array of strings, found {}",
                    v.get_ref().type_str()
                ),
                None,
            );
            return Vec::new();
        };
        let mut out = Vec::new();
        for item in items {
            match item.get_ref() {
                DeValue::String(s) => out.push((s.to_string(), item.span())),
                other => self.err(
                    item.span(),
                    format!("{what} holds strings, found {}", other.type_str()),
                    None,
                ),
            }
        }
        out
    }

    fn approval(&mut self, t: &DeTable<'_>) -> Approval {
        let mut a = Approval::default();
        for (k, v) in t {
            if !self.known_key(k, APPROVAL, "[approval]") {
                continue;
            }
            match k.get_ref().as_ref() {
                "needs_second_person" => {
                    let mut verbs = Vec::new();
                    for (name, span) in self.strings(v, "needs_second_person") {
                        if approvable(&name) {
                            verbs.push(name);
                            continue;
                        }
                        let names = crate::action::Action::ALL
                            .iter()
                            .map(|a| a.name())
                            .filter(|n| n.starts_with("run."))
                            .chain(EXTRA_APPROVABLE.iter().copied());
                        let help = did_you_mean(&name, names).unwrap_or_else(|| {
                            "run.* actions (run.rollback, run.abort, run.skip, run.resolve…) or ask.delete_pod".into()
                        });
                        self.err(
                            span,
                            format!("unknown action {name:?} in needs_second_person"),
                            Some(help),
                        );
                    }
                    a.needs_second_person = verbs;
                }
                "approvals" => {
                    if let Some(n) = self.count(v) {
                        a.approvals = n;
                    }
                }
                _ => {
                    if let Some(d) = self.duration(v, "timeout", false) {
                        a.timeout = d;
                    }
                }
            }
        }
        a
    }

    fn count(&mut self, v: &Spanned<DeValue<'_>>) -> Option<u32> {
        let DeValue::Integer(i) = v.get_ref() else {
            self.err(
                v.span(),
                format!(
                    "approvals must be an integer, found {}",
                    v.get_ref().type_str()
                ),
                None,
            );
            return None;
        };
        match i64::from_str_radix(i.as_str(), i.radix()) {
            Ok(n) if n >= 1 => match u32::try_from(n) {
                Ok(n) if n <= 100 => Some(n),
                _ => {
                    self.err(
                        v.span(),
                        format!("approvals = {n} is too many (at most 100)"),
                        None,
                    );
                    None
                }
            },
            _ => {
                self.err(
                    v.span(),
                    "approvals must be at least 1",
                    Some(
                        "the requester never approves their own request: 1 is a second person"
                            .into(),
                    ),
                );
                None
            }
        }
    }

    fn duration(
        &mut self,
        v: &Spanned<DeValue<'_>>,
        what: &str,
        zero_ok: bool,
    ) -> Option<Duration> {
        let DeValue::String(s) = v.get_ref() else {
            self.err(
                v.span(),
                format!(
                    "{what} must be a duration string like \"10m\", found {}",
                    v.get_ref().type_str()
                ),
                None,
            );
            return None;
        };
        match parse_duration(s) {
            Ok(d) if d.is_zero() && !zero_ok => {
                self.err(v.span(), format!("{what} must be more than zero"), None);
                None
            }
            Ok(d) => Some(d),
            Err(m) => {
                let help = s
                    .trim_start()
                    .starts_with('-')
                    .then(|| format!("{what} cannot be negative"));
                self.err(v.span(), format!("bad {what}: {m}"), help);
                None
            }
        }
    }

    fn break_glass(&mut self, t: &DeTable<'_>) -> Option<BreakGlass> {
        let mut b = BreakGlass {
            allowed: Vec::new(),
            after: Duration::from_secs(300),
            review_within: Duration::from_secs(86_400),
        };
        for (k, v) in t {
            if !self.known_key(k, BREAK_GLASS, "[break_glass]") {
                continue;
            }
            match k.get_ref().as_ref() {
                "allowed" => b.allowed = self.principals(v, "break_glass.allowed"),
                "after" => {
                    if let Some(d) = self.duration(v, "after", true) {
                        b.after = d;
                    }
                }
                _ => {
                    if let Some(d) = self.duration(v, "review_within", false) {
                        b.review_within = d;
                    }
                }
            }
        }
        Some(b)
    }

    fn plans(&mut self, t: &DeTable<'_>) -> PlansRule {
        let mut p = PlansRule::default();
        for (k, v) in t {
            if !self.known_key(k, PLANS, "[plans]") {
                continue;
            }
            match v.get_ref() {
                DeValue::Boolean(b) => p.require_approved = *b,
                other => self.err(
                    v.span(),
                    format!(
                        "require_approved must be true or false, found {}",
                        other.type_str()
                    ),
                    None,
                ),
            }
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(text: &str) -> Vec<String> {
        match Policy::parse(&SourceFile::new("p.toml", text)) {
            Ok(_) => Vec::new(),
            Err(e) => e.errors.iter().map(|e| e.line_form()).collect(),
        }
    }

    #[test]
    fn every_error_at_once_in_file_order() {
        let text = "[roles]\nboss = [\"a\"]\nviewer = [\"@\", \" \", \"ok\"]\n\n[approval]\napprovals = 0\ntimeout = \"soon\"\nneeds_second_person = [\"run.rollbak\"]\nextra = 1\n";
        let e = errors(text);
        assert_eq!(e.len(), 7, "{e:#?}");
        assert!(
            e[0].starts_with("p.toml:2:1: unknown role \"boss\""),
            "{e:#?}"
        );
        assert!(e[1].starts_with("p.toml:3:11: `@` alone"), "{e:#?}");
        assert!(
            e[2].starts_with("p.toml:3:16: principal \" \" holds whitespace"),
            "{e:#?}"
        );
        assert!(
            e[3].starts_with("p.toml:6:13: approvals must be at least 1"),
            "{e:#?}"
        );
        assert!(e[4].starts_with("p.toml:7:11: bad timeout"), "{e:#?}");
        assert!(
            e[5].starts_with("p.toml:8:24: unknown action \"run.rollbak\""),
            "{e:#?}"
        );
        assert!(
            e[6].starts_with("p.toml:9:1: unknown field `extra` in [approval]"),
            "{e:#?}"
        );
    }

    #[test]
    fn roles_are_required_and_the_rest_defaults() {
        assert!(errors("[plans]\nrequire_approved = true\n")[0].contains("no [roles] table"));
        let p = Policy::parse(&SourceFile::new("p.toml", "[roles]\nadmin = [\"root\"]\n")).unwrap();
        assert_eq!(p.approval, Approval::default());
        assert!(p.break_glass.is_none());
        assert!(!p.plans.require_approved);
    }
}
