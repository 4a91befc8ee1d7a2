//! The themes and keymaps shipped inside the binary (`themes/*.toml`, `keymaps/*.toml`),
//! so ebb starts with no files on disk. The first of each list is the default.

/// Shipped themes: (name, file text). `dark` is the default, `mono` the NO_COLOR choice.
pub const THEMES: &[(&str, &str)] = &[
    ("dark", include_str!("../../themes/dark.toml")),
    ("light", include_str!("../../themes/light.toml")),
    (
        "high-contrast",
        include_str!("../../themes/high-contrast.toml"),
    ),
    ("colorblind", include_str!("../../themes/colorblind.toml")),
    ("mono", include_str!("../../themes/mono.toml")),
];

/// Shipped keymaps: (name, file text). `default` is the default.
pub const KEYMAPS: &[(&str, &str)] = &[
    ("default", include_str!("../../keymaps/default.toml")),
    ("vim", include_str!("../../keymaps/vim.toml")),
];

pub const DEFAULT_THEME: &str = "dark";
pub const NO_COLOR_THEME: &str = "mono";
pub const DEFAULT_KEYMAP: &str = "default";

/// The names of the shipped themes, in the order above.
pub const THEME_NAMES: &[&str] = &["dark", "light", "high-contrast", "colorblind", "mono"];
/// The names of the shipped keymaps, in the order above.
pub const KEYMAP_NAMES: &[&str] = &["default", "vim"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_lists_match_the_files() {
        assert_eq!(
            THEMES.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
            THEME_NAMES
        );
        assert_eq!(
            KEYMAPS.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
            KEYMAP_NAMES
        );
        assert_eq!(THEME_NAMES[0], DEFAULT_THEME);
        assert_eq!(KEYMAP_NAMES[0], DEFAULT_KEYMAP);
        assert!(THEME_NAMES.contains(&NO_COLOR_THEME));
    }
}
