//! Who may do what: the policy file (`[roles]`, `[approval]`, `[break_glass]`, `[plans]`),
//! validated with every error located, and `decide`, which maps an identity and an action to a role.

mod parse;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use miette::Diagnostic;

use crate::diag::{LocatedError, MAX_ERRORS_SHOWN, SourceFile};

/// A role a policy grants.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PolicyRole {
    Viewer,
    Responder,
    Approver,
    Facilitator,
    Admin,
}

impl PolicyRole {
    pub const ALL: [PolicyRole; 5] = [
        PolicyRole::Viewer,
        PolicyRole::Responder,
        PolicyRole::Approver,
        PolicyRole::Facilitator,
        PolicyRole::Admin,
    ];

    /// The name the file uses: `viewer`, `responder`, `approver`, `facilitator`, `admin`.
    pub fn name(self) -> &'static str {
        match self {
            PolicyRole::Viewer => "viewer",
            PolicyRole::Responder => "responder",
            PolicyRole::Approver => "approver",
            PolicyRole::Facilitator => "facilitator",
            PolicyRole::Admin => "admin",
        }
    }

    pub fn from_name(name: &str) -> Option<PolicyRole> {
        PolicyRole::ALL.into_iter().find(|r| r.name() == name)
    }
}

/// Someone a role is granted to: a user by login name, or `@group`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Principal {
    User(String),
    Group(String),
}

impl Principal {
    /// Whether `who` is this user or a member of this group.
    pub fn matches(&self, who: &Identity) -> bool {
        match self {
            Principal::User(u) => *u == who.user,
            Principal::Group(g) => who.groups.iter().any(|m| m == g),
        }
    }
}

impl std::fmt::Display for Principal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Principal::User(u) => f.write_str(u),
            Principal::Group(g) => write!(f, "@{g}"),
        }
    }
}

/// `[approval]`: the verbs a second person (an approver, not the requester) must approve.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Approval {
    /// Action names; `run.resolve` stands for both `run.resolve.*` actions.
    pub needs_second_person: Vec<String>,
    /// Distinct approvers a request needs (at least 1).
    pub approvals: u32,
    /// How long a pending request waits before it expires.
    pub timeout: Duration,
}

impl Default for Approval {
    fn default() -> Self {
        Approval {
            needs_second_person: Vec::new(),
            approvals: 1,
            timeout: Duration::from_secs(600),
        }
    }
}

/// `[break_glass]`: who may act without an approver, and when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BreakGlass {
    pub allowed: Vec<Principal>,
    /// Only after a request has waited this long.
    pub after: Duration,
    /// Each use is listed as unreviewed until an approver reviews it, within this.
    pub review_within: Duration,
}

/// `[plans]`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PlansRule {
    /// Real (non-drill) runs only with an approved plan digest.
    pub require_approved: bool,
}

/// Who is asking: a login name and the names of the groups they are in.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Identity {
    pub user: String,
    pub groups: Vec<String>,
}

/// What a policy says about one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    Allow,
    /// Allowed once this many approvers (not the requester) approve it.
    NeedsApproval {
        approvals: u32,
    },
    Deny {
        reason: String,
    },
}

/// A validated policy file.
#[derive(Clone, Debug)]
pub struct Policy {
    pub roles: BTreeMap<PolicyRole, Vec<Principal>>,
    pub approval: Approval,
    pub break_glass: Option<BreakGlass>,
    pub plans: PlansRule,
    digest: String,
    pub source_name: String,
}

/// Every error of one policy file, in file order.
#[derive(Debug, thiserror::Error)]
#[error("{name}: {} error{} in the policy", errors.len(), if errors.len() == 1 { "" } else { "s" })]
pub struct PolicyErrors {
    pub name: String,
    pub errors: Vec<LocatedError>,
}

impl PolicyErrors {
    /// Errors not shown in a report.
    pub fn hidden(&self) -> usize {
        self.errors.len().saturating_sub(MAX_ERRORS_SHOWN)
    }
}

impl Diagnostic for PolicyErrors {
    fn help<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        match self.hidden() {
            0 => None,
            n => Some(Box::new(format!(
                "the first {MAX_ERRORS_SHOWN} are shown, and {n} more"
            ))),
        }
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn Diagnostic> + 'a>> {
        Some(Box::new(
            self.errors
                .iter()
                .take(MAX_ERRORS_SHOWN)
                .map(|e| e as &dyn Diagnostic),
        ))
    }
}

/// The verbs `needs_second_person` may name besides the `run.*` actions.
pub const EXTRA_APPROVABLE: &[&str] = &["run.resolve", "ask.delete_pod"];

/// Whether `needs_second_person` may name `name`.
pub fn approvable(name: &str) -> bool {
    EXTRA_APPROVABLE.contains(&name)
        || crate::action::Action::ALL
            .iter()
            .any(|a| a.name() == name && name.starts_with("run."))
}

/// The role an action needs (None: any role, for viewing).
pub fn role_needed(action: &str) -> Option<PolicyRole> {
    if action.starts_with("run.") || action == "note.save" || action.starts_with("ask.") {
        Some(PolicyRole::Responder)
    } else if action == "approval.approve" || action == "approval.deny" {
        Some(PolicyRole::Approver)
    } else if action.starts_with("drill.") {
        Some(PolicyRole::Facilitator)
    } else if action.starts_with("audit.keys.") || action == "policy.apply" {
        Some(PolicyRole::Admin)
    } else {
        None
    }
}

impl Policy {
    /// Parses and validates a policy: a TOML syntax error stops there; every other error
    /// (unknown keys, wrong types, bad names, principals and durations) is collected.
    pub fn parse(file: &SourceFile) -> Result<Policy, PolicyErrors> {
        parse::parse(file)
    }

    /// Reads and validates a policy file; an unreadable file is one error at 1:1.
    pub fn load(path: &Path) -> Result<Policy, PolicyErrors> {
        let file = SourceFile::read(path).map_err(|e| PolicyErrors {
            name: path.display().to_string(),
            errors: vec![e],
        })?;
        Policy::parse(&file)
    }

    /// `sha256:` and the hex SHA-256 of the file's bytes.
    pub fn digest(&self) -> &str {
        &self.digest
    }

    /// The roles `who` holds, as a user or through a group.
    pub fn roles_of(&self, who: &Identity) -> BTreeSet<PolicyRole> {
        self.roles
            .iter()
            .filter(|(_, ps)| ps.iter().any(|p| p.matches(who)))
            .map(|(r, _)| *r)
            .collect()
    }

    fn holds(&self, who: &Identity, role: PolicyRole) -> bool {
        self.roles
            .get(&role)
            .is_some_and(|ps| ps.iter().any(|p| p.matches(who)))
    }

    /// Who a role is granted to, for messages: `@oncall, alice`, or `no one`.
    pub fn granted_to(&self, role: PolicyRole) -> String {
        match self.roles.get(&role) {
            Some(ps) if !ps.is_empty() => ps
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", "),
            _ => "no one".to_string(),
        }
    }

    /// Whether `action` is one `[approval] needs_second_person` names.
    pub fn needs_second_person(&self, action: &str) -> bool {
        self.approval.needs_second_person.iter().any(|v| {
            v == action
                || (v == "run.resolve"
                    && action
                        .strip_prefix("run.resolve.")
                        .is_some_and(|rest| !rest.is_empty()))
        })
    }

    /// What `who` may do with `action` (a stable dotted action name). `run.*` verbs and
    /// `note.save` need the responder role, `approval.approve`/`approval.deny` the approver
    /// role (that the approver is not the requester is the runner's check), `drill.*` the
    /// facilitator role, `audit.keys.*` and `policy.apply` the admin role; anything else
    /// (viewing) any role. A responder's verb in `needs_second_person` needs approval.
    pub fn decide(&self, who: &Identity, action: &str) -> Decision {
        match role_needed(action) {
            Some(role) if self.holds(who, role) => {
                if role == PolicyRole::Responder && self.needs_second_person(action) {
                    Decision::NeedsApproval {
                        approvals: self.approval.approvals,
                    }
                } else {
                    Decision::Allow
                }
            }
            Some(role) => Decision::Deny {
                reason: format!(
                    "{action} needs the {} role (granted to {}); {}",
                    role.name(),
                    self.granted_to(role),
                    self.has(who)
                ),
            },
            None if self.roles.values().flatten().any(|p| p.matches(who)) => Decision::Allow,
            None => Decision::Deny {
                reason: format!(
                    "{action} needs a role of this policy (viewer: {}); {}",
                    self.granted_to(PolicyRole::Viewer),
                    self.has(who)
                ),
            },
        }
    }

    /// `alice has viewer, approver` or `alice has no role`.
    fn has(&self, who: &Identity) -> String {
        let roles = self.roles_of(who);
        if roles.is_empty() {
            format!("{} has no role", who.user)
        } else {
            let names: Vec<&str> = roles.iter().map(|r| r.name()).collect();
            format!("{} has {}", who.user, names.join(", "))
        }
    }

    /// Whether `[break_glass] allowed` names `who` (false without `[break_glass]`).
    pub fn may_break_glass(&self, who: &Identity) -> bool {
        self.break_glass
            .as_ref()
            .is_some_and(|b| b.allowed.iter().any(|p| p.matches(who)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = r#"
[roles]
viewer    = ["@oncall-observers"]
responder = ["@oncall"]
approver  = ["@db-leads", "dba-oncall"]
facilitator = ["@sre-training"]
admin     = ["@sre-leads"]

[approval]
needs_second_person = ["run.rollback", "run.abort", "run.skip", "run.resolve", "ask.delete_pod"]
approvals = 2
timeout = "10m"

[break_glass]
allowed = ["@oncall"]
after = "5m"
review_within = "24h"

[plans]
require_approved = true
"#;

    fn policy() -> Policy {
        Policy::parse(&SourceFile::new("p.toml", EXAMPLE)).unwrap()
    }

    fn who(user: &str, groups: &[&str]) -> Identity {
        Identity {
            user: user.into(),
            groups: groups.iter().map(|g| g.to_string()).collect(),
        }
    }

    #[test]
    fn the_issue_example_parses() {
        let p = policy();
        assert_eq!(p.roles.len(), 5);
        assert_eq!(
            p.roles[&PolicyRole::Approver],
            [
                Principal::Group("db-leads".into()),
                Principal::User("dba-oncall".into())
            ]
        );
        assert_eq!(p.approval.approvals, 2);
        assert_eq!(p.approval.timeout, Duration::from_secs(600));
        let bg = p.break_glass.as_ref().unwrap();
        assert_eq!(bg.after, Duration::from_secs(300));
        assert_eq!(bg.review_within, Duration::from_secs(86_400));
        assert!(p.plans.require_approved);
        assert!(p.digest().starts_with("sha256:") && p.digest().len() == 71);
    }

    #[test]
    fn decisions_follow_roles() {
        let p = policy();
        let alice = who("alice", &["oncall-observers"]);
        assert_eq!(p.decide(&alice, "pane.zoom"), Decision::Allow);
        assert_eq!(
            p.decide(&alice, "run.pause"),
            Decision::Deny {
                reason: "run.pause needs the responder role (granted to @oncall); alice has viewer"
                    .into()
            }
        );
        let bob = who("bob", &["oncall"]);
        assert_eq!(p.decide(&bob, "run.pause"), Decision::Allow);
        assert_eq!(
            p.decide(&bob, "run.rollback"),
            Decision::NeedsApproval { approvals: 2 }
        );
        assert_eq!(
            p.decide(&bob, "run.resolve.not_happened"),
            Decision::NeedsApproval { approvals: 2 }
        );
        assert!(matches!(
            p.decide(&bob, "approval.approve"),
            Decision::Deny { .. }
        ));
        let dba = who("dba-oncall", &[]);
        assert_eq!(p.decide(&dba, "approval.approve"), Decision::Allow);
        assert!(p.may_break_glass(&bob));
        assert!(!p.may_break_glass(&dba));
        let nobody = who("eve", &[]);
        let Decision::Deny { reason } = p.decide(&nobody, "pane.zoom") else {
            panic!("eve holds no role");
        };
        assert!(reason.contains("eve has no role"), "{reason}");
    }
}
