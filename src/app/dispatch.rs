//! The one door every action goes through, whatever its source (key, palette, system).
//! This is where the audit log will record intent before the action takes effect.

use crate::action::Action;
use crate::config::keymap::Mode;
use crate::sim::source::DrillCommand;
use crate::text::DisplayText;

use super::model::{Layer, Model, PaneId, TimelineKind};
use super::msg::{ActionSource, Cmd, EngineRequest};
use super::palette;
use crate::engine::{StepStatus, Verb};

/// Drill speeds offered by faster/slower.
const SPEEDS: [f64; 9] = [0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0];
/// Lines moved by page up/down.
const PAGE: usize = 10;

/// Records, then applies, one action. Returns the effects for the loop to carry out.
pub fn dispatch(model: &mut Model, action: Action, source: ActionSource) -> Vec<Cmd> {
    // Verbs that need a reason are recorded when the reason is confirmed, not when asked.
    if !action.is_navigation() && !action.needs_reason() {
        let text = format!(
            "{} · {} · {}",
            model.operator,
            source.label(),
            action.name()
        );
        model.push_timeline(model.now, TimelineKind::Action, DisplayText::new(&text));
    }
    if let Some(cmds) = super::team::leave(model, action) {
        return cmds;
    }
    if let Some(cmds) = super::team::approval(model, action) {
        return cmds;
    }
    apply(model, action, &source)
}

/// The name a responder must type to confirm `action`: the plan's, for abort and rollback.
pub fn target_name_required(model: &Model, action: Action) -> Option<String> {
    match action {
        Action::RunAbort | Action::RunRollback | Action::ApprovalBreakGlass => {
            model.plan.as_ref().map(|p| p.name.as_str().to_string())
        }
        _ => None,
    }
}

pub(super) fn engine(model: &Model, verb: Verb) -> Vec<Cmd> {
    vec![Cmd::Engine(EngineRequest::Verb {
        verb,
        by: model.operator.as_str().to_string(),
    })]
}

fn apply(model: &mut Model, action: Action, source: &ActionSource) -> Vec<Cmd> {
    match action {
        Action::RunResume | Action::RunStep => return super::confirm::go(model, action),
        Action::RunPause => return engine(model, Verb::Pause),
        Action::RunRetry => return engine(model, Verb::Retry),
        Action::RunBatchSmaller | Action::RunBatchLarger => {
            let batched = model.run.as_ref().is_some_and(|r| r.batch.is_some());
            if batched {
                return vec![Cmd::Engine(EngineRequest::BatchSize {
                    larger: action == Action::RunBatchLarger,
                    by: model.operator.as_str().to_string(),
                })];
            }
            model.flash = Some((model.now, "no batched step is running".into()));
        }
        Action::RunConfirm if model.run.as_ref().is_some_and(|r| r.ask.is_some()) => {
            // An actuator asks before a dangerous effect: the responder types its word.
            if let Some(ask) = model.run.as_ref().and_then(|r| r.ask.as_ref()) {
                model.flash = Some((
                    model.now,
                    format!("{}: type {} to allow it, or esc", ask.what, ask.word),
                ));
            }
            model.layers.push(Layer::Confirm {
                action,
                input: String::new(),
                reason: None,
            });
        }
        Action::RunConfirm => {
            let waiting = model.run.as_ref().and_then(|r| {
                r.steps
                    .iter()
                    .position(|s| matches!(s.status, StepStatus::Running { .. }))
            });
            let manual = waiting.filter(|i| {
                model
                    .plan
                    .as_ref()
                    .and_then(|p| p.steps.get(*i))
                    .is_some_and(|s| s.kind.as_str() == "manual")
            });
            match manual {
                Some(step) => {
                    return vec![Cmd::Engine(EngineRequest::Confirm {
                        step,
                        by: model.operator.as_str().to_string(),
                    })];
                }
                None => {
                    model.flash = Some((
                        model.now,
                        "no manual step is waiting for confirmation".into(),
                    ))
                }
            }
        }
        Action::RunAbort
        | Action::RunRollback
        | Action::RunSkip
        | Action::RunResolveHappened
        | Action::RunResolveNotHappened => {
            model.layers.push(Layer::Confirm {
                action,
                input: String::new(),
                reason: None,
            });
        }
        Action::NoteOpen => model.layers.push(Layer::Note {
            editor: Box::new(super::note::NoteEditor::new()),
        }),
        Action::NoteSave => {
            if let Some(Layer::Note { editor }) = model.layers.pop() {
                let text = editor.text().trim().to_string();
                if text.is_empty() {
                    model.flash = Some((model.now, "empty note discarded".into()));
                    return Vec::new();
                }
                let first = text.lines().next().unwrap_or("").to_string();
                let line = format!(
                    "{} · note: {first}{}",
                    model.operator,
                    if text.lines().count() > 1 { " …" } else { "" }
                );
                model.push_timeline(model.now, TimelineKind::Action, DisplayText::new(&line));
                return vec![Cmd::Note(text)];
            }
        }
        Action::ConfirmSubmit => return super::confirm::submit(model, source),
        Action::Quit => {
            model.quit = true;
            return vec![Cmd::Quit];
        }
        Action::HelpToggle => {
            if matches!(model.layers.last(), Some(Layer::Help { .. })) {
                model.layers.pop();
            } else {
                model.layers.push(Layer::Help {
                    scroll: 0,
                    search: String::new(),
                });
            }
        }
        Action::PaletteOpen => model.layers.push(Layer::Palette {
            input: String::new(),
            selected: 0,
        }),
        Action::LayerClose => {
            model.layers.pop();
        }
        Action::PaletteNext | Action::PalettePrev => {
            if let Some(Layer::Palette { input, selected }) = model.layers.last_mut() {
                let n = palette::matches(input).len();
                if n > 0 {
                    *selected = if action == Action::PaletteNext {
                        (*selected + 1) % n
                    } else {
                        (*selected + n - 1) % n
                    };
                }
            }
        }
        Action::PaletteSubmit => {
            if let Some(Layer::Palette { input, selected }) = model.layers.pop() {
                match palette::matches(&input).get(selected) {
                    Some(chosen) => return dispatch(model, *chosen, ActionSource::Palette),
                    None => {
                        model.flash = Some((model.now, format!("no command matches {input:?}")))
                    }
                }
            }
        }
        Action::FocusNext | Action::FocusPrev => {
            let n = PaneId::ALL.len();
            let i = model.focus.index();
            let j = if action == Action::FocusNext {
                (i + 1) % n
            } else {
                (i + n - 1) % n
            };
            model.focus = PaneId::ALL[j];
            if model.zoom.is_some() {
                model.zoom = Some(model.focus);
            }
        }
        Action::FocusMigration => focus(model, PaneId::Migration),
        Action::FocusReplication => focus(model, PaneId::Replication),
        Action::FocusStorage => focus(model, PaneId::Storage),
        Action::FocusWorkload => focus(model, PaneId::Workload),
        Action::FocusPlan => focus(model, PaneId::Plan),
        Action::FocusTimeline => focus(model, PaneId::Timeline),
        Action::Zoom => {
            model.zoom = match model.zoom {
                Some(_) => None,
                None => Some(model.focus),
            }
        }
        Action::ScrollDown => scroll(model, |s, _| s.saturating_add(1)),
        Action::ScrollUp => scroll(model, |s, _| s.saturating_sub(1)),
        Action::PageDown => scroll(model, |s, _| s.saturating_add(PAGE)),
        Action::PageUp => scroll(model, |s, _| s.saturating_sub(PAGE)),
        Action::ScrollTop => scroll(model, |_, _| 0),
        Action::ScrollBottom => scroll(model, |_, len| len),
        Action::DrillFaster | Action::DrillSlower | Action::DrillFreeze => {
            return drill(model, action);
        }
        Action::FilterOpen
        | Action::FilterApply
        | Action::FilterClear
        | Action::HelpSearch
        | Action::HelpSearchClear => {
            if let Some(instead) = super::filter::apply(model, action) {
                return apply(model, instead, source);
            }
        }
        Action::ClipCopy => super::clip::copy(model),
        Action::FaultsOpen | Action::FaultsNext | Action::FaultsPrev | Action::DrillFault => {
            return super::facilitate::dispatch(model, action);
        }
        // Leaving a run a runner drives: `team::leave` takes these before `apply`.
        Action::ConsoleDetach
        | Action::RunPauseDetach
        | Action::ApprovalApprove
        | Action::ApprovalDeny
        | Action::ApprovalBreakGlass => {}
        // `ebb replay`'s viewer keys: its loop handles them; they never reach a model.
        Action::ReplayPlayPause
        | Action::ReplayStepBack
        | Action::ReplayStepForward
        | Action::ReplayPrevAction
        | Action::ReplayNextAction
        | Action::ReplayFaster
        | Action::ReplaySlower => {}
    }
    Vec::new()
}

fn focus(model: &mut Model, pane: PaneId) {
    model.focus = pane;
    if model.zoom.is_some() {
        model.zoom = Some(pane);
    }
}

/// Scrolls the help layer when it is on top, otherwise the focused pane; clamps to content.
fn scroll(model: &mut Model, f: impl Fn(usize, usize) -> usize) {
    if let Some(Layer::Help { scroll, .. }) = model.layers.last_mut() {
        // The help lists each binding once per mode; the view clamps to its real length.
        let most = Action::ALL.len() * Mode::ALL.len();
        *scroll = f(*scroll, most).min(most);
        return;
    }
    let pane = model.focus;
    let len = content_len(model, pane);
    let next = f(model.scroll_of(pane), len).min(len.saturating_sub(1));
    model.scroll.insert(pane, next);
}

/// Rows of scrollable content in a pane, so scrolling stops at the last one. With
/// several targets a pane also has a heading line per target.
/// A filtered pane has the rows its filter keeps.
pub fn content_len(model: &Model, pane: PaneId) -> usize {
    if let Some(kept) = super::rows::shown(model, pane) {
        return kept.len();
    }
    let headings = |n: usize| if n > 1 { n } else { 0 };
    match pane {
        PaneId::Migration => {
            model
                .migrations
                .values()
                .map(|f| f.value.migrations.len())
                .sum::<usize>()
                + headings(model.migrations.len())
        }
        PaneId::Replication => {
            model
                .replication
                .values()
                .map(|f| f.value.replicas.len())
                .sum::<usize>()
                + headings(model.replication.len())
        }
        PaneId::Storage => {
            model
                .storage
                .values()
                .map(|f| f.value.volumes.len() + f.value.slots.len() + f.value.snapshots.len() + 2)
                .sum::<usize>()
                + model
                    .kube
                    .values()
                    .map(|f| f.value.volumes.len() + f.value.snapshots.len() + 3)
                    .sum::<usize>()
        }
        PaneId::Workload => {
            model
                .workload
                .values()
                .map(|f| f.value.pods.len())
                .sum::<usize>()
                + model
                    .kube
                    .values()
                    .map(|f| {
                        f.value.statefulsets.len()
                            + f.value
                                .statefulsets
                                .iter()
                                .map(|s| s.unready.len())
                                .sum::<usize>()
                            + 1
                    })
                    .sum::<usize>()
        }
        PaneId::Plan => model.plan.as_ref().map_or(0, |p| p.steps.len()),
        PaneId::Timeline => model.timeline.len(),
    }
}

fn drill(model: &mut Model, action: Action) -> Vec<Cmd> {
    let Some(d) = model.drill.as_mut() else {
        model.flash = Some((
            model.now,
            "not a drill: there is no simulated world to control".into(),
        ));
        return Vec::new();
    };
    match action {
        Action::DrillFreeze => {
            d.frozen = !d.frozen;
            vec![Cmd::Drill(DrillCommand::Freeze(d.frozen))]
        }
        _ => {
            let i = SPEEDS
                .iter()
                .position(|s| *s >= d.speed)
                .unwrap_or(SPEEDS.len() - 1);
            let j = if action == Action::DrillFaster {
                (i + 1).min(SPEEDS.len() - 1)
            } else {
                i.saturating_sub(1)
            };
            d.speed = SPEEDS[j];
            vec![Cmd::Drill(DrillCommand::SetSpeed(d.speed))]
        }
    }
}
