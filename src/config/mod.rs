//! Configuration read from files: themes, keymaps and their embedded presets, XDG paths,
//! and the console's targets file; every file error is located (`crate::diag`).
//!
//! `load` picks the theme (`--theme` name or path; else `mono` under NO_COLOR; else `dark`) and
//! the keymap (`--keymap`; else `default`), resolves `extends`, and applies the user's
//! `theme.toml` / `keymap.toml` from the config dir. Missing user files are fine; unreadable or
//! invalid ones are errors, never skipped.

// `LocatedError` carries the file text for its snippet, so it is large; it is built at most
// once per file at start-up, where the size of a `Result` does not matter.
#![allow(clippy::result_large_err)]

pub(crate) mod catalog;
pub mod color;
pub mod keymap;
pub mod keys;
pub mod paths;
pub mod presets;
pub mod secrets;
pub mod targets;
pub mod theme;

use std::path::PathBuf;

use crate::diag::{LocatedError, SourceFile};

pub use keymap::{ESSENTIAL, Keymap, Lookup, Mode};
pub use keys::{KeyChord, parse_sequence, sequence_to_string};
pub use paths::no_color_from_env;
pub use theme::Theme;

use catalog::Catalog;

/// What the command line asked for.
#[derive(Clone, Debug, Default)]
pub struct LoadOptions {
    /// A theme name (preset or `themes/NAME.toml` in the config dir) or a file path.
    pub theme: Option<String>,
    /// A keymap name (preset or `keymaps/NAME.toml` in the config dir) or a file path.
    pub keymap: Option<String>,
    /// NO_COLOR was set (see `paths::no_color_from_env`): use `mono` unless `theme` is given.
    pub no_color: bool,
    /// Overrides the config dir (tests); default `$XDG_CONFIG_HOME/ebb` or `~/.config/ebb`.
    pub config_dir: Option<PathBuf>,
}

/// The theme and keymap the TUI runs with.
#[derive(Clone, Debug)]
pub struct Config {
    pub theme: Theme,
    pub keymap: Keymap,
}

/// Loads the theme and keymap for `opts`, with the user's overlays.
pub fn load(opts: &LoadOptions) -> Result<Config, LocatedError> {
    let dir = opts.config_dir.clone().or_else(paths::config_dir);
    Ok(Config {
        theme: load_theme(opts, dir.clone())?,
        keymap: load_keymap(opts, dir)?,
    })
}

fn theme_catalog(user_dir: Option<PathBuf>) -> Catalog {
    Catalog {
        kind: "themes",
        noun: "theme",
        presets: presets::THEMES,
        user_dir,
    }
}

fn keymap_catalog(user_dir: Option<PathBuf>) -> Catalog {
    Catalog {
        kind: "keymaps",
        noun: "keymap",
        presets: presets::KEYMAPS,
        user_dir,
    }
}

/// Reads an optional user file: absent is None, unreadable is an error.
fn optional_file(path: Option<PathBuf>) -> Result<Option<SourceFile>, LocatedError> {
    match path {
        Some(p) if p.exists() => SourceFile::read(&p).map(Some),
        _ => Ok(None),
    }
}

fn load_theme(opts: &LoadOptions, dir: Option<PathBuf>) -> Result<Theme, LocatedError> {
    let catalog = theme_catalog(dir.clone());
    let forced_mono = opts.no_color && opts.theme.is_none();
    let top = match &opts.theme {
        Some(arg) => catalog.open_arg(arg)?,
        None if forced_mono => catalog.open_arg(presets::NO_COLOR_THEME)?,
        None => catalog.open_arg(presets::DEFAULT_THEME)?,
    };
    let mut overlays = Vec::new();
    if let Some(f) = optional_file(dir.as_deref().map(paths::theme_overlay))? {
        let layer = theme::Layer::parse(f)?;
        layer.check_overlay()?;
        overlays.push(layer);
    }
    // Under NO_COLOR the result is monochrome, so colours from the overlay are dropped.
    let theme = theme::resolve(top, &catalog, overlays)?;
    Ok(if forced_mono {
        theme.without_colors()
    } else {
        theme
    })
}

fn load_keymap(opts: &LoadOptions, dir: Option<PathBuf>) -> Result<Keymap, LocatedError> {
    let catalog = keymap_catalog(dir.clone());
    let top = catalog.open_arg(opts.keymap.as_deref().unwrap_or(presets::DEFAULT_KEYMAP))?;
    let mut overlays = Vec::new();
    if let Some(f) = optional_file(dir.as_deref().map(paths::keymap_overlay))? {
        let layer = keymap::Layer::parse(f)?;
        layer.check_overlay()?;
        overlays.push(layer);
    }
    keymap::resolve(top, &catalog, overlays)
}

/// The shipped themes, default first.
pub fn preset_theme_names() -> &'static [&'static str] {
    presets::THEME_NAMES
}

/// The shipped keymaps, default first.
pub fn preset_keymap_names() -> &'static [&'static str] {
    presets::KEYMAP_NAMES
}

/// A shipped theme by name, without user files (for screenshots and tests).
pub fn theme_by_name(name: &str) -> Result<Theme, LocatedError> {
    let catalog = theme_catalog(None);
    theme::resolve(catalog.open_arg(name)?, &catalog, Vec::new())
}

/// A shipped keymap by name, without user files (for screenshots and tests).
pub fn keymap_by_name(name: &str) -> Result<Keymap, LocatedError> {
    let catalog = keymap_catalog(None);
    keymap::resolve(catalog.open_arg(name)?, &catalog, Vec::new())
}

/// Parses one theme file on its own (complete, or extending a preset), without user files.
/// For `ebb` subcommands that check files, and for tests of invalid files.
pub fn check_theme_file(file: SourceFile) -> Result<Theme, LocatedError> {
    let catalog = theme_catalog(None);
    theme::resolve(file, &catalog, Vec::new())
}

/// Parses one keymap file on its own (a standalone keymap; it may `extends` a preset).
pub fn check_keymap_file(file: SourceFile) -> Result<Keymap, LocatedError> {
    let catalog = keymap_catalog(None);
    keymap::resolve(file, &catalog, Vec::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(dir: &std::path::Path) -> LoadOptions {
        LoadOptions {
            config_dir: Some(dir.to_path_buf()),
            ..LoadOptions::default()
        }
    }

    #[test]
    fn defaults_without_files() {
        let dir = tempfile::tempdir().unwrap();
        let c = load(&opts(dir.path())).unwrap();
        assert_eq!(c.theme.name, "dark");
        assert_eq!(c.keymap.name(), "default");
    }

    #[test]
    fn no_color_picks_mono_unless_theme_given() {
        let dir = tempfile::tempdir().unwrap();
        let mut o = opts(dir.path());
        o.no_color = true;
        let t = load(&o).unwrap().theme;
        assert_eq!(t.name, "mono");
        assert!(t.monochrome);
        o.theme = Some("light".into());
        assert_eq!(load(&o).unwrap().theme.name, "light");
    }

    #[test]
    fn no_color_strips_overlay_colours() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("theme.toml"),
            "[styles]\nok = { fg = \"green\", bold = true }\n",
        )
        .unwrap();
        let mut o = opts(dir.path());
        o.no_color = true;
        let t = load(&o).unwrap().theme;
        assert_eq!(t.ok.fg, None);
        assert!(t.ok.add_modifier.contains(ratatui::style::Modifier::BOLD));
    }

    #[test]
    fn unknown_names_list_the_choices() {
        let dir = tempfile::tempdir().unwrap();
        let mut o = opts(dir.path());
        o.theme = Some("drak".into());
        let e = load(&o).unwrap_err();
        assert!(
            e.message
                .contains("available: dark, light, high-contrast, colorblind, mono"),
            "{e}"
        );
        assert_eq!(e.help.as_deref(), Some("did you mean `dark`?"));
        o.theme = None;
        o.keymap = Some("emacs".into());
        let e = load(&o).unwrap_err();
        assert!(
            e.message
                .contains("unknown keymap `emacs`; available: default, vim"),
            "{e}"
        );
    }

    #[test]
    fn presets_by_name() {
        for n in preset_theme_names() {
            assert_eq!(theme_by_name(n).unwrap().name, *n);
        }
        for n in preset_keymap_names() {
            assert_eq!(keymap_by_name(n).unwrap().name(), *n);
        }
    }
}
