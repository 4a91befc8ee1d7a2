//! The door's changes to the model as data (`DoorEffect`): applied here, the same way live
//! and in a console's replay, so a recording of messages rebuilds every screen.

use super::dispatch::dispatch;
use super::model::Model;
use super::msg::{Cmd, DoorEffect};

/// Applies one effect; the commands are those of a dispatched action (none otherwise).
pub fn apply(model: &mut Model, effect: DoorEffect) -> Vec<Cmd> {
    match effect {
        DoorEffect::Dispatched(d) => dispatch(model, d.action, d.source),
        DoorEffect::Flash(text) => {
            model.flash = Some((model.now, text));
            Vec::new()
        }
        DoorEffect::AuditDown(why) => {
            model.audit_down = why;
            Vec::new()
        }
        DoorEffect::LayersCleared => {
            model.layers.clear();
            Vec::new()
        }
    }
}

/// The effects applied, in order, for whoever records the console (`Vec::new()` to keep none).
#[derive(Debug, Default)]
pub struct Applied(pub Vec<DoorEffect>);

impl Applied {
    /// Applies `effect` to `model` and keeps it.
    pub fn apply(&mut self, model: &mut Model, effect: DoorEffect) -> Vec<Cmd> {
        self.0.push(effect.clone());
        apply(model, effect)
    }

    /// Sets why the audit log is down, keeping the effect only when it changes the model.
    pub fn audit_down(&mut self, model: &mut Model, why: Option<String>) {
        if model.audit_down != why {
            self.apply(model, DoorEffect::AuditDown(why));
        }
    }

    pub fn flash(&mut self, model: &mut Model, text: String) {
        self.apply(model, DoorEffect::Flash(text));
    }
}
