//! ebb: a terminal console for rolling back stateful systems during an incident.
//! Layers, top to bottom: cli → replay → tui → app → runner → backends, sim → engine → store, audit
//! → plan, config → leaves (text, time, units, diag, sources…); tests/it/layers.rs keeps them.

// Located errors carry their source text for miette's snippet; they are built once, on the
// cold path, and reported. Boxing them everywhere would buy nothing.
#![allow(clippy::result_large_err)]

pub mod action;
pub mod app;
pub mod audit;
pub mod backends;
pub mod cli;
pub mod config;
pub mod control;
pub mod diag;
pub mod engine;
pub mod input;
pub mod logging;
pub mod pg_options;
pub mod plan;
pub mod policy;
pub mod redact;
pub mod replay;
pub mod report;
pub mod runner;
pub mod sim;
pub mod sources;
pub mod store;
pub mod suggest;
pub mod text;
pub mod time;
pub mod tls;
pub mod tui;
pub mod units;
pub mod xdg;
