//! Where user configuration lives: `$XDG_CONFIG_HOME/ebb`, else `~/.config/ebb`,
//! and the NO_COLOR convention (no-color.org) read from the environment.

use std::path::{Path, PathBuf};

use crate::xdg::BaseDir;

/// The user's ebb config directory, if one can be named (it need not exist): the rule of
/// [`crate::xdg`]. With none, ebb runs on its built-in themes and keymaps.
pub fn config_dir() -> Option<PathBuf> {
    crate::xdg::ebb_dir(BaseDir::Config).ok()
}

/// `NAME.toml` in the `themes` or `keymaps` folder of a config dir.
pub fn named_file(dir: &Path, kind: &str, name: &str) -> PathBuf {
    dir.join(kind).join(format!("{name}.toml"))
}

/// The overlay for the selected theme: `theme.toml`.
pub fn theme_overlay(dir: &Path) -> PathBuf {
    dir.join("theme.toml")
}

/// The overlay for the selected keymap: `keymap.toml`.
pub fn keymap_overlay(dir: &Path) -> PathBuf {
    dir.join("keymap.toml")
}

/// True when `NO_COLOR` is set to a non-empty value.
pub fn no_color_from_env() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

/// Whether a `--theme`/`--keymap` argument names a file rather than a theme or keymap.
pub fn looks_like_path(arg: &str) -> bool {
    arg.contains('/') || arg.contains(std::path::MAIN_SEPARATOR) || arg.ends_with(".toml")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_names() {
        assert!(looks_like_path("./mine.toml"));
        assert!(looks_like_path("mine.toml"));
        assert!(!looks_like_path("high-contrast"));
    }
}
