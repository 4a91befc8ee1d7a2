//! The player: a console's recording in memory, folded into the model as it was at any
//! time (keyframes keep a seek short), and drawn with the console's own view code.

use ratatui::buffer::Buffer;

use crate::app::{DoorEffect, Model, Msg, Role, resolve_key, update};
use crate::config::keymap::Keymap;
use crate::store::Store;
use crate::time::Timestamp;

use super::ReplayError;
use super::digest::frame_digest;
use super::entry::{Entry, decode_chunk};

/// A model is kept every this many entries (a seek folds fewer than this many).
const KEYFRAME_EVERY: usize = 256;

/// Which console a recording is of.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConsoleInfo {
    /// The console's id (its audit session).
    pub id: String,
    /// The unix user at the console.
    pub user: String,
    pub run_id: String,
    /// How many consoles recorded on the run (this one was picked among them).
    pub of: usize,
}

/// A recorded console of a run, as `ebb replay --list` shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordedConsole {
    pub info: ConsoleInfo,
    pub from: Timestamp,
    pub to: Timestamp,
    /// The terminal size when the recording began (columns, rows).
    pub size: (u16, u16),
}

/// One moment of a synthetic recording (tests, benchmarks): the model and the size.
#[derive(Clone, Debug)]
pub struct Frame {
    pub at: Timestamp,
    pub model: Model,
    pub size: (u16, u16),
}

/// A loaded recording (see the module doc).
pub struct Player {
    info: ConsoleInfo,
    keymap: Keymap,
    entries: Vec<(Timestamp, Entry)>,
    times: Vec<Timestamp>,
    actions: Vec<(Timestamp, String)>,
    /// The terminal's size from each time on.
    sizes: Vec<(Timestamp, (u16, u16))>,
    /// `(n, model)`: the model once the first `n` entries are applied.
    keyframes: Vec<(usize, Model)>,
    cursor: (usize, Model),
}

impl Player {
    /// Loads a console's recording of `run_id`: `console`, or the run's only console,
    /// else the first one that drove (not watched) it. [`Player::console`] says which.
    pub async fn load(
        store: &Store,
        run_id: &str,
        console: Option<&str>,
    ) -> Result<Player, ReplayError> {
        let consoles = store.recorded_consoles(run_id).await?;
        if consoles.is_empty() {
            return Err(ReplayError::NoRecording(run_id.to_string()));
        }
        let picked = match console {
            Some(id) => consoles.iter().find(|c| c.console == id).ok_or_else(|| {
                ReplayError::NoSuchConsole {
                    run_id: run_id.to_string(),
                    console: id.to_string(),
                    known: consoles
                        .iter()
                        .map(|c| format!("{} ({})", c.console, c.operator))
                        .collect::<Vec<_>>()
                        .join(", "),
                }
            })?,
            None => {
                let mut driver = None;
                for c in &consoles {
                    if read_entries(store, run_id, &c.console, true)
                        .await?
                        .first()
                        .is_some_and(|(_, e)| drives(e))
                    {
                        driver = Some(c);
                        break;
                    }
                }
                driver.unwrap_or(&consoles[0])
            }
        };
        let entries = read_entries(store, run_id, &picked.console, false).await?;
        let keymap = match entries.first() {
            Some((_, Entry::Start { keymap, .. })) => {
                crate::config::keymap_by_name(keymap).unwrap_or_default()
            }
            _ => Keymap::default(),
        };
        let mut player = Player::from_entries(entries, keymap)?;
        player.info = ConsoleInfo {
            id: picked.console.clone(),
            user: picked.operator.clone(),
            run_id: run_id.to_string(),
            of: consoles.len(),
        };
        Ok(player)
    }

    /// The recorded consoles of `run_id`, oldest first, with the size each began at.
    pub async fn consoles(
        store: &Store,
        run_id: &str,
    ) -> Result<Vec<RecordedConsole>, ReplayError> {
        let mut out = Vec::new();
        for c in store.recorded_consoles(run_id).await? {
            let first = read_entries(store, run_id, &c.console, true).await?;
            let size = match first.first() {
                Some((_, Entry::Start { width, height, .. })) => (*width, *height),
                _ => (0, 0),
            };
            out.push(RecordedConsole {
                info: ConsoleInfo {
                    id: c.console.clone(),
                    user: c.operator.clone(),
                    run_id: run_id.to_string(),
                    of: 0,
                },
                from: Timestamp(c.first_ms),
                to: Timestamp(c.last_ms),
                size,
            });
        }
        Ok(out)
    }

    /// A player over synthetic moments (tests, benchmarks): each frame's model from its
    /// time on, with `actions` as the operator's. At least one frame.
    pub fn from_frames(
        console: ConsoleInfo,
        mut frames: Vec<Frame>,
        actions: Vec<(Timestamp, String)>,
    ) -> Result<Player, ReplayError> {
        frames.sort_by_key(|f| f.at);
        let entries: Vec<(Timestamp, Entry)> = frames
            .into_iter()
            .map(|f| {
                (
                    f.at,
                    Entry::Start {
                        model: Box::new(f.model),
                        width: f.size.0,
                        height: f.size.1,
                        keymap: String::new(),
                    },
                )
            })
            .collect();
        let mut player = Player::from_entries(entries, Keymap::default())?;
        player.info = console;
        player.actions = actions;
        Ok(player)
    }

    /// A player over entries already in memory (tests, benchmarks); the first must be the
    /// `Start`. Keys are looked up in `keymap`.
    pub fn from_entries(
        entries: Vec<(Timestamp, Entry)>,
        keymap: Keymap,
    ) -> Result<Player, ReplayError> {
        let Some((_, Entry::Start { model, .. })) = entries.first() else {
            return Err(ReplayError::NoStart);
        };
        let info = ConsoleInfo {
            id: String::new(),
            user: model.operator.as_str().to_string(),
            run_id: model
                .run
                .as_ref()
                .map(|r| r.run_id.clone())
                .unwrap_or_default(),
            of: 1,
        };
        let mut times: Vec<Timestamp> = Vec::new();
        let mut actions = Vec::new();
        let mut sizes = Vec::new();
        let mut keyframes = Vec::new();
        let mut model = (**model).clone();
        for (i, (at, e)) in entries.iter().enumerate() {
            if i % KEYFRAME_EVERY == 0 && i > 0 {
                keyframes.push((i, model.clone()));
            }
            if times.last() != Some(at) {
                times.push(*at);
            }
            match e {
                Entry::Start { width, height, .. } | Entry::Resize { width, height } => {
                    sizes.push((*at, (*width, *height)))
                }
                Entry::Msg(Msg::Door(DoorEffect::Dispatched(d))) => {
                    actions.push((*at, d.action.name().to_string()))
                }
                _ => {}
            }
            apply(&mut model, &keymap, e);
        }
        let first = match entries.first() {
            Some((_, Entry::Start { model, .. })) => (**model).clone(),
            _ => return Err(ReplayError::NoStart),
        };
        keyframes.insert(0, (0, first.clone()));
        Ok(Player {
            info,
            keymap,
            entries,
            times,
            actions,
            sizes,
            keyframes,
            cursor: (0, first),
        })
    }

    /// The first and last entries' times.
    pub fn span(&self) -> (Timestamp, Timestamp) {
        (
            self.times.first().copied().unwrap_or_default(),
            self.times.last().copied().unwrap_or_default(),
        )
    }

    /// Each distinct entry time, in order.
    pub fn times(&self) -> &[Timestamp] {
        &self.times
    }

    /// The operator's actions (dotted names) with their times, in order.
    pub fn actions(&self) -> &[(Timestamp, String)] {
        &self.actions
    }

    /// The model as it was at `t`: every entry timed at or before `t` applied.
    pub fn seek(&mut self, t: Timestamp) -> &Model {
        let n = self.entries.partition_point(|(at, _)| *at <= t);
        self.fold_to(n);
        &self.cursor.1
    }

    /// The console's terminal size at `t` (its first size before the recording began).
    pub fn size_at(&self, t: Timestamp) -> (u16, u16) {
        let i = self.sizes.partition_point(|(at, _)| *at <= t);
        self.sizes
            .get(i.saturating_sub(1))
            .map(|(_, s)| *s)
            .unwrap_or((80, 24))
    }

    /// Which console this is.
    pub fn console(&self) -> &ConsoleInfo {
        &self.info
    }

    /// The keymap the console ran with (by its recorded name), or the one given.
    pub fn keymap(&self) -> &Keymap {
        &self.keymap
    }

    /// Replays the whole recording in order and checks every recorded frame against the
    /// frame `draw` makes of the replayed model at the size then (the console's view, in
    /// `tui::replayed`): how many frames there were, and those that differ, as (time, entry
    /// index).
    pub fn verify_frames_with(
        &self,
        mut draw: impl FnMut(&Model, (u16, u16)) -> Buffer,
    ) -> (usize, Vec<(Timestamp, usize)>) {
        let mut frames = 0;
        let mut bad = Vec::new();
        let mut model = self.keyframes[0].1.clone();
        let mut size = (80, 24);
        for (i, (at, e)) in self.entries.iter().enumerate() {
            match e {
                Entry::Start { width, height, .. } | Entry::Resize { width, height } => {
                    size = (*width, *height)
                }
                Entry::Frame { digest } => {
                    frames += 1;
                    let buf = draw(&model, size);
                    if frame_digest(&buf) != *digest {
                        bad.push((*at, i));
                    }
                }
                _ => {}
            }
            apply(&mut model, &self.keymap, e);
        }
        (frames, bad)
    }

    /// Moves the cursor to "the first `n` entries applied", from itself when it is at or
    /// shortly before `n`, else from the nearest keyframe at or before `n`.
    fn fold_to(&mut self, n: usize) {
        let (at, _) = &self.cursor;
        if !(*at <= n && n - *at < KEYFRAME_EVERY) {
            let k = self.keyframes.partition_point(|(i, _)| *i <= n);
            let (i, m) = &self.keyframes[k.saturating_sub(1)];
            self.cursor = (*i, m.clone());
        }
        let (at, model) = &mut self.cursor;
        for (_, e) in &self.entries[*at..n] {
            apply(model, &self.keymap, e);
        }
        *at = n;
    }
}

/// Applies one entry to the model, as the console did.
fn apply(model: &mut Model, keymap: &Keymap, e: &Entry) {
    match e {
        Entry::Start { model: m, .. } => *model = (**m).clone(),
        Entry::Key(k) => {
            let _ = resolve_key(model, keymap, *k);
        }
        Entry::Msg(m) => {
            let _ = update(model, keymap, m.clone());
        }
        Entry::Resize { .. } | Entry::Frame { .. } | Entry::Stopped { .. } => {}
    }
}

/// Whether the console that began with `e` drove its run (a watcher did not).
fn drives(e: &Entry) -> bool {
    match e {
        Entry::Start { model, .. } => model.team.as_ref().is_none_or(|t| t.role == Role::Driver),
        _ => false,
    }
}

/// A console's entries in order; only its first chunk when `first_only`.
async fn read_entries(
    store: &Store,
    run_id: &str,
    console: &str,
    first_only: bool,
) -> Result<Vec<(Timestamp, Entry)>, ReplayError> {
    let mut out = Vec::new();
    for chunk in store.recording(run_id, console).await? {
        out.extend(decode_chunk(chunk.seq, &chunk.body)?);
        if first_only {
            break;
        }
    }
    Ok(out)
}
