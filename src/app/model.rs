//! `Model`: all state the screen shows, as plain data. Every figure keeps the time it was
//! observed, so the view can tell current from stale.

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::action::Action;
use crate::config::keymap::{KeyChord, Mode};
use crate::engine::RunView;
use crate::plan::PlanOutline;
use crate::sources::kube::KubeSnapshot;
use crate::sources::{
    AppSnapshot, MigrationSnapshot, ReplicationSnapshot, Severity, SourceId, StorageSnapshot,
};
use crate::text::DisplayText;
use crate::time::Timestamp;

/// How many timeline entries are kept.
pub const TIMELINE_CAP: usize = 500;
/// Samples of lag history kept per replica (one per observation).
pub const LAG_HISTORY: usize = 120;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum PaneId {
    Migration,
    Replication,
    Storage,
    Workload,
    Plan,
    Timeline,
}

impl PaneId {
    /// Focus order.
    pub const ALL: [PaneId; 6] = [
        PaneId::Migration,
        PaneId::Replication,
        PaneId::Storage,
        PaneId::Workload,
        PaneId::Plan,
        PaneId::Timeline,
    ];

    pub fn title(self) -> &'static str {
        match self {
            PaneId::Migration => "Migration",
            PaneId::Replication => "Replication",
            PaneId::Storage => "Storage",
            PaneId::Workload => "Workload",
            PaneId::Plan => "Plan",
            PaneId::Timeline => "Timeline",
        }
    }

    pub fn index(self) -> usize {
        PaneId::ALL.iter().position(|p| *p == self).unwrap_or(0)
    }
}

/// A value with the time it was observed and how often its source reports.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Figure<T> {
    pub value: T,
    pub source: SourceId,
    pub at: Timestamp,
    pub interval: Duration,
}

impl<T> Figure<T> {
    /// `Some(age)` once the figure is older than two intervals of its source.
    pub fn stale_age(&self, now: Timestamp) -> Option<Duration> {
        let age = self.at.age_at(now);
        (age > self.interval * 2).then_some(age)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TimelineKind {
    Event(Severity),
    Action,
    System,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TimelineEntry {
    pub at: Timestamp,
    pub kind: TimelineKind,
    pub text: DisplayText,
}

/// The drill world's clock as the facilitator controls it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DrillState {
    pub scenario: DisplayText,
    pub title: DisplayText,
    pub speed: f64,
    pub frozen: bool,
}

/// A modal layer above the main screen; the top one receives keys.
#[derive(Clone, Debug, PartialEq)]
pub enum Layer {
    Help {
        scroll: usize,
        /// What the help is narrowed to (`/`): bindings whose key, action or description
        /// contain it, ignoring case. Empty: every binding.
        search: String,
    },
    /// The one-line filter input (`/`): typing edits the target's filter live.
    Filter {
        target: super::filter::Target,
    },
    Palette {
        input: String,
        selected: usize,
    },
    /// Asks for a typed reason before a dangerous verb (abort, rollback, skip, in-doubt).
    Confirm {
        action: Action,
        input: String,
        /// The most dangerous verbs ask twice: first the reason, then (with the reason kept
        /// here) the plan's name typed out.
        reason: Option<String>,
    },
    /// A multi-line note for the audit log.
    Note {
        editor: Box<super::note::NoteEditor>,
    },
    /// Leaving a run a runner drives: detach, or pause and detach.
    Leave,
    /// The facilitator's fault menu, narrowed by what is typed.
    Faults {
        input: String,
        selected: usize,
    },
}

impl Layer {
    pub fn mode(&self) -> Mode {
        match self {
            Layer::Help { .. } => Mode::Help,
            Layer::Palette { .. } => Mode::Palette,
            Layer::Confirm { .. } => Mode::Confirm,
            Layer::Note { .. } => Mode::Note,
            Layer::Leave => Mode::Leave,
            Layer::Faults { .. } => Mode::Faults,
            Layer::Filter { .. } => Mode::Filter,
        }
    }
}

/// Serde is for console recordings (`crate::replay`): a recording starts from the model
/// the console opened with, when no layer is open yet (layers are not kept).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Model {
    /// What is being watched: `drill: backfill-slot-fill` or a target name.
    pub target: DisplayText,
    pub operator: DisplayText,
    /// `--operator NAME`, recorded with the unix identity in the audit log.
    pub operator_annotation: Option<String>,
    pub drill: Option<DrillState>,
    pub plan: Option<PlanOutline>,
    /// The run of the plan, as the engine last reported it; `None` before it starts.
    pub run: Option<RunView>,
    pub now: Timestamp,
    pub started_at: Timestamp,

    pub focus: PaneId,
    pub zoom: Option<PaneId>,
    pub scroll: BTreeMap<PaneId, usize>,
    /// Each pane's row filter (`/`), kept when focus moves; view state, never a run verb.
    #[serde(default)]
    pub filters: BTreeMap<PaneId, String>,
    #[serde(skip)]
    pub layers: Vec<Layer>,
    /// Keys typed so far of a multi-key chord.
    pub pending: Vec<KeyChord>,
    /// A one-line message for the responder, with when it was set.
    pub flash: Option<(Timestamp, String)>,
    /// Text `clip.copy` asked for, waiting for the terminal loop to write it as OSC 52
    /// (the loop takes it; nothing else reads it).
    #[serde(skip)]
    pub clipboard: Option<String>,
    /// Why the audit log cannot be written, while it cannot (run control is refused).
    pub audit_down: Option<String>,
    pub quit: bool,

    /// The sources the console was told to watch, in the order they were declared; panes
    /// show these even before (or without) their first figure. Empty in a drill.
    pub watched: Vec<SourceId>,
    /// Run-control keys reach an engine (a drill with a plan, `ebb run`); a watching
    /// console (`ebb console`) offers none.
    pub runnable: bool,
    /// The latest figure of each kind, per source: two targets never overwrite each other.
    pub replication: BTreeMap<SourceId, Figure<ReplicationSnapshot>>,
    pub storage: BTreeMap<SourceId, Figure<StorageSnapshot>>,
    pub migrations: BTreeMap<SourceId, Figure<MigrationSnapshot>>,
    pub workload: BTreeMap<SourceId, Figure<AppSnapshot>>,
    /// Kubernetes targets: rollouts (Workload pane), claims and snapshots (Storage pane).
    pub kube: BTreeMap<SourceId, Figure<KubeSnapshot>>,
    /// Time lag in milliseconds per (source, replica), oldest first; `None` = idle.
    #[serde(with = "pairs")]
    pub lag_history: BTreeMap<(SourceId, String), VecDeque<Option<u64>>>,
    /// The last error of each source, with when it was seen; cleared by its next good figure.
    pub source_errors: BTreeMap<SourceId, (Timestamp, DisplayText)>,
    /// Newest first.
    pub timeline: VecDeque<TimelineEntry>,
    /// Set when the console is attached to a run a runner process drives.
    pub team: Option<super::team::Team>,
    /// A drill's objectives as last scored (the facilitator's console shows them).
    pub objectives: Option<Figure<Vec<crate::sources::objectives::ObjectiveStatus>>>,
    /// Set on a facilitator's console: the fault menu and the drill as last published.
    pub facilitator: Option<super::facilitate::Facilitator>,
}

impl Model {
    pub fn new(target: DisplayText, operator: DisplayText, now: Timestamp) -> Model {
        Model {
            target,
            operator,
            operator_annotation: None,
            drill: None,
            plan: None,
            run: None,
            now,
            started_at: now,
            focus: PaneId::Migration,
            zoom: None,
            scroll: BTreeMap::new(),
            filters: BTreeMap::new(),
            layers: Vec::new(),
            pending: Vec::new(),
            flash: None,
            clipboard: None,
            audit_down: None,
            quit: false,
            watched: Vec::new(),
            runnable: false,
            replication: BTreeMap::new(),
            storage: BTreeMap::new(),
            migrations: BTreeMap::new(),
            workload: BTreeMap::new(),
            kube: BTreeMap::new(),
            lag_history: BTreeMap::new(),
            source_errors: BTreeMap::new(),
            timeline: VecDeque::new(),
            team: None,
            objectives: None,
            facilitator: None,
        }
    }

    /// The keymap mode of whatever receives keys now.
    pub fn mode(&self) -> Mode {
        self.layers.last().map(Layer::mode).unwrap_or(Mode::Main)
    }

    pub fn scroll_of(&self, pane: PaneId) -> usize {
        self.scroll.get(&pane).copied().unwrap_or(0)
    }

    /// The pane's filter, when one is set.
    pub fn filter_of(&self, pane: PaneId) -> Option<&str> {
        self.filters
            .get(&pane)
            .map(String::as_str)
            .filter(|f| !f.is_empty())
    }

    pub fn push_timeline(&mut self, at: Timestamp, kind: TimelineKind, text: DisplayText) {
        self.timeline.push_front(TimelineEntry { at, kind, text });
        self.timeline.truncate(TIMELINE_CAP);
    }

    /// The error of `source` if it has failed since its last good figure.
    pub fn error_of(&self, source: &SourceId) -> Option<&(Timestamp, DisplayText)> {
        self.source_errors.get(source)
    }

    /// The sources a pane of one kind shows, in order: the watched ones that have figures
    /// of this kind or none of any kind yet (waiting, or failing from the start), then any
    /// other source with figures of this kind. A standby never shows in Storage.
    /// A Kubernetes source reports only its own kind of figure, so it waits in no other pane.
    pub fn sources_for<T>(&self, figures: &BTreeMap<SourceId, Figure<T>>) -> Vec<SourceId> {
        let mut out: Vec<SourceId> = self
            .watched
            .iter()
            .filter(|s| {
                figures.contains_key(*s) || (!self.has_any_figure(s) && !s.0.starts_with("kube:"))
            })
            .cloned()
            .collect();
        for s in figures.keys() {
            if !out.contains(s) {
                out.push(s.clone());
            }
        }
        out
    }

    /// The Kubernetes sources, in order: the watched ones, then any other with figures.
    pub fn kube_sources(&self) -> Vec<SourceId> {
        let mut out: Vec<SourceId> = self
            .watched
            .iter()
            .filter(|s| s.0.starts_with("kube:"))
            .cloned()
            .collect();
        for s in self.kube.keys() {
            if !out.contains(s) {
                out.push(s.clone());
            }
        }
        out
    }

    /// The console watches targets and none of them is PostgreSQL.
    pub fn no_postgres_watched(&self) -> bool {
        !self.watched.is_empty() && self.watched.iter().all(|s| s.0.starts_with("kube:"))
    }

    /// Whether `source` has sent a figure of any kind.
    pub fn has_any_figure(&self, source: &SourceId) -> bool {
        self.replication.contains_key(source)
            || self.storage.contains_key(source)
            || self.migrations.contains_key(source)
            || self.workload.contains_key(source)
            || self.kube.contains_key(source)
    }
}

/// A map whose keys are not strings, written as a list of `[key, value]` pairs.
mod pairs {
    use std::collections::BTreeMap;

    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<K: Serialize, V: Serialize, S: Serializer>(
        map: &BTreeMap<K, V>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.collect_seq(map.iter())
    }

    pub fn deserialize<'de, K, V, D>(d: D) -> Result<BTreeMap<K, V>, D::Error>
    where
        K: Deserialize<'de> + Ord,
        V: Deserialize<'de>,
        D: Deserializer<'de>,
    {
        Ok(Vec::<(K, V)>::deserialize(d)?.into_iter().collect())
    }
}
