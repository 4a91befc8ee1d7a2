//! `/` filters: each of the Timeline, Workload, Storage and Plan panes keeps its own filter,
//! and the help overlay its search. View state only, applied where keys are resolved.

use crossterm::event::{KeyCode, KeyModifiers};

use crate::action::Action;
use crate::config::keymap::KeyChord;

use super::model::{Layer, Model, PaneId};

/// The panes `/` filters.
pub const FILTERABLE: [PaneId; 4] = [
    PaneId::Timeline,
    PaneId::Workload,
    PaneId::Storage,
    PaneId::Plan,
];

/// The longest filter typed, in characters.
pub const MAX_FILTER: usize = 100;

/// What a filter line edits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    Pane(PaneId),
    /// The help overlay's search.
    Help,
}

/// Whether `text` contains `filter`, ignoring case (an empty filter matches everything).
pub fn matches(text: &str, filter: &str) -> bool {
    filter.is_empty() || text.to_lowercase().contains(&filter.to_lowercase())
}

/// Applies a view-local action (`Action::is_view_local`); others are left alone. Returns
/// the action to dispatch instead, if any: esc in a help with no search closes it
/// (`layer.close`, through the door like any other way out of the help).
pub fn apply(model: &mut Model, action: Action) -> Option<Action> {
    match action {
        Action::FilterOpen => open(model),
        Action::HelpSearch => {
            if matches!(model.layers.last(), Some(Layer::Help { .. })) {
                model.layers.push(Layer::Filter {
                    target: Target::Help,
                });
            }
        }
        Action::FilterApply => {
            if let Some(Layer::Filter {
                target: Target::Pane(pane),
            }) = model.layers.last()
                && model.filter_of(*pane).is_none()
            {
                model.filters.remove(pane);
            }
            if matches!(model.layers.last(), Some(Layer::Filter { .. })) {
                model.layers.pop();
            }
        }
        Action::FilterClear => match model.layers.last() {
            Some(Layer::Filter { target }) => {
                let target = *target;
                model.layers.pop();
                clear(model, target);
            }
            Some(_) => {}
            None => clear(model, Target::Pane(model.focus)),
        },
        Action::HelpSearchClear => match model.layers.last_mut() {
            Some(Layer::Help { search, scroll }) if !search.is_empty() => {
                search.clear();
                *scroll = 0;
            }
            Some(Layer::Help { .. }) => return Some(Action::LayerClose),
            _ => {}
        },
        _ => {}
    }
    None
}

fn open(model: &mut Model) {
    let pane = model.focus;
    if FILTERABLE.contains(&pane) {
        model.layers.push(Layer::Filter {
            target: Target::Pane(pane),
        });
    } else {
        model.flash = Some((
            model.now,
            format!(
                "the {} pane has no filter: / filters Timeline, Workload, Storage and Plan",
                pane.title()
            ),
        ));
    }
}

fn clear(model: &mut Model, target: Target) {
    match target {
        Target::Pane(pane) => {
            if model.filters.remove(&pane).is_some() {
                model.scroll.remove(&pane);
            }
        }
        Target::Help => {
            if let Some(Layer::Help { search, scroll }) = model.layers.last_mut() {
                search.clear();
                *scroll = 0;
            }
        }
    }
}

/// Types `key` into the open filter line: a printable character or backspace edits the
/// target's text, live, and brings its view back to the top.
pub fn type_key(model: &mut Model, key: KeyChord) {
    let Some(Layer::Filter { target }) = model.layers.last() else {
        return;
    };
    let target = *target;
    let plain = key.mods.difference(KeyModifiers::SHIFT).is_empty();
    let edit = |text: &mut String| match key.code {
        KeyCode::Char(c) if plain && !c.is_control() && text.chars().count() < MAX_FILTER => {
            text.push(c);
        }
        KeyCode::Backspace => {
            text.pop();
        }
        _ => {}
    };
    match target {
        Target::Pane(pane) => {
            edit(model.filters.entry(pane).or_default());
            model.scroll.remove(&pane);
        }
        Target::Help => {
            let n = model.layers.len();
            if let Some(Layer::Help { search, scroll }) =
                n.checked_sub(2).and_then(|i| model.layers.get_mut(i))
            {
                edit(search);
                *scroll = 0;
            }
        }
    }
}

/// The text the open filter line shows, if one is open.
pub fn editing(model: &Model) -> Option<(Target, &str)> {
    let Some(Layer::Filter { target }) = model.layers.last() else {
        return None;
    };
    let text = match target {
        Target::Pane(pane) => model.filters.get(pane).map(String::as_str).unwrap_or(""),
        Target::Help => model
            .layers
            .iter()
            .rev()
            .find_map(|l| match l {
                Layer::Help { search, .. } => Some(search.as_str()),
                _ => None,
            })
            .unwrap_or(""),
    };
    Some((*target, text))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::DisplayText;
    use crate::time::Timestamp;

    fn model() -> Model {
        Model::new(DisplayText::new("t"), DisplayText::new("op"), Timestamp(0))
    }

    fn key(c: char) -> KeyChord {
        KeyChord {
            code: KeyCode::Char(c),
            mods: KeyModifiers::NONE,
        }
    }

    #[test]
    fn matching_ignores_case_and_an_empty_filter_keeps_everything() {
        assert!(matches("Replica-1 LAG", "lag"));
        assert!(matches("anything", ""));
        assert!(!matches("replica", "lag"));
    }

    #[test]
    fn typing_edits_the_target_enter_keeps_esc_clears() {
        let mut m = model();
        m.focus = PaneId::Plan;
        m.scroll.insert(PaneId::Plan, 4);
        assert_eq!(apply(&mut m, Action::FilterOpen), None);
        for c in "snap".chars() {
            type_key(&mut m, key(c));
        }
        assert_eq!(m.filter_of(PaneId::Plan), Some("snap"));
        assert_eq!(
            m.scroll_of(PaneId::Plan),
            0,
            "a new filter starts at the top"
        );
        assert_eq!(editing(&m), Some((Target::Pane(PaneId::Plan), "snap")));
        apply(&mut m, Action::FilterApply);
        assert!(m.layers.is_empty());
        assert_eq!(m.filter_of(PaneId::Plan), Some("snap"));
        // An emptied filter line leaves no filter behind.
        apply(&mut m, Action::FilterOpen);
        for _ in 0..4 {
            type_key(
                &mut m,
                KeyChord {
                    code: KeyCode::Backspace,
                    mods: KeyModifiers::NONE,
                },
            );
        }
        apply(&mut m, Action::FilterApply);
        assert!(m.filters.is_empty());
        // The length is capped; control keys type nothing.
        apply(&mut m, Action::FilterOpen);
        for _ in 0..MAX_FILTER + 5 {
            type_key(&mut m, key('a'));
        }
        type_key(
            &mut m,
            KeyChord {
                code: KeyCode::Char('u'),
                mods: KeyModifiers::CONTROL,
            },
        );
        assert_eq!(m.filter_of(PaneId::Plan).map(str::len), Some(MAX_FILTER));
        apply(&mut m, Action::FilterClear);
        assert!(m.layers.is_empty() && m.filters.is_empty());
    }

    #[test]
    fn help_search_clears_first_then_asks_to_close() {
        let mut m = model();
        m.layers.push(Layer::Help {
            scroll: 3,
            search: String::new(),
        });
        apply(&mut m, Action::HelpSearch);
        type_key(&mut m, key('z'));
        assert_eq!(editing(&m), Some((Target::Help, "z")));
        apply(&mut m, Action::FilterApply);
        assert!(
            matches!(m.layers.as_slice(), [Layer::Help { search, scroll: 0 }] if search == "z")
        );
        assert_eq!(apply(&mut m, Action::HelpSearchClear), None);
        assert!(matches!(m.layers.as_slice(), [Layer::Help { search, .. }] if search.is_empty()));
        assert_eq!(
            apply(&mut m, Action::HelpSearchClear),
            Some(Action::LayerClose)
        );
    }
}
