//! The one door every action goes through: its intent is recorded before it takes effect;
//! for a run a runner drives, run control becomes a request row in the same transaction.

use crate::action::Action;
use crate::app::effect::Applied;
use crate::app::intent::{Intent, describe};
use crate::app::{ActionSource, Cmd, Dispatched, DoorEffect, Model, Role};
use crate::audit::NewRecord;
use crate::store::NewRequest;
use crate::time::Timestamp;

use super::recorder::Recorder;

/// What the operator is told when the audit log takes writes again after being down.
pub const AUDIT_BACK: &str = "the audit log is writable again: run control is back";

/// Where run control goes from this console.
#[derive(Clone, Debug)]
pub enum Delivery {
    /// This process hosts the run's engine (a drill, headless): requests come back as
    /// commands for the loop to hand over.
    Local,
    /// A runner process drives the run: a request row in the store, written with its intent.
    Bus(BusLink),
}

/// A console's place on a run that a runner drives.
#[derive(Clone, Debug)]
pub struct BusLink {
    pub run_id: String,
    /// This console's id (its audit session).
    pub console: String,
    pub role: Role,
}

/// The one door: records the intent of `action`, then applies it. When the record cannot
/// be committed, run control is refused and the screen says why; viewing keeps working.
/// Once a record commits again, AUDIT DOWN leaves the header and the operator is told.
pub async fn dispatch_recorded(
    model: &mut Model,
    rec: &mut Recorder,
    delivery: &Delivery,
    action: Action,
    source: ActionSource,
) -> Vec<Cmd> {
    dispatch_applied(
        model,
        rec,
        delivery,
        action,
        source,
        &mut Applied::default(),
    )
    .await
}

/// [`dispatch_recorded`], keeping in `fx` every change it made to the model, in order
/// (the console's recording replays them).
pub async fn dispatch_applied(
    model: &mut Model,
    rec: &mut Recorder,
    delivery: &Delivery,
    action: Action,
    source: ActionSource,
    fx: &mut Applied,
) -> Vec<Cmd> {
    let was_down = model.audit_down.is_some();
    let cmds = match delivery {
        Delivery::Local => through_local(model, rec, action, source, fx).await,
        Delivery::Bus(link) => through_bus(model, rec, link, action, source, fx).await,
    };
    if was_down && model.audit_down.is_none() {
        // Replace a stale refusal (or nothing); keep what the action itself said.
        let stale = model
            .flash
            .as_ref()
            .is_none_or(|(_, m)| m.contains("the audit log cannot be written"));
        if stale {
            fx.flash(model, AUDIT_BACK.to_string());
        }
    }
    cmds
}

fn refused_for_audit(model: &mut Model, fx: &mut Applied, intent: &Intent, why: &str) {
    fx.flash(
        model,
        format!(
            "{} refused: the audit log cannot be written ({why})",
            intent.action
        ),
    );
}

/// Applies the action to the model (its intent is on record, or viewing goes on without).
fn apply(model: &mut Model, fx: &mut Applied, action: Action, source: ActionSource) -> Vec<Cmd> {
    fx.apply(model, DoorEffect::Dispatched(Dispatched { action, source }))
}

async fn outcome(rec: &mut Recorder, intent: &Intent, text: &str) {
    let mut out = NewRecord::outcome(&intent.action, text);
    out.run_id = intent.run_id.clone();
    out.step_id = intent.step_id.clone();
    let _ = rec.append(out).await;
}

/// What became of a run-control action that sent nothing: a confirm layer still open, or
/// nothing to act on.
fn held_back(model: &Model) -> String {
    match &model.flash {
        Some((_, msg)) => format!("not sent: {msg}"),
        None => "awaiting confirmation".to_string(),
    }
}

async fn through_local(
    model: &mut Model,
    rec: &mut Recorder,
    action: Action,
    source: ActionSource,
    fx: &mut Applied,
) -> Vec<Cmd> {
    let intent = describe(model, action, &source);
    let result = rec.intent(&intent).await;
    fx.audit_down(model, rec.down.clone());
    match result {
        Ok(()) if intent.run_control => {
            let cmds = apply(model, fx, action, source);
            // Handed to the engine (whose answer is recorded when it comes), or held back.
            let text = if cmds
                .iter()
                .any(|c| matches!(c, Cmd::Drill(_) | Cmd::Facilitate(_)))
            {
                "sent to the drill world".to_string()
            } else if cmds.iter().any(|c| matches!(c, Cmd::Engine(_))) {
                "sent to the engine".to_string()
            } else {
                held_back(model)
            };
            outcome(rec, &intent, &text).await;
            cmds
        }
        Ok(()) => apply(model, fx, action, source),
        Err(why) if intent.run_control => {
            // A refused verb leaves its confirm layer: the reason is not lost.
            refused_for_audit(model, fx, &intent, &why);
            Vec::new()
        }
        Err(_) => apply(model, fx, action, source),
    }
}

/// Refuses `intent` at this console for what its role is: the intent on record, then the
/// refusal (`outcome_text`), every layer closed and the operator told (`flash`).
async fn refuse_here(
    model: &mut Model,
    rec: &mut Recorder,
    fx: &mut Applied,
    intent: &Intent,
    outcome_text: &str,
    flash: String,
) -> Vec<Cmd> {
    let result = rec.intent(intent).await;
    fx.audit_down(model, rec.down.clone());
    if result.is_ok() {
        outcome(rec, intent, outcome_text).await;
    }
    fx.apply(model, DoorEffect::LayersCleared);
    fx.flash(model, flash);
    Vec::new()
}

/// What a command asks of the runner, as a request row's body; `None` for what stays here.
fn request_body(c: &Cmd) -> Option<serde_json::Value> {
    use crate::sim::facilitate::FacilitatorRequest;
    use crate::sim::source::DrillCommand;
    let value = match c {
        Cmd::Engine(r) => serde_json::to_value(r),
        Cmd::Facilitate(r) => serde_json::to_value(r),
        Cmd::Drill(DrillCommand::SetSpeed(speed)) => {
            serde_json::to_value(FacilitatorRequest::Speed { speed: *speed })
        }
        Cmd::Drill(DrillCommand::Freeze(frozen)) => {
            serde_json::to_value(FacilitatorRequest::Freeze { frozen: *frozen })
        }
        Cmd::Quit | Cmd::Note(_) => return None,
    };
    Some(value.unwrap_or(serde_json::Value::Null))
}

async fn through_bus(
    model: &mut Model,
    rec: &mut Recorder,
    link: &BusLink,
    action: Action,
    source: ActionSource,
    fx: &mut Applied,
) -> Vec<Cmd> {
    let intent = describe(model, action, &source);
    if !intent.run_control {
        let result = rec.intent(&intent).await;
        fx.audit_down(model, rec.down.clone());
        let _ = result;
        return apply(model, fx, action, source);
    }
    // What the action would do, tried on a copy: the model changes only once its record
    // (and its request, if it makes one) has committed (then it is applied for real).
    let mut trial = model.clone();
    let mut cmds = crate::app::dispatch(&mut trial, action, source.clone());
    let requests: Vec<serde_json::Value> = cmds.iter().filter_map(request_body).collect();
    cmds.retain(|c| request_body(c).is_none());
    let Some(request) = requests.into_iter().next() else {
        // Nothing for the runner yet (a confirm layer opened, or nothing to act on).
        match rec.intent(&intent).await {
            Ok(()) => {
                let _ = apply(model, fx, action, source);
                fx.audit_down(model, None);
                outcome(rec, &intent, &held_back(model)).await;
                return cmds;
            }
            Err(why) => {
                fx.audit_down(model, rec.down.clone());
                refused_for_audit(model, fx, &intent, &why);
                return Vec::new();
            }
        }
    };
    let lacks = model
        .team
        .as_ref()
        .and_then(|t| t.denied.get(&intent.action).cloned());
    if let Some(why) = lacks {
        // The policy does not give this operator the action: recorded, refused here with
        // the reason (the runner would refuse it too).
        let result = rec.intent(&intent).await;
        fx.audit_down(model, rec.down.clone());
        if result.is_ok() {
            outcome(rec, &intent, &format!("refused: {why}")).await;
        }
        fx.apply(model, DoorEffect::LayersCleared);
        fx.flash(model, format!("{} refused: {why}", intent.action));
        return Vec::new();
    }
    if link.role == Role::Facilitator && !intent.action.starts_with("drill.") {
        // The participants drive the run; the facilitator drives the world.
        let flash = format!(
            "{} refused: a facilitator's console drives the world, not the run; the participants drive it",
            intent.action
        );
        let why = "refused: a facilitator's console does not drive the run";
        return refuse_here(model, rec, fx, &intent, why, flash).await;
    }
    if link.role == Role::Watcher {
        // Recorded, refused here, and the refusal recorded: a watcher never drives.
        let flash = format!(
            "{} refused: this console only watches; `ebb attach {}` drives the run",
            intent.action, link.run_id
        );
        let why = "refused: this console watches (ebb watch), it does not drive";
        return refuse_here(model, rec, fx, &intent, why, flash).await;
    }
    let new = NewRequest {
        run_id: link.run_id.clone(),
        console: link.console.clone(),
        operator: model.operator.as_str().to_string(),
        action: intent.action.clone(),
        body: request,
        at: Timestamp::now().0,
    };
    match rec.intent_with_request(&intent, &new).await {
        Ok(id) => {
            let _ = apply(model, fx, action, source);
            fx.audit_down(model, None);
            tracing::debug!(request = id, action = %new.action, "request sent to the runner");
            cmds
        }
        Err(why) => {
            fx.audit_down(model, rec.down.clone());
            refused_for_audit(model, fx, &intent, &why);
            Vec::new()
        }
    }
}
