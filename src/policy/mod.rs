//! TEMPORARY stub of the policy API (replaced by the policy branch).
#![allow(unused)]
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PolicyRole {
    Viewer,
    Responder,
    Approver,
    Facilitator,
    Admin,
}
impl PolicyRole {
    pub fn name(self) -> &'static str {
        "x"
    }
}
#[derive(Clone, Debug)]
pub enum Principal {
    User(String),
    Group(String),
}
#[derive(Clone, Debug)]
pub struct Approval {
    pub needs_second_person: Vec<String>,
    pub approvals: u32,
    pub timeout: Duration,
}
#[derive(Clone, Debug)]
pub struct BreakGlass {
    pub allowed: Vec<Principal>,
    pub after: Duration,
    pub review_within: Duration,
}
#[derive(Clone, Debug)]
pub struct PlansRule {
    pub require_approved: bool,
}
#[derive(Clone, Debug)]
pub struct Identity {
    pub user: String,
    pub groups: Vec<String>,
}
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    Allow,
    NeedsApproval { approvals: u32 },
    Deny { reason: String },
}
#[derive(Clone, Debug)]
pub struct Policy {
    pub roles: BTreeMap<PolicyRole, Vec<Principal>>,
    pub approval: Approval,
    pub break_glass: Option<BreakGlass>,
    pub plans: PlansRule,
    pub source_name: String,
}
#[derive(Debug)]
pub struct PolicyErrors;
impl Policy {
    pub fn parse(file: &crate::diag::SourceFile) -> Result<Policy, PolicyErrors> {
        todo!()
    }
    pub fn digest(&self) -> &str {
        todo!()
    }
    pub fn roles_of(&self, who: &Identity) -> BTreeSet<PolicyRole> {
        todo!()
    }
    pub fn decide(&self, who: &Identity, action: &str) -> Decision {
        todo!()
    }
    pub fn may_break_glass(&self, who: &Identity) -> bool {
        todo!()
    }
}
