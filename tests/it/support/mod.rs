//! Shared helpers for the integration tests: real servers started on 127.0.0.1.

pub mod pg;
