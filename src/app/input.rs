//! Keys to actions: the top layer's keymap mode, pending chords, and text typed into the
//! palette and the filter line. Pure: the keymap is passed in, nothing is read from the terminal here.

use crossterm::event::{KeyCode, KeyModifiers};

use crate::action::Action;
use crate::config::keymap::{KeyChord, Keymap, Lookup};

use super::dispatch::dispatch;
use super::model::{Layer, Model};
use super::msg::{ActionSource, Cmd};

/// Handles one key: completes or extends a chord, types into a text layer, or says it is
/// unbound; a completed binding is dispatched at once. (The event loop uses `resolve_key`
/// and records the action in the audit log before dispatching it.)
pub fn on_key(model: &mut Model, keymap: &Keymap, key: KeyChord) -> Vec<Cmd> {
    match resolve_key(model, keymap, key) {
        Some((action, source)) => dispatch(model, action, source),
        None => Vec::new(),
    }
}

/// The action a key completes, if any, with its source (the key sequence). Chords in
/// progress, typing into the palette or confirm layer, and unbound keys change only the
/// model's input state and return `None`.
pub fn resolve_key(
    model: &mut Model,
    keymap: &Keymap,
    key: KeyChord,
) -> Option<(Action, ActionSource)> {
    let mode = model.mode();
    match keymap.lookup(mode, &model.pending, key) {
        Lookup::Action(action) => {
            let mut seq: Vec<String> = model.pending.drain(..).map(|k| k.to_string()).collect();
            seq.push(key.to_string());
            model.flash = None;
            let source = ActionSource::Key(seq.join(" "));
            if action.is_view_local() {
                // Filters are view state: applied here, replayed from the recorded keys.
                return super::filter::apply(model, action).map(|instead| (instead, source));
            }
            Some((action, source))
        }
        Lookup::Pending => {
            model.pending.push(key);
            None
        }
        Lookup::NoMatch => {
            if !model.pending.is_empty() {
                let seq: Vec<String> = model.pending.drain(..).map(|k| k.to_string()).collect();
                if key.code != KeyCode::Esc {
                    model.flash =
                        Some((model.now, format!("{} {key} is not bound", seq.join(" "))));
                }
            } else if mode.takes_text() {
                type_into_layer(model, key);
            } else {
                model.flash = Some((model.now, format!("{key} is not bound; press ? for help")));
            }
            None
        }
    }
}

fn type_into_layer(model: &mut Model, key: KeyChord) {
    let (input, selected) = match model.layers.last_mut() {
        Some(Layer::Palette { input, selected }) | Some(Layer::Faults { input, selected }) => {
            (input, Some(selected))
        }
        Some(Layer::Confirm { input, .. }) => (input, None),
        Some(Layer::Note { editor }) => {
            editor.key(key);
            return;
        }
        Some(Layer::Filter { .. }) => return super::filter::type_key(model, key),
        _ => return,
    };
    let plain = key.mods.difference(KeyModifiers::SHIFT).is_empty();
    match key.code {
        KeyCode::Char(c) if plain && !c.is_control() => {
            if input.chars().count() < 200 {
                input.push(c);
            }
        }
        KeyCode::Backspace => {
            input.pop();
        }
        _ => return,
    }
    if let Some(selected) = selected {
        *selected = 0;
    }
}
