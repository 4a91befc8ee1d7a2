//! What the event loop (`tui`) tells a console's recording, which `Tape` implements:
//! every input that changes the model, in order, with the loop iteration's time, and frames.

use futures::future::BoxFuture;
use ratatui::buffer::Buffer;

use crate::app::{Model, Msg};
use crate::config::keymap::KeyChord;
use crate::time::Timestamp;

/// A console's recording, as the loop feeds it. Nothing here may block on I/O.
pub trait Recording: Send {
    /// The model the console opens with (before its first message), at its terminal size,
    /// with the name of its keymap.
    fn start(&mut self, at: Timestamp, model: &Model, size: (u16, u16), keymap: &str);
    /// A key, before `resolve_key` (and the door) act on it.
    fn key(&mut self, at: Timestamp, key: KeyChord);
    /// A message, before `update` applies it (the door's effects come as `Msg::Door`).
    fn msg(&mut self, at: Timestamp, msg: &Msg);
    /// The terminal's size changed (seen when a frame is drawn).
    fn resize(&mut self, at: Timestamp, size: (u16, u16));
    /// Whether a frame drawn now should be kept (after a key, else about once a second).
    fn frame_due(&self, at: Timestamp, after_key: bool) -> bool;
    /// The frame the console drew at `at`.
    fn frame(&mut self, at: Timestamp, buffer: &Buffer);
    /// Why the recording stopped, once (then `None` again).
    fn stopped(&mut self) -> Option<String>;
    /// Writes what is left; the future ends when the store has it (or has refused it).
    fn finish(self: Box<Self>, at: Timestamp) -> BoxFuture<'static, ()>;
}
