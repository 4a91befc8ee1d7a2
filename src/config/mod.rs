//! Configuration read from files: themes, keymaps and their embedded presets, XDG paths,
//! and the located diagnostics every file error is reported with.

pub mod diag;
