//! What the confirm layer does on enter: a typed reason (and the plan's name) for the
//! dangerous verbs, an actuator's asked word, and the go-ahead for a fresh run on real targets.

use crate::action::Action;
use crate::engine::{Status, Verb};
use crate::text::DisplayText;

use super::dispatch::{engine, target_name_required};
use super::model::{Layer, Model, TimelineKind};
use super::msg::{ActionSource, Cmd, EngineRequest};

/// `run.resume` and `run.step`: a run that has not started yet on real targets asks
/// first, in a confirm layer naming the plan and its targets (enter starts it); a drill,
/// or a run already under way, goes at once.
pub fn go(model: &mut Model, action: Action) -> Vec<Cmd> {
    if needs_start_confirmation(model) {
        model.layers.push(Layer::Confirm {
            action,
            input: String::new(),
            reason: None,
        });
        return Vec::new();
    }
    engine(model, start_verb(action))
}

/// Whether `action` starts a run (and so may ask first).
pub fn starts_run(action: Action) -> bool {
    matches!(action, Action::RunResume | Action::RunStep)
}

fn start_verb(action: Action) -> Verb {
    if action == Action::RunStep {
        Verb::Step
    } else {
        Verb::Run
    }
}

/// A fresh run (not started) that is not a drill: its steps reach real systems.
pub fn needs_start_confirmation(model: &Model) -> bool {
    let fresh = model
        .run
        .as_ref()
        .is_none_or(|r| r.status == Status::NotStarted);
    fresh && model.drill.is_none() && model.plan.is_some()
}

/// Enter in the confirm layer on top.
pub fn submit(model: &mut Model, source: &ActionSource) -> Vec<Cmd> {
    let Some(Layer::Confirm {
        action: verb_action,
        input,
        reason: stage,
    }) = model.layers.pop()
    else {
        return Vec::new();
    };
    let typed = input.trim().to_string();
    if verb_action == Action::RunConfirm {
        return answer(model, typed, input, source);
    }
    if starts_run(verb_action) {
        return start(model, verb_action, source);
    }
    let reason = match stage {
        None => {
            if typed.is_empty() {
                model.flash = Some((
                    model.now,
                    format!("{} needs a reason: type it, then enter", verb_action.name()),
                ));
                model.layers.push(Layer::Confirm {
                    action: verb_action,
                    input,
                    reason: None,
                });
                return Vec::new();
            }
            if let Some(name) = target_name_required(model, verb_action) {
                model.flash = Some((
                    model.now,
                    format!("now type the plan's name, {name}, to confirm"),
                ));
                model.layers.push(Layer::Confirm {
                    action: verb_action,
                    input: String::new(),
                    reason: Some(typed),
                });
                return Vec::new();
            }
            if matches!(verb_action, Action::ApprovalApprove | Action::ApprovalDeny) {
                return super::team::submit_approval(model, verb_action, typed);
            }
            typed
        }
        Some(reason) => {
            let name = target_name_required(model, verb_action).unwrap_or_default();
            if typed != name {
                model.flash = Some((
                    model.now,
                    format!("type {name} exactly to confirm, or esc to cancel"),
                ));
                model.layers.push(Layer::Confirm {
                    action: verb_action,
                    input,
                    reason: Some(reason),
                });
                return Vec::new();
            }
            reason
        }
    };
    if verb_action == Action::ApprovalBreakGlass {
        return super::team::submit_break_glass(model, reason);
    }
    let verb = match verb_action {
        Action::RunAbort => Verb::Abort {
            reason: reason.clone(),
        },
        Action::RunRollback => Verb::Rollback {
            reason: reason.clone(),
        },
        Action::RunSkip => Verb::Skip {
            reason: reason.clone(),
        },
        Action::RunResolveHappened => Verb::Resolve {
            applied: true,
            reason: reason.clone(),
        },
        _ => Verb::Resolve {
            applied: false,
            reason: reason.clone(),
        },
    };
    let text = format!(
        "{} · {} · {}: {reason}",
        model.operator,
        source.label(),
        verb_action.name()
    );
    model.push_timeline(model.now, TimelineKind::Action, DisplayText::new(&text));
    engine(model, verb)
}

/// The go-ahead for a fresh run on real targets.
fn start(model: &mut Model, action: Action, source: &ActionSource) -> Vec<Cmd> {
    let plan = model
        .plan
        .as_ref()
        .map(|p| p.name.as_str().to_string())
        .unwrap_or_default();
    let text = format!(
        "{} · {} · {}: start {plan} on real targets (confirmed)",
        model.operator,
        source.label(),
        action.name()
    );
    model.push_timeline(model.now, TimelineKind::Action, DisplayText::new(&text));
    engine(model, start_verb(action))
}

/// The typed confirmation of an actuator's ask: sent on when it is the asked word, else the
/// layer stays for another try.
fn answer(model: &mut Model, typed: String, input: String, source: &ActionSource) -> Vec<Cmd> {
    let Some(ask) = model.run.as_ref().and_then(|r| r.ask.clone()) else {
        model.flash = Some((model.now, "nothing is asking for confirmation now".into()));
        return Vec::new();
    };
    if typed != ask.word {
        model.flash = Some((
            model.now,
            format!("type {} exactly to allow it, or esc to cancel", ask.word),
        ));
        model.layers.push(Layer::Confirm {
            action: Action::RunConfirm,
            input,
            reason: None,
        });
        return Vec::new();
    }
    let text = format!(
        "{} · {} · run.confirm: {} (typed {typed})",
        model.operator,
        source.label(),
        ask.what
    );
    model.push_timeline(model.now, TimelineKind::Action, DisplayText::new(&text));
    vec![Cmd::Engine(EngineRequest::Answer {
        step: ask.step,
        typed,
        by: model.operator.as_str().to_string(),
    })]
}
