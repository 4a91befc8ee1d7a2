//! STUB of the replay `Player` (branch `playback`): the API the playback console is built on,
//! backed by a list of synthetic frames. The real one (branch `replay`) replaces this file.
//!
//! Only `Player::from_frames` and `RecordedConsole` are extra here; `load` and `consoles`
//! answer that this build has no recordings.

use crate::app::Model;
use crate::store::Store;
use crate::time::Timestamp;

/// Which console a recording is of.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsoleInfo {
    pub id: String,
    pub user: String,
    pub run_id: String,
}

/// One recorded console of a run, for `ebb replay RUN --list`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedConsole {
    pub info: ConsoleInfo,
    pub from: Timestamp,
    pub to: Timestamp,
    /// The terminal size when the recording began (columns, rows).
    pub size: (u16, u16),
}

#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("run {run_id} has no recorded console{}", console.as_ref().map(|c| format!(" {c}")).unwrap_or_default())]
    NotRecorded {
        run_id: String,
        console: Option<String>,
    },
    #[error("a recording needs at least one frame")]
    Empty,
}

/// One synthetic moment: the model as it was, and the terminal size.
#[derive(Clone, Debug)]
pub struct Frame {
    pub at: Timestamp,
    pub model: Model,
    pub size: (u16, u16),
}

/// A recorded console, seekable to any instant of its recording.
#[derive(Clone, Debug)]
pub struct Player {
    console: ConsoleInfo,
    /// Ascending by time.
    frames: Vec<Frame>,
    times: Vec<Timestamp>,
    actions: Vec<(Timestamp, String)>,
}

impl Player {
    /// STUB: this build keeps no recordings, so every run answers `NotRecorded`.
    pub async fn load(
        _store: &Store,
        run_id: &str,
        console: Option<&str>,
    ) -> Result<Player, ReplayError> {
        Err(ReplayError::NotRecorded {
            run_id: run_id.to_string(),
            console: console.map(str::to_string),
        })
    }

    /// STUB: the recorded consoles of a run (none in this build).
    pub async fn consoles(
        _store: &Store,
        _run_id: &str,
    ) -> Result<Vec<RecordedConsole>, ReplayError> {
        Ok(Vec::new())
    }

    /// A player over synthetic frames (tests): sorted by time; one needed at least.
    pub fn from_frames(
        console: ConsoleInfo,
        mut frames: Vec<Frame>,
        mut actions: Vec<(Timestamp, String)>,
    ) -> Result<Player, ReplayError> {
        if frames.is_empty() {
            return Err(ReplayError::Empty);
        }
        frames.sort_by_key(|f| f.at);
        actions.sort_by_key(|(t, _)| *t);
        let mut times: Vec<Timestamp> = frames.iter().map(|f| f.at).collect();
        times.dedup();
        Ok(Player {
            console,
            frames,
            times,
            actions,
        })
    }

    /// The first and last entry time.
    pub fn span(&self) -> (Timestamp, Timestamp) {
        let first = self.times.first().copied().unwrap_or_default();
        let last = self.times.last().copied().unwrap_or(first);
        (first, last)
    }

    /// Each distinct entry time, ascending.
    pub fn times(&self) -> &[Timestamp] {
        &self.times
    }

    /// The operator's actions by name, ascending.
    pub fn actions(&self) -> &[(Timestamp, String)] {
        &self.actions
    }

    fn frame_at(&self, t: Timestamp) -> &Frame {
        let i = self.frames.partition_point(|f| f.at <= t).saturating_sub(1);
        &self.frames[i.min(self.frames.len() - 1)]
    }

    /// The model as it was at `t` (before the first entry: the first).
    pub fn seek(&mut self, t: Timestamp) -> &Model {
        &self.frame_at(t).model
    }

    /// The console's terminal size at `t`.
    pub fn size_at(&self, t: Timestamp) -> (u16, u16) {
        self.frame_at(t).size
    }

    pub fn console(&self) -> &ConsoleInfo {
        &self.console
    }
}
