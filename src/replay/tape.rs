//! A console's recording as it runs: entries encoded as they come, flushed every ~5 s to a
//! writer task that deflates them into the store; the cap or a failed write stops it.
//
// The console never waits on the store; a full queue, the cap or a failed write stops the
// recording (with a `Stopped` entry where it can) and the console says so once.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use ratatui::buffer::Buffer;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::app::{Model, Msg};
use crate::config::keymap::KeyChord;
use crate::replay::recording::Recording;
use crate::store::{NewChunk, Store};
use crate::time::Timestamp;

use super::digest::frame_digest;
use super::entry::{Entry, compress, encode_line};

/// How often the pending entries go to the store.
pub const FLUSH_EVERY_MS: i64 = 5_000;
/// At most one periodic frame digest a second (frames after keys are always kept).
pub const FRAME_EVERY_MS: i64 = 1_000;
/// Chunks waiting for the store; more means the store cannot keep up.
const QUEUE: usize = 16;
/// What a console keeps in memory while its run has no id yet, at most.
const UNNAMED_MAX: usize = 16 << 20;
/// How long a console's exit waits for its last chunk to be stored.
const FINISH_WAIT: Duration = Duration::from_secs(5);

/// How much one console may record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cap {
    /// Compressed bytes stored, at most.
    pub bytes: u64,
}

impl Default for Cap {
    /// 64 MiB: at the budget of 2 KB/s, more than eight hours of a busy console.
    fn default() -> Self {
        Cap { bytes: 64 << 20 }
    }
}

/// Where a recording goes: a run, a console (its audit session) and its operator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TapeTarget {
    /// `None` for a drill whose run starts later (with the operator's first run key): the
    /// recording is kept in memory until the engine names the run.
    pub run_id: Option<String>,
    pub console: String,
    pub operator: String,
}

/// Encoded entries handed to the writer.
struct Lines {
    run_id: String,
    first: Timestamp,
    last: Timestamp,
    entries: i64,
    body: Vec<u8>,
}

/// Why the recording stopped, shared with the writer.
#[derive(Default)]
struct Stop {
    stopped: AtomicBool,
    why: Mutex<Option<String>>,
}

impl Stop {
    fn set(&self, why: String) {
        if !self.stopped.swap(true, Ordering::SeqCst)
            && let Ok(mut w) = self.why.lock()
        {
            *w = Some(why);
        }
    }
}

/// A console's recording (see the module doc).
pub struct Tape {
    pending: Vec<u8>,
    entries: i64,
    first: Option<Timestamp>,
    last: Timestamp,
    last_flush: Option<Timestamp>,
    last_frame: Option<Timestamp>,
    tx: Option<mpsc::Sender<Lines>>,
    run_id: Option<String>,
    stop: Arc<Stop>,
    told: bool,
    writer: Option<JoinHandle<()>>,
}

impl Tape {
    /// Starts recording into `store` (the writer is a task on the current runtime).
    pub fn start(store: Store, target: TapeTarget, cap: Cap) -> Tape {
        let (tx, rx) = mpsc::channel(QUEUE);
        let stop = Arc::new(Stop::default());
        let run_id = target.run_id.clone();
        let writer = tokio::spawn(write(store, target, cap, rx, stop.clone()));
        Tape {
            pending: Vec::with_capacity(64 << 10),
            entries: 0,
            first: None,
            last: Timestamp(0),
            last_flush: None,
            last_frame: None,
            tx: Some(tx),
            run_id,
            stop,
            told: false,
            writer: Some(writer),
        }
    }

    /// Appends one entry (nothing once the recording has stopped).
    pub fn record(&mut self, at: Timestamp, entry: &Entry) {
        if self.stop.stopped.load(Ordering::Relaxed) {
            return;
        }
        if let Err(e) = encode_line(&mut self.pending, at, entry) {
            self.stop.set(e.to_string());
            return;
        }
        self.entries += 1;
        self.first.get_or_insert(at);
        self.last = at;
        let since = *self.last_flush.get_or_insert(at);
        if at.0 - since.0 >= FLUSH_EVERY_MS {
            self.flush(at);
        }
        if self.run_id.is_none() && self.pending.len() > UNNAMED_MAX {
            self.stop.set("no run was started to keep it with".into());
        }
    }

    fn flush(&mut self, at: Timestamp) {
        self.last_flush = Some(at);
        let Some(run_id) = self.run_id.clone() else {
            return;
        };
        let (Some(first), Some(tx)) = (self.first.take(), self.tx.as_ref()) else {
            return;
        };
        let lines = Lines {
            run_id,
            first,
            last: self.last,
            entries: std::mem::take(&mut self.entries),
            body: std::mem::replace(&mut self.pending, Vec::with_capacity(64 << 10)),
        };
        if let Err(mpsc::error::TrySendError::Full(_)) = tx.try_send(lines) {
            self.stop
                .set("the store does not keep up with the recording".into());
        }
    }
}

impl Recording for Tape {
    fn start(&mut self, at: Timestamp, model: &Model, size: (u16, u16), keymap: &str) {
        self.record(
            at,
            &Entry::Start {
                model: Box::new(model.clone()),
                width: size.0,
                height: size.1,
                keymap: keymap.to_string(),
            },
        );
    }

    fn key(&mut self, at: Timestamp, key: KeyChord) {
        self.record(at, &Entry::Key(key));
    }

    fn msg(&mut self, at: Timestamp, msg: &Msg) {
        if self.run_id.is_none()
            && let Msg::Engine(crate::engine::EngineEvent::View(v)) = msg
        {
            self.run_id = Some(v.run_id.clone());
        }
        // Encoded at once: `Entry::Msg` owns its message, so it is cloned here.
        self.record(at, &Entry::Msg(msg.clone()));
    }

    fn resize(&mut self, at: Timestamp, size: (u16, u16)) {
        self.record(
            at,
            &Entry::Resize {
                width: size.0,
                height: size.1,
            },
        );
    }

    fn frame_due(&self, at: Timestamp, after_key: bool) -> bool {
        after_key || self.last_frame.is_none_or(|f| at.0 - f.0 >= FRAME_EVERY_MS)
    }

    fn frame(&mut self, at: Timestamp, buffer: &Buffer) {
        self.last_frame = Some(at);
        let digest = frame_digest(buffer);
        self.record(at, &Entry::Frame { digest });
    }

    fn stopped(&mut self) -> Option<String> {
        if self.told || !self.stop.stopped.load(Ordering::Relaxed) {
            return None;
        }
        self.told = true;
        self.stop.why.lock().ok().and_then(|w| w.clone())
    }

    fn finish(mut self: Box<Self>, at: Timestamp) -> BoxFuture<'static, ()> {
        self.flush(at);
        self.tx = None;
        let writer = self.writer.take();
        Box::pin(async move {
            if let Some(w) = writer
                && tokio::time::timeout(FINISH_WAIT, w).await.is_err()
            {
                tracing::warn!("the console's recording was not all stored before it exited");
            }
        })
    }
}

/// The writer: deflates each chunk and appends it, until the queue closes, the cap is
/// reached (a last chunk then says so) or the store refuses a write.
async fn write(
    store: Store,
    target: TapeTarget,
    cap: Cap,
    mut rx: mpsc::Receiver<Lines>,
    stop: Arc<Stop>,
) {
    let mut seq = 0i64;
    let mut stored = 0u64;
    while let Some(lines) = rx.recv().await {
        let mut body = compress(&lines.body);
        let mut chunk = NewChunk {
            run_id: lines.run_id.clone(),
            console: target.console.clone(),
            seq,
            operator: target.operator.clone(),
            first_ms: lines.first.0,
            last_ms: lines.last.0,
            entries: lines.entries,
            body: Vec::new(),
        };
        let over = stored + body.len() as u64 > cap.bytes;
        if over {
            let why = format!("it reached its cap of {} MiB", cap.bytes >> 20);
            let mut last = Vec::new();
            let marker = Entry::Stopped {
                reason: why.clone(),
            };
            if encode_line(&mut last, lines.first, &marker).is_err() {
                stop.set(why);
                break;
            }
            body = compress(&last);
            chunk.last_ms = lines.first.0;
            chunk.entries = 1;
            stop.set(why);
        }
        stored += body.len() as u64;
        chunk.body = body;
        if let Err(e) = store.append_recording(&chunk).await {
            tracing::warn!(error = %e, "recording chunk not stored");
            stop.set(format!("the store refused a write ({e})"));
            break;
        }
        seq += 1;
        if over {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_kept_after_keys_and_otherwise_once_a_second() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let dir = tempfile::tempdir().unwrap();
            let store = Store::open(&dir.path().join("t.db").to_string_lossy())
                .await
                .unwrap();
            let target = TapeTarget {
                run_id: Some("r".into()),
                console: "c".into(),
                operator: "u".into(),
            };
            let mut tape = Tape::start(store, target, Cap::default());
            assert!(tape.frame_due(Timestamp(0), false));
            tape.frame(
                Timestamp(0),
                &Buffer::empty(ratatui::layout::Rect::new(0, 0, 2, 1)),
            );
            assert!(!tape.frame_due(Timestamp(500), false));
            assert!(tape.frame_due(Timestamp(500), true));
            assert!(tape.frame_due(Timestamp(1000), false));
        });
    }

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    fn target() -> TapeTarget {
        TapeTarget {
            run_id: Some("r".into()),
            console: "c".into(),
            operator: "u".into(),
        }
    }

    /// Entries big enough that deflate cannot make them small: every flush is a chunk of
    /// a few KB.
    fn noisy(tape: &mut Tape, from_s: i64, to_s: i64) {
        for s in from_s..to_s {
            let mut x = (s as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            let noise: String = (0..2_000)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    char::from(b'a' + (x % 26) as u8)
                })
                .collect();
            tape.msg(Timestamp(s * 1_000), &Msg::BreakGlass(noise));
        }
    }

    #[test]
    fn at_its_cap_a_recording_ends_with_a_marker_and_says_so_once() {
        rt().block_on(async {
            let dir = tempfile::tempdir().unwrap();
            let store = Store::open(&dir.path().join("t.db").to_string_lossy())
                .await
                .unwrap();
            let mut tape = Tape::start(store.clone(), target(), Cap { bytes: 4_000 });
            for round in 0..10 {
                noisy(&mut tape, round * 6, round * 6 + 6);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            let why = tape.stopped().expect("stopped at the cap");
            assert!(why.contains("cap"), "{why}");
            assert_eq!(tape.stopped(), None, "said once");
            Box::new(tape).finish(Timestamp(60_000)).await;
            let chunks = store.recording("r", "c").await.unwrap();
            let last = chunks.last().unwrap();
            let entries = super::super::entry::decode_chunk(last.seq, &last.body).unwrap();
            assert!(
                matches!(&entries[..], [(_, Entry::Stopped { reason })] if reason.contains("cap")),
                "{entries:?}"
            );
            let stored: usize = chunks.iter().map(|c| c.body.len()).sum();
            assert!(stored < 4_000 + 200, "{stored} bytes stored past the cap");
        });
    }

    #[test]
    fn a_store_that_refuses_stops_the_recording_not_the_console() {
        rt().block_on(async {
            let dir = tempfile::tempdir().unwrap();
            let store = Store::open(&dir.path().join("t.db").to_string_lossy())
                .await
                .unwrap();
            store.close().await;
            let mut tape = Tape::start(store, target(), Cap::default());
            noisy(&mut tape, 0, 6);
            tokio::time::sleep(Duration::from_millis(50)).await;
            let why = tape.stopped().expect("stopped");
            assert!(why.contains("the store refused a write"), "{why}");
            // Recording on is harmless: nothing is kept, nothing blocks.
            noisy(&mut tape, 6, 20);
            assert!(tape.pending.is_empty());
            Box::new(tape).finish(Timestamp(20_000)).await;
        });
    }
}
