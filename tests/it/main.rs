//! One integration-test binary (link time): modules per area.

mod audit;
mod config;
mod console_config;
mod crash;
mod e2e;
mod e2e_console;
mod e2e_kube;
mod http_run;
mod kube_loopback;
mod kube_run;
mod kube_source;
mod pg_actuators;
mod pg_checks;
mod pg_run;
mod pg_source;
mod plan;
mod prom;
mod runs;
mod screenshots;
mod store;
mod support;
mod ui;
mod ui_ask;
mod ui_console;
mod ui_kube;
mod world;
