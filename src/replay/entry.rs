//! What a console's recording holds: `Entry`s, each with the loop iteration's time, and
//! how a chunk of them is written (JSON lines, deflated) and read back.

use serde::{Deserialize, Serialize};

use crate::app::{Model, Msg};
use crate::config::keymap::KeyChord;
use crate::text::verbatim;
use crate::time::Timestamp;

use super::ReplayError;

/// One input of a console, in the order it acted. The state at T is the fold of
/// the entries timed at or before T, from the `Start`.
// The model and observations are the common entries; boxing the model keeps the rest small.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Entry {
    /// The model the console opened with, at its terminal's size.
    Start {
        model: Box<Model>,
        width: u16,
        height: u16,
        /// The name of the keymap the console ran with (replay looks keys up in it).
        #[serde(default)]
        keymap: String,
    },
    /// The terminal's size changed.
    Resize { width: u16, height: u16 },
    /// A key, as `resolve_key` took it (the door's effects follow as `Msg::Door`).
    Key(KeyChord),
    /// A message into `update`.
    Msg(Msg),
    /// The SHA-256 of the frame drawn at this time (see `replay::digest`).
    Frame { digest: String },
    /// The recording ended here, early (its cap, or the store refused it).
    Stopped { reason: String },
}

/// Appends `[at, entry]` and a line break to `out` (text kept verbatim).
pub fn encode_line(out: &mut Vec<u8>, at: Timestamp, entry: &Entry) -> Result<(), ReplayError> {
    verbatim::with(|| serde_json::to_writer(&mut *out, &(at, entry)))
        .map_err(|e| ReplayError::Encode(e.to_string()))?;
    out.push(b'\n');
    Ok(())
}

/// The compressed form of a chunk's JSON lines.
pub fn compress(lines: &[u8]) -> Vec<u8> {
    miniz_oxide::deflate::compress_to_vec(lines, COMPRESSION)
}

/// A chunk never inflates past this (a corrupt or hostile body stops here).
const MAX_CHUNK: usize = 256 << 20;
/// Deflate level: 6 is zlib's default, a good trade of size for speed here.
const COMPRESSION: u8 = 6;

/// The entries of one stored chunk; `seq` names it in errors.
pub fn decode_chunk(seq: i64, body: &[u8]) -> Result<Vec<(Timestamp, Entry)>, ReplayError> {
    let lines =
        miniz_oxide::inflate::decompress_to_vec_with_limit(body, MAX_CHUNK).map_err(|e| {
            ReplayError::Chunk {
                seq,
                why: format!("cannot inflate: {e:?}"),
            }
        })?;
    verbatim::with(|| {
        lines
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .enumerate()
            .map(|(i, l)| {
                serde_json::from_slice(l).map_err(|e| ReplayError::Chunk {
                    seq,
                    why: format!("entry {}: {e}", i + 1),
                })
            })
            .collect()
    })
}
