//! One integration-test binary (link time): modules per area.

mod screenshots;
mod ui;
