//! The facilitator's side of a drill in the console: the fault menu (a layer), what the
//! runner says of the drill's clock and faults, and announcements shown to everyone.

use crate::action::Action;
use crate::sim::facilitate::{Choice, DrillSeen, FacilitatorRequest, choices};
use crate::text::DisplayText;

use super::model::{Layer, Model, TimelineKind};
use super::msg::Cmd;

/// A facilitator's console: the scenario's fault menu and the drill as last published.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Facilitator {
    /// The scenario's faults (`sim::facilitate::menu`).
    pub menu: Vec<Choice>,
    pub seen: DrillSeen,
}

/// The menu lines the fault layer offers for what is typed.
pub fn offered(model: &Model, input: &str) -> Vec<Choice> {
    match &model.facilitator {
        Some(f) => choices(&f.menu, &f.seen, input),
        None => Vec::new(),
    }
}

/// The fault menu's actions: open, move, carry out the selected line.
pub fn dispatch(model: &mut Model, action: Action) -> Vec<Cmd> {
    if model.facilitator.is_none() {
        model.flash = Some((
            model.now,
            "only a facilitator's console has the fault menu: `ebb drill --facilitate` or `ebb attach RUN --facilitate`".into(),
        ));
        return Vec::new();
    }
    match action {
        Action::FaultsOpen => {
            model.layers.push(Layer::Faults {
                input: String::new(),
                selected: 0,
            });
            Vec::new()
        }
        Action::FaultsNext | Action::FaultsPrev => {
            let n = match model.layers.last() {
                Some(Layer::Faults { input, .. }) => offered(model, input).len(),
                _ => return Vec::new(),
            };
            if let Some(Layer::Faults { selected, .. }) = model.layers.last_mut()
                && n > 0
            {
                *selected = if action == Action::FaultsNext {
                    (*selected + 1) % n
                } else {
                    (*selected + n - 1) % n
                };
            }
            Vec::new()
        }
        _ => submit(model),
    }
}

fn submit(model: &mut Model) -> Vec<Cmd> {
    let Some(Layer::Faults { input, selected }) = model.layers.last().cloned() else {
        return Vec::new();
    };
    if let Some(why) = crate::sim::facilitate::Typed::parse(&input).error {
        model.flash = Some((model.now, format!("cannot read the time: {why}")));
        return Vec::new();
    }
    let Some(choice) = offered(model, &input).into_iter().nth(selected) else {
        model.flash = Some((
            model.now,
            "nothing on the menu matches what is typed".into(),
        ));
        return Vec::new();
    };
    model.layers.pop();
    vec![Cmd::Facilitate(choice.request)]
}

/// The line of the menu that enter would carry out now, for the audit record's args.
pub fn selected_label(model: &Model) -> Option<String> {
    let Some(Layer::Faults { input, selected }) = model.layers.last() else {
        return None;
    };
    offered(model, input)
        .into_iter()
        .nth(*selected)
        .map(|c| c.label)
}

/// The runner published the drill's clock and faults.
pub fn seen(model: &mut Model, d: DrillSeen) {
    if let Some(state) = model.drill.as_mut() {
        state.speed = d.speed;
        state.frozen = d.frozen;
    }
    if let Some(f) = model.facilitator.as_mut() {
        f.seen = d;
    }
}

/// A facilitator's announcement: on the Timeline and the flash line of every console.
pub fn announced(model: &mut Model, by: &str, text: &str) {
    let line = format!("announcement from {by}: {text}");
    model.push_timeline(model.now, TimelineKind::System, DisplayText::new(&line));
    model.flash = Some((model.now, line));
}

/// What a local console does with a facilitator's request: a drill this process hosts has
/// no runner to take it.
pub fn not_hosted(req: &FacilitatorRequest) -> &'static str {
    match req {
        FacilitatorRequest::Speed { .. } | FacilitatorRequest::Freeze { .. } => {
            "the drill world's clock is set with the speed keys"
        }
        _ => "faults and announcements need a drill its runner hosts (`ebb drill` with a plan)",
    }
}
