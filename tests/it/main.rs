//! One integration-test binary (link time): modules per area.

mod audit;
mod config;
mod crash;
mod e2e;
mod pg_actuators;
mod pg_checks;
mod pg_source;
mod plan;
mod runs;
mod screenshots;
mod store;
mod support;
mod ui;
mod world;
