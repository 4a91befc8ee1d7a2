//! What an action is about to do, described for the audit log before it takes effect:
//! the key, the action's name, its target run and step, and its arguments (a typed reason).

use serde_json::{Value, json};

use crate::action::Action;

use super::model::{Layer, Model};
use super::msg::ActionSource;
use super::palette;

/// An audit record of intent, as the pure layer describes it.
#[derive(Clone, Debug, PartialEq)]
pub struct Intent {
    /// The key sequence, when it came from a key.
    pub key: Option<String>,
    /// The action's stable dotted name; for a confirmed verb, the verb (`run.abort`).
    pub action: String,
    pub run_id: Option<String>,
    pub step_id: Option<String>,
    pub args: Value,
    /// Whether refusing it (audit log down) matters: run control fails closed, viewing not.
    pub run_control: bool,
}

/// Describes `action` from `source` in the model's current state, before it is applied.
pub fn describe(model: &Model, action: Action, source: &ActionSource) -> Intent {
    let key = match source {
        ActionSource::Key(k) => Some(k.clone()),
        _ => None,
    };
    let run_id = model.run.as_ref().map(|r| r.run_id.clone());
    let running_step = model.run.as_ref().and_then(|r| {
        r.steps
            .iter()
            .find(|s| {
                !matches!(
                    s.status,
                    crate::engine::StepStatus::Pending
                        | crate::engine::StepStatus::Applied
                        | crate::engine::StepStatus::Partial { .. }
                        | crate::engine::StepStatus::Unchecked { .. }
                )
            })
            .map(|s| s.id.clone())
    });
    let mut args = json!({ "source": source.label() });
    let mut name = action.name().to_string();
    match (action, model.layers.last()) {
        (
            Action::ConfirmSubmit,
            Some(Layer::Confirm {
                action: Action::RunConfirm,
                input,
                ..
            }),
        ) => {
            // The answer to an actuator's ask: what it allows and the name typed for it.
            name = Action::RunConfirm.name().to_string();
            args["typed_name"] = Value::String(input.trim().to_string());
            args["confirmed_with"] = Value::String("confirm.submit".into());
            if let Some(ask) = model.run.as_ref().and_then(|r| r.ask.as_ref()) {
                args["ask"] = Value::String(ask.what.clone());
                args["word"] = Value::String(ask.word.clone());
            }
        }
        (a, _)
            if super::confirm::starts_run(a) && super::confirm::needs_start_confirmation(model) =>
        {
            // A fresh run on real targets: this key only opens the confirm layer.
            args["stage"] = Value::String("asks confirmation to start".into());
        }
        (
            Action::ConfirmSubmit,
            Some(Layer::Confirm {
                action: start @ (Action::RunResume | Action::RunStep),
                ..
            }),
        ) => {
            name = start.name().to_string();
            args["confirmed_with"] = Value::String("confirm.submit".into());
            if let Some(plan) = &model.plan {
                args["plan"] = Value::String(plan.name.raw_escaped());
                args["targets"] = plan.targets.iter().map(|t| t.raw_escaped()).collect();
            }
        }
        (
            Action::ConfirmSubmit,
            Some(Layer::Confirm {
                action: verb,
                input,
                reason,
            }),
        ) => {
            let required = super::dispatch::target_name_required(model, *verb);
            match (reason, required) {
                // First of two steps: only the reason so far; nothing takes effect yet.
                (None, Some(_)) => {
                    args["reason"] = Value::String(input.trim().to_string());
                    args["for"] = Value::String(verb.name().to_string());
                    args["stage"] = Value::String("reason".into());
                }
                (Some(reason), _) => {
                    name = verb.name().to_string();
                    args["reason"] = Value::String(reason.clone());
                    args["typed_name"] = Value::String(input.trim().to_string());
                    args["confirmed_with"] = Value::String("confirm.submit".into());
                }
                (None, None) => {
                    name = verb.name().to_string();
                    args["reason"] = Value::String(input.trim().to_string());
                    args["confirmed_with"] = Value::String("confirm.submit".into());
                }
            }
        }
        (Action::PaletteSubmit, Some(Layer::Palette { input, selected })) => {
            if let Some(chosen) = palette::matches(input).get(*selected) {
                args["command"] = Value::String(chosen.name().to_string());
            }
        }
        (Action::DrillFault, Some(Layer::Faults { input, .. })) => {
            // What the facilitator chose, as the menu said it: the report's "faults injected".
            if let Some(label) = super::facilitate::selected_label(model) {
                args["choice"] = Value::String(label);
            }
            args["typed"] = Value::String(input.clone());
        }
        (Action::NoteSave, Some(Layer::Note { editor })) => {
            args["text"] = Value::String(editor.text());
        }
        _ => {}
    }
    let via_palette = args
        .get("command")
        .and_then(Value::as_str)
        .is_some_and(|c| c.starts_with("run."));
    let run_control = name.starts_with("run.")
        || name.starts_with("approval.")
        || name.starts_with("drill.")
        || action.needs_reason()
        || via_palette;
    Intent {
        key,
        action: name,
        run_id: if run_control { run_id } else { None },
        step_id: if run_control { running_step } else { None },
        args,
        run_control,
    }
}
