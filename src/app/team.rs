//! Who else is on a run a runner drives: this console's role, the consoles attached, the
//! runner and whether it is alive; and leaving it (`q`): detach, or pause and detach.

use serde::{Deserialize, Serialize};

use crate::action::Action;
use crate::engine::Verb;
pub use crate::runner::bus::PendingApproval;

use super::model::{Layer, Model};
use super::msg::{Cmd, EngineRequest};

/// What a console may do on a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Drives: run control goes to the runner (`ebb run`, `ebb attach`).
    Driver,
    /// Watches: run-control keys are refused, and the refusal is audited (`ebb watch`).
    Watcher,
    /// Facilitates a drill: drives its world (faults, clock, announcements), not its run.
    Facilitator,
}

impl Role {
    pub fn name(self) -> &'static str {
        match self {
            Role::Driver => "driver",
            Role::Watcher => "watcher",
            Role::Facilitator => "facilitator",
        }
    }

    pub fn from_name(s: &str) -> Role {
        match s {
            "watcher" => Role::Watcher,
            "facilitator" => Role::Facilitator,
            _ => Role::Driver,
        }
    }
}

/// One console attached to the run, as the store lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attached {
    pub operator: String,
    pub host: String,
    pub role: Role,
    /// This console.
    pub me: bool,
}

/// The run's runner as last seen: its lease holder, and whether it is alive.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunnerSeen {
    /// `operator@host:pid`.
    pub holder: String,
    pub alive: bool,
}

/// The team on a run: set when the console is attached to a run a runner drives.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Team {
    pub role: Role,
    /// The plan's `on_detach`: what the run does once no driving console is left.
    pub on_detach: String,
    pub consoles: Vec<Attached>,
    /// `None` before the first look, or when nobody holds the run's lease.
    pub runner: Option<RunnerSeen>,
    /// Requests that wait for a second person, oldest first (as the runner publishes them).
    pub pending: Vec<PendingApproval>,
    /// The policy in force, as the console read it when it attached (`None`: no policy).
    pub policy: Option<String>,
    /// Actions that policy does not give this console's operator, with why: dimmed in
    /// the hint bar, refused at the door (the runner checks again).
    pub denied: std::collections::BTreeMap<String, String>,
    /// Who broke glass on this run, if anyone did: every console says so.
    pub break_glass: Option<String>,
}

impl Team {
    pub fn new(role: Role, on_detach: &str) -> Team {
        Team {
            role,
            on_detach: on_detach.to_string(),
            consoles: Vec::new(),
            runner: None,
            pending: Vec::new(),
            policy: None,
            denied: std::collections::BTreeMap::new(),
            break_glass: None,
        }
    }

    /// `alice (driver), bob@b2 (watcher)`: who is attached, this console first.
    pub fn who(&self) -> String {
        let mut v: Vec<&Attached> = self.consoles.iter().collect();
        v.sort_by_key(|c| !c.me);
        v.iter()
            .map(|c| format!("{}@{} ({})", c.operator, c.host, c.role.name()))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// What the follower learned about the team, for `update`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamSeen {
    pub consoles: Vec<Attached>,
    pub runner: Option<RunnerSeen>,
}

pub(super) fn seen(model: &mut Model, t: TeamSeen) {
    if let Some(team) = model.team.as_mut() {
        team.consoles = t.consoles;
        team.runner = t.runner;
    }
}

/// Leaving, for a driving console of a run a runner drives: `q` asks first. `None` when
/// the action is not about leaving (or this console does not drive such a run).
pub(super) fn leave(model: &mut Model, action: Action) -> Option<Vec<Cmd>> {
    let drives = model.team.as_ref().is_some_and(|t| t.role == Role::Driver);
    match action {
        Action::Quit if drives && !matches!(model.layers.last(), Some(Layer::Leave)) => {
            model.layers.push(Layer::Leave);
            Some(Vec::new())
        }
        Action::ConsoleDetach => {
            model.layers.retain(|l| !matches!(l, Layer::Leave));
            model.quit = true;
            Some(vec![Cmd::Quit])
        }
        Action::RunPauseDetach => {
            model.layers.retain(|l| !matches!(l, Layer::Leave));
            model.quit = true;
            Some(vec![
                Cmd::Engine(EngineRequest::Verb {
                    verb: Verb::Pause,
                    by: model.operator.as_str().to_string(),
                }),
                Cmd::Quit,
            ])
        }
        _ => None,
    }
}

pub(super) fn pending(model: &mut Model, pending: Vec<PendingApproval>) {
    if let Some(team) = model.team.as_mut() {
        team.pending = pending;
    }
}

/// `a` / `d`: approve or deny the oldest request that waits for a second person; both
/// ask for a typed reason first. `None` when the action is not about approvals.
pub(super) fn approval(model: &mut Model, action: Action) -> Option<Vec<Cmd>> {
    if !matches!(
        action,
        Action::ApprovalApprove | Action::ApprovalDeny | Action::ApprovalBreakGlass
    ) {
        return None;
    }
    let first = model.team.as_ref().and_then(|t| t.pending.first().cloned());
    match first {
        Some(p) => {
            model.flash = Some((
                model.now,
                format!("{} — type why you {}, then enter", p.asks(), verb(action)),
            ));
            model.layers.push(Layer::Confirm {
                action,
                input: String::new(),
                reason: None,
            });
        }
        None => model.flash = Some((model.now, "no request waits for approval".into())),
    }
    Some(Vec::new())
}

fn verb(action: Action) -> &'static str {
    match action {
        Action::ApprovalApprove => "approve it",
        Action::ApprovalDeny => "deny it",
        _ => "break glass (the plan's name is asked next)",
    }
}

/// The justification and the plan's name typed: the requester breaks glass on their
/// oldest waiting request.
pub(super) fn submit_break_glass(model: &mut Model, justification: String) -> Vec<Cmd> {
    let Some(p) = model.team.as_ref().and_then(|t| t.pending.first().cloned()) else {
        model.flash = Some((model.now, "no request waits for approval".into()));
        return Vec::new();
    };
    vec![Cmd::Engine(EngineRequest::BreakGlass {
        request: p.request,
        justification,
        by: model.operator.as_str().to_string(),
    })]
}

pub(super) fn broke_glass(model: &mut Model, by: String) {
    if let Some(team) = model.team.as_mut() {
        team.break_glass = Some(by);
    }
}

/// Enter in the approval's confirm layer: the typed reason goes with the approval.
pub(super) fn submit_approval(model: &mut Model, action: Action, reason: String) -> Vec<Cmd> {
    let Some(p) = model.team.as_ref().and_then(|t| t.pending.first().cloned()) else {
        model.flash = Some((model.now, "the request no longer waits for approval".into()));
        return Vec::new();
    };
    let by = model.operator.as_str().to_string();
    let req = if action == Action::ApprovalApprove {
        EngineRequest::Approve {
            request: p.request,
            reason,
            by,
        }
    } else {
        EngineRequest::Deny {
            request: p.request,
            reason,
            by,
        }
    };
    vec![Cmd::Engine(req)]
}
