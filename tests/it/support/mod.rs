//! Shared helpers for the integration tests: real servers started on 127.0.0.1.

#![allow(dead_code)] // each test module uses part of the helpers

pub mod certs;
pub mod headless;
pub mod kube_api;
pub mod pg;
pub mod prom;
