//! ebb: a terminal console for rolling back stateful systems during an incident.
//! Layers, top to bottom: cli → tui → app → sources/world → config, text, time, units.

// Located errors carry their source text for miette's snippet; they are built once, on the
// cold path, and reported. Boxing them everywhere would buy nothing.
#![allow(clippy::result_large_err)]

pub mod action;
pub mod actuators;
pub mod app;
pub mod audit;
pub mod cli;
pub mod config;
pub mod engine;
pub mod input;
pub mod k8s;
pub mod logging;
pub mod pg_options;
pub mod plan;
pub mod redact;
pub mod sim;
pub mod sources;
pub mod store;
pub mod text;
pub mod time;
pub mod tls;
pub mod tui;
pub mod units;
pub mod world;
