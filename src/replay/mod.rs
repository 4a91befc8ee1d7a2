//! Console recording and replay: a console records every input that changes its model
//! (`Tape`), and a `Player` folds them back into the screen it showed at any time.

pub mod bar;
pub mod digest;
pub mod entry;
pub mod playback;
pub mod player;
pub mod recording;
pub mod tape;

pub use entry::Entry;
pub use player::{ConsoleInfo, Player};
pub use tape::{Cap, Tape, TapeTarget};

/// Everything recording and replay can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("cannot encode a recording entry: {0}")]
    Encode(String),
    #[error("recording chunk {seq} is unreadable: {why}")]
    Chunk { seq: i64, why: String },
    #[error("run {0} has no console recording")]
    NoRecording(String),
    #[error("run {run_id} has no recording of console {console}; its consoles: {known}")]
    NoSuchConsole {
        run_id: String,
        console: String,
        known: String,
    },
    #[error("the recording does not begin with the console's starting state")]
    NoStart,
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}
