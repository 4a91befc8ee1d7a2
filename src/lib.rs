//! ebb: a terminal console for rolling back stateful systems during an incident.
//! Layers, top to bottom: cli → tui → app → sources/world → config, text, time, units.

pub mod action;
pub mod app;
pub mod cli;
pub mod config;
pub mod plan;
pub mod sources;
pub mod text;
pub mod time;
pub mod tui;
pub mod units;
pub mod world;
