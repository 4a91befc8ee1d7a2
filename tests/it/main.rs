//! One integration-test binary (link time): modules per area.

mod config;
mod e2e;
mod plan;
mod screenshots;
mod store;
mod support;
mod ui;
mod world;
