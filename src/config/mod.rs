//! Configuration read from files: themes, keymaps and their embedded presets, XDG paths,
//! and the located diagnostics every file error is reported with.

pub mod diag;
pub mod keymap;
pub mod theme;

// STUB until the config branch lands.
use std::path::PathBuf;
pub struct LoadOptions {
    pub theme: Option<String>,
    pub keymap: Option<String>,
    pub no_color: bool,
    pub config_dir: Option<PathBuf>,
}
pub struct Config {
    pub theme: theme::Theme,
    pub keymap: keymap::Keymap,
}
pub fn load(_o: &LoadOptions) -> Result<Config, diag::LocatedError> {
    Ok(Config {
        theme: theme::Theme::stub(),
        keymap: keymap::Keymap::stub(),
    })
}
pub fn theme_by_name(_n: &str) -> Result<theme::Theme, diag::LocatedError> {
    Ok(theme::Theme::stub())
}
pub fn keymap_by_name(_n: &str) -> Result<keymap::Keymap, diag::LocatedError> {
    Ok(keymap::Keymap::stub())
}
pub fn preset_theme_names() -> &'static [&'static str] {
    &["dark", "light", "high-contrast", "colorblind", "mono"]
}
