//! `Action`: everything a key, the palette or (later) a headless control line can ask for,
//! as data with a stable dotted name. Keymaps name actions; `app::dispatch` applies them.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

macro_rules! actions {
    ($( $variant:ident => $name:literal, $desc:literal; )*) => {
        /// A thing the user asked for. The dotted name is stable: keymaps and audit records use it.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Action { $( $variant, )* }

        impl Action {
            pub const ALL: &'static [Action] = &[ $( Action::$variant, )* ];

            /// The stable dotted name, e.g. `pane.zoom`.
            pub fn name(self) -> &'static str {
                match self { $( Action::$variant => $name, )* }
            }

            /// One line for help, the palette and the hint bar.
            pub fn description(self) -> &'static str {
                match self { $( Action::$variant => $desc, )* }
            }

            pub fn from_name(name: &str) -> Option<Action> {
                match name { $( $name => Some(Action::$variant), )* _ => None }
            }
        }
    };
}

actions! {
    Quit => "app.quit", "quit ebb";
    HelpToggle => "help.toggle", "show or hide key help";
    PaletteOpen => "palette.open", "open the command palette";
    LayerClose => "layer.close", "close this layer";
    FocusNext => "pane.focus_next", "focus the next pane";
    FocusPrev => "pane.focus_prev", "focus the previous pane";
    FocusMigration => "pane.focus.migration", "focus the Migration pane";
    FocusReplication => "pane.focus.replication", "focus the Replication pane";
    FocusStorage => "pane.focus.storage", "focus the Storage pane";
    FocusWorkload => "pane.focus.workload", "focus the Workload pane";
    FocusPlan => "pane.focus.plan", "focus the Plan pane";
    FocusTimeline => "pane.focus.timeline", "focus the Timeline pane";
    Zoom => "pane.zoom", "zoom the focused pane, or unzoom";
    ScrollDown => "scroll.down", "scroll down one line";
    ScrollUp => "scroll.up", "scroll up one line";
    PageDown => "scroll.page_down", "scroll down one page";
    PageUp => "scroll.page_up", "scroll up one page";
    ScrollTop => "scroll.top", "scroll to the top";
    ScrollBottom => "scroll.bottom", "scroll to the bottom";
    FilterOpen => "filter.open", "filter the rows of the focused pane";
    FilterApply => "filter.apply", "keep the typed filter, close the filter line";
    FilterClear => "filter.clear", "clear the filter; the filter line closes";
    HelpSearch => "help.search", "search the key help";
    HelpSearchClear => "help.search.clear", "clear the help search, or close the help";
    ClipCopy => "clip.copy", "copy the selected row or the run id (OSC 52)";
    PaletteSubmit => "palette.submit", "run the selected command";
    PaletteNext => "palette.next", "select the next command";
    PalettePrev => "palette.prev", "select the previous command";
    RunResume => "run.resume", "run or resume the plan";
    RunPause => "run.pause", "pause the run at the next safe point";
    RunStep => "run.step", "run exactly the next step, then pause";
    RunAbort => "run.abort", "abort: stop forward progress, leave things as they are";
    RunRollback => "run.rollback", "roll back: undo completed steps in reverse order";
    RunRetry => "run.retry", "retry the failed step";
    RunSkip => "run.skip", "skip the failed (or next) step, with a reason";
    RunConfirm => "run.confirm", "confirm the manual step in progress";
    RunBatchSmaller => "run.batch.smaller", "halve the batch size of the running batched step";
    RunBatchLarger => "run.batch.larger", "double the batch size of the running batched step";
    RunResolveHappened => "run.resolve.happened", "in doubt: the step's effect happened";
    RunResolveNotHappened => "run.resolve.not_happened", "in doubt: the step's effect did not happen";
    ConfirmSubmit => "confirm.submit", "confirm with the typed reason";
    NoteOpen => "note.open", "write a note into the audit log";
    NoteSave => "note.save", "record the note";
    DrillFaster => "drill.faster", "drill: run the world faster";
    DrillSlower => "drill.slower", "drill: run the world slower";
    DrillFreeze => "drill.freeze", "drill: freeze or unfreeze the world clock";
    FaultsOpen => "faults.open", "drill: open the facilitator's menu (inject or end a fault, hide a source, announce)";
    FaultsNext => "faults.next", "select the next line of the facilitator's menu";
    FaultsPrev => "faults.prev", "select the previous line of the facilitator's menu";
    DrillFault => "drill.fault", "drill: carry out the selected line of the facilitator's menu";
    ConsoleDetach => "console.detach", "leave: the run goes on as its plan's on_detach says";
    RunPauseDetach => "run.pause_detach", "leave: pause the run at the next safe point, then detach";
    ApprovalApprove => "approval.approve", "approve the request that waits for a second person, with a reason";
    ApprovalDeny => "approval.deny", "deny the request that waits for a second person, with a reason";
    ApprovalBreakGlass => "approval.break_glass", "break glass: run your request without approval (policy), with a justification";
    ReplayPlayPause => "replay.play_pause", "replay: play or pause the recording";
    ReplayStepBack => "replay.step_back", "replay: back to the previous recorded moment";
    ReplayStepForward => "replay.step_forward", "replay: on to the next recorded moment";
    ReplayPrevAction => "replay.prev_action", "replay: jump to the previous operator action";
    ReplayNextAction => "replay.next_action", "replay: jump to the next operator action";
    ReplayFaster => "replay.faster", "replay: play faster (up to ×64)";
    ReplaySlower => "replay.slower", "replay: play slower (down to ×0.25)";
}

impl Action {
    /// Actions worth a place in the key-hint bar, in the order they are offered.
    pub fn hint_rank(self) -> Option<u8> {
        Some(match self {
            Action::HelpToggle => 0,
            Action::RunResume => 1,
            Action::RunPause => 2,
            Action::RunStep => 3,
            Action::RunRollback => 4,
            Action::RunAbort => 5,
            Action::RunConfirm => 6,
            Action::PaletteOpen => 7,
            Action::FocusNext => 8,
            Action::Zoom => 9,
            Action::DrillFreeze => 10,
            Action::DrillFaster => 11,
            Action::Quit => 12,
            Action::LayerClose => 13,
            Action::PaletteSubmit => 14,
            Action::PaletteNext => 15,
            Action::ConfirmSubmit => 16,
            Action::NoteOpen => 17,
            Action::NoteSave => 18,
            Action::ConsoleDetach => 19,
            Action::RunPauseDetach => 20,
            Action::ApprovalApprove => 21,
            Action::ApprovalDeny => 22,
            Action::ApprovalBreakGlass => 23,
            Action::FaultsOpen => 24,
            Action::DrillFault => 25,
            Action::FaultsNext => 26,
            Action::FilterOpen => 27,
            Action::FilterApply => 28,
            Action::FilterClear => 29,
            Action::HelpSearch => 30,
            Action::ClipCopy => 31,
            _ => return None,
        })
    }

    /// A short label for the hint bar.
    pub fn short(self) -> &'static str {
        match self {
            Action::HelpToggle => "help",
            Action::PaletteOpen => "commands",
            Action::FocusNext => "next pane",
            Action::FocusPrev => "prev pane",
            Action::Zoom => "zoom",
            Action::ScrollDown => "scroll",
            Action::DrillFreeze => "freeze",
            Action::DrillFaster => "faster",
            Action::DrillSlower => "slower",
            Action::Quit => "quit",
            Action::LayerClose => "close",
            Action::FilterOpen => "filter",
            Action::FilterApply => "apply",
            Action::FilterClear => "clear",
            Action::HelpSearch => "search",
            Action::HelpSearchClear => "clear search",
            Action::ClipCopy => "copy",
            Action::PaletteSubmit => "run",
            Action::PaletteNext => "next",
            Action::RunResume => "run",
            Action::RunPause => "pause",
            Action::RunStep => "step",
            Action::RunAbort => "abort",
            Action::RunRollback => "rollback",
            Action::RunRetry => "retry",
            Action::RunSkip => "skip",
            Action::RunConfirm => "confirm",
            Action::RunBatchSmaller => "smaller batches",
            Action::RunBatchLarger => "larger batches",
            Action::ConfirmSubmit => "confirm",
            Action::NoteOpen => "note",
            Action::NoteSave => "save note",
            Action::ConsoleDetach => "detach",
            Action::RunPauseDetach => "pause and detach",
            Action::ApprovalApprove => "approve",
            Action::ApprovalDeny => "deny",
            Action::ApprovalBreakGlass => "break glass",
            Action::FaultsOpen => "facilitate",
            Action::DrillFault => "carry out",
            Action::FaultsNext => "next",
            Action::ReplayPlayPause => "play/pause",
            Action::ReplayStepBack => "back",
            Action::ReplayStepForward => "step",
            Action::ReplayPrevAction => "prev action",
            Action::ReplayNextAction => "next action",
            Action::ReplayFaster => "faster",
            Action::ReplaySlower => "slower",
            _ => self.name(),
        }
    }
}

impl Action {
    /// Actions that only move the view (focus, scroll, layers); they are not worth a
    /// timeline entry. Everything else is shown in the Timeline when dispatched.
    pub fn is_navigation(self) -> bool {
        !matches!(
            self,
            Action::Quit
                | Action::DrillFault
                | Action::DrillFaster
                | Action::DrillSlower
                | Action::DrillFreeze
                | Action::RunResume
                | Action::RunPause
                | Action::RunStep
                | Action::RunAbort
                | Action::RunRollback
                | Action::RunRetry
                | Action::RunSkip
                | Action::RunConfirm
                | Action::RunBatchSmaller
                | Action::RunBatchLarger
                | Action::RunResolveHappened
                | Action::RunResolveNotHappened
                | Action::NoteSave
                | Action::ConsoleDetach
                | Action::RunPauseDetach
                | Action::ApprovalApprove
                | Action::ApprovalDeny
                | Action::ApprovalBreakGlass
        )
    }
}

impl Action {
    /// Verbs that need a typed reason in a confirm layer before they take effect.
    pub fn needs_reason(self) -> bool {
        matches!(
            self,
            Action::RunAbort
                | Action::RunRollback
                | Action::RunSkip
                | Action::RunResolveHappened
                | Action::RunResolveNotHappened
                | Action::ApprovalApprove
                | Action::ApprovalDeny
                | Action::ApprovalBreakGlass
        )
    }
}

impl Action {
    /// Viewer-only keys of `ebb replay`: handled by the replay loop, never dispatched to a
    /// model or a run, never offered by the live console's palette.
    pub fn is_replay(self) -> bool {
        matches!(
            self,
            Action::ReplayPlayPause
                | Action::ReplayStepBack
                | Action::ReplayStepForward
                | Action::ReplayPrevAction
                | Action::ReplayNextAction
                | Action::ReplayFaster
                | Action::ReplaySlower
        )
    }
}

impl Action {
    /// Filter and help-search keys: view state only, applied where keys are resolved
    /// (`app::filter`), never through the audit door; a recording replays them as keys.
    pub fn is_view_local(self) -> bool {
        matches!(
            self,
            Action::FilterOpen
                | Action::FilterApply
                | Action::FilterClear
                | Action::HelpSearch
                | Action::HelpSearchClear
        )
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for Action {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// By its dotted name (console recordings read actions back).
impl<'de> Deserialize<'de> for Action {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        Action::from_name(&name)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown action `{name}`")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for a in Action::ALL {
            assert_eq!(Action::from_name(a.name()), Some(*a));
            assert!(seen.insert(a.name()), "duplicate name {}", a.name());
            assert!(a.name().contains('.'), "{} is not dotted", a.name());
        }
        assert_eq!(Action::from_name("no.such"), None);
    }
}
