//! The terminal side: the event loop, the layer stack's rendering, panes and overlays,
//! and the SVG export that screenshots share with the live screen.

pub mod base64;
pub mod event_loop;
pub mod osc52;
pub mod overlay;
pub mod panes;
pub mod replayed;
pub mod svg;
pub mod terminal;
pub mod view;
