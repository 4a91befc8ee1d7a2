//! Themes: the `Theme` the TUI draws with, parsed from TOML files with a `[styles]` table,
//! resolved through `extends` chains and overlays, validated with located errors.
//!
//! A theme without `extends` must define every slot. With `monochrome = true` a theme file may
//! not name colours (only `reset`): states are told apart by bold, dim, reversed, underlined.
//! Colours from an overlay (`theme.toml`) over a monochrome theme are dropped, modifiers kept.

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;
use toml::Spanned;

use crate::config::catalog::{self, Catalog, Extends};
use crate::config::color;
use crate::diag::{LocatedError, SourceFile};
use crate::suggest;

macro_rules! theme_slots {
    ($( $slot:ident : $doc:literal, )*) => {
        /// The styles the TUI draws with, one per role.
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub struct Theme {
            pub name: String,
            /// No colours at all; only modifiers (the TUI also shows state symbols).
            pub monochrome: bool,
            $( #[doc = $doc] pub $slot: Style, )*
        }

        /// Every slot name, in the order of the `Theme` fields.
        pub const SLOTS: &[&str] = &[ $( stringify!($slot), )* ];

        impl Theme {
            fn from_slots(name: String, monochrome: bool, slots: &HashMap<&'static str, Style>) -> Theme {
                Theme {
                    name,
                    monochrome,
                    $( $slot: slots.get(stringify!($slot)).copied().unwrap_or_default(), )*
                }
            }

            /// Every slot with its name, in field order.
            pub fn slots(&self) -> Vec<(&'static str, Style)> {
                vec![ $( (stringify!($slot), self.$slot), )* ]
            }
        }
    };
}

theme_slots! {
    base: "Default text and the screen background.",
    border: "Borders of unfocused panes.",
    border_focus: "Border of the focused pane.",
    title: "Titles of unfocused panes.",
    title_focus: "Title of the focused pane.",
    header: "Table headers and section labels.",
    muted: "Secondary text: units, ages, explanations.",
    accent: "Highlights that are not states: the run name, the selected step.",
    selection: "The selected row in lists and the palette.",
    overlay: "Help, palette and confirm layers drawn over the panes.",
    ok: "Healthy figures.",
    warn: "Figures near a threshold.",
    crit: "Figures past a threshold, failures.",
    idle: "Nothing happening: paused, not started.",
    stale: "Figures older than two intervals.",
    hint_key: "Keys in the hint bar.",
    hint_desc: "Descriptions in the hint bar.",
    gauge_bg: "The unfilled part of gauges.",
    sparkline: "Sparklines.",
}

/// One style slot as written in a file: every field optional, applied over what it extends.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SlotSpec {
    fg: Option<Spanned<toml::Value>>,
    bg: Option<Spanned<toml::Value>>,
    bold: Option<bool>,
    dim: Option<bool>,
    italic: Option<bool>,
    underlined: Option<bool>,
    reversed: Option<bool>,
}

/// A theme file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ThemeFile {
    name: Option<Spanned<String>>,
    extends: Option<Spanned<String>>,
    monochrome: Option<bool>,
    styles: Option<Spanned<BTreeMap<Spanned<String>, Spanned<SlotSpec>>>>,
}

/// A colour with the place it was written.
#[derive(Clone, Debug)]
struct PlacedColor {
    color: Color,
    span: Range<usize>,
}

#[derive(Clone, Debug, Default)]
struct SlotPatch {
    fg: Option<PlacedColor>,
    bg: Option<PlacedColor>,
    add: Modifier,
    remove: Modifier,
}

impl SlotPatch {
    fn apply(&self, mut style: Style) -> Style {
        if let Some(c) = &self.fg {
            style.fg = Some(c.color);
        }
        if let Some(c) = &self.bg {
            style.bg = Some(c.color);
        }
        style.remove_modifier(self.remove).add_modifier(self.add)
    }
}

/// One parsed, validated theme file.
#[derive(Debug)]
pub(crate) struct Layer {
    file: SourceFile,
    name: Option<Spanned<String>>,
    extends: Option<Spanned<String>>,
    monochrome: Option<bool>,
    slots: Vec<(&'static str, SlotPatch)>,
    styles_span: Range<usize>,
}

impl Extends for Layer {
    fn parse(file: SourceFile) -> Result<Layer, LocatedError> {
        Layer::parse(file)
    }
    fn file(&self) -> &SourceFile {
        &self.file
    }
    fn extends(&self) -> Option<&Spanned<String>> {
        self.extends.as_ref()
    }
}

impl Layer {
    /// Parses and checks one theme file on its own (slot names, colours, types).
    pub(crate) fn parse(file: SourceFile) -> Result<Layer, LocatedError> {
        let raw: ThemeFile = file.parse_toml()?;
        let mut slots = Vec::new();
        let mut styles_span = 0..0;
        if let Some(styles) = raw.styles {
            styles_span = styles.span();
            let mut entries: Vec<_> = styles.into_inner().into_iter().collect();
            entries.sort_by_key(|(k, _)| k.span().start); // report the first mistake in the file
            for (key, spec) in entries {
                let Some(slot) = SLOTS.iter().find(|s| **s == key.get_ref().as_str()) else {
                    let help = suggest::did_you_mean(key.get_ref(), SLOTS.iter().copied())
                        .or_else(|| Some(format!("slots: {}", SLOTS.join(", "))));
                    return Err(file.error_at(
                        key.span(),
                        format!("unknown style slot `{}`", key.get_ref()),
                        help,
                    ));
                };
                slots.push((*slot, patch(&file, spec.into_inner())?));
            }
        }
        if let Some(ext) = &raw.extends
            && ext.get_ref().trim().is_empty()
        {
            return Err(file.error_at(ext.span(), "`extends` needs a theme name", None));
        }
        Ok(Layer {
            name: raw.name,
            extends: raw.extends,
            monochrome: raw.monochrome,
            slots,
            styles_span,
            file,
        })
    }

    /// Rejects `extends` and `name`: an overlay adjusts the selected theme, it cannot pick
    /// another one or rename it.
    pub(crate) fn check_overlay(&self) -> Result<(), LocatedError> {
        let why = "theme.toml adjusts the selected theme; choose the base with --theme NAME or themes/NAME.toml";
        match (&self.extends, &self.name) {
            (Some(e), _) => Err(self.file.error_at(
                e.span(),
                format!("`extends` is not allowed here: {why}"),
                None,
            )),
            (None, Some(n)) => Err(self.file.error_at(
                n.span(),
                format!("`name` is not allowed here: {why}"),
                None,
            )),
            (None, None) => Ok(()),
        }
    }

    fn check_complete(&self) -> Result<(), LocatedError> {
        let missing: Vec<&str> = SLOTS
            .iter()
            .copied()
            .filter(|s| !self.slots.iter().any(|(d, _)| d == s))
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        Err(self.file.error_at(
            self.styles_span.clone(),
            format!("theme does not define the style slots {}", missing.join(", ")),
            Some("a theme without `extends` must define every slot; add `extends = \"dark\"` to start from a preset".into()),
        ))
    }

    fn check_monochrome(&self, monochrome: bool) -> Result<(), LocatedError> {
        if !monochrome {
            return Ok(());
        }
        for (slot, p) in &self.slots {
            for c in [&p.fg, &p.bg].into_iter().flatten() {
                if c.color != Color::Reset {
                    return Err(self.file.error_at(
                        c.span.clone(),
                        format!("monochrome theme sets a colour on `{slot}`"),
                        Some("a monochrome theme uses only bold, dim, italic, underlined and reversed".into()),
                    ));
                }
            }
        }
        Ok(())
    }
}

fn patch(file: &SourceFile, spec: SlotSpec) -> Result<SlotPatch, LocatedError> {
    let color = |v: Option<Spanned<toml::Value>>| -> Result<Option<PlacedColor>, LocatedError> {
        let Some(v) = v else { return Ok(None) };
        match color::parse(v.get_ref()) {
            Ok(color) => Ok(Some(PlacedColor {
                color,
                span: v.span(),
            })),
            Err((msg, help)) => Err(file.error_at(v.span(), msg, help)),
        }
    };
    let mut p = SlotPatch {
        fg: color(spec.fg)?,
        bg: color(spec.bg)?,
        ..SlotPatch::default()
    };
    for (flag, m) in [
        (spec.bold, Modifier::BOLD),
        (spec.dim, Modifier::DIM),
        (spec.italic, Modifier::ITALIC),
        (spec.underlined, Modifier::UNDERLINED),
        (spec.reversed, Modifier::REVERSED),
    ] {
        match flag {
            Some(true) => p.add |= m,
            Some(false) => p.remove |= m,
            None => {}
        }
    }
    Ok(p)
}

/// Resolves a theme file through its `extends` chain, then applies `overlays` in order.
pub(crate) fn resolve(
    top: SourceFile,
    catalog: &Catalog,
    overlays: Vec<Layer>,
) -> Result<Theme, LocatedError> {
    let mut chain: Vec<Layer> = catalog::chain(top, catalog)?;
    let name = match chain.first() {
        Some(top) => top
            .name
            .as_ref()
            .map(|n| n.get_ref().clone())
            .unwrap_or_else(|| catalog::stem(&top.file.name)),
        None => String::new(),
    };
    chain.reverse(); // root first
    if let Some(root) = chain.first() {
        root.check_complete()?;
    }
    let mut monochrome = false;
    let mut styles: HashMap<&'static str, Style> = HashMap::new();
    for layer in &chain {
        monochrome = layer.monochrome.unwrap_or(monochrome);
        layer.check_monochrome(monochrome)?;
    }
    let mut monochrome = false;
    for layer in chain.iter().chain(overlays.iter()) {
        monochrome = layer.monochrome.unwrap_or(monochrome);
        for (slot, p) in &layer.slots {
            let s = styles.entry(slot).or_default();
            *s = p.apply(*s);
        }
    }
    let theme = Theme::from_slots(name, monochrome, &styles);
    // An overlay written for a colour theme still applies its modifiers to a monochrome one.
    Ok(if monochrome {
        theme.without_colors()
    } else {
        theme
    })
}

impl Default for Theme {
    /// The shipped default theme (`dark`); if that could not load, plain terminal styles.
    fn default() -> Theme {
        crate::config::theme_by_name(crate::config::presets::DEFAULT_THEME)
            .unwrap_or_else(|_| Theme::from_slots("plain".to_string(), true, &HashMap::new()))
    }
}

impl Theme {
    /// The same theme without any colour (monochrome): what a monochrome theme always is.
    pub fn without_colors(mut self) -> Theme {
        self.monochrome = true;
        let strip = |s: &mut Style| {
            s.fg = None;
            s.bg = None;
            s.underline_color = None;
        };
        strip(&mut self.base);
        strip(&mut self.border);
        strip(&mut self.border_focus);
        strip(&mut self.title);
        strip(&mut self.title_focus);
        strip(&mut self.header);
        strip(&mut self.muted);
        strip(&mut self.accent);
        strip(&mut self.selection);
        strip(&mut self.overlay);
        strip(&mut self.ok);
        strip(&mut self.warn);
        strip(&mut self.crit);
        strip(&mut self.idle);
        strip(&mut self.stale);
        strip(&mut self.hint_key);
        strip(&mut self.hint_desc);
        strip(&mut self.gauge_bg);
        strip(&mut self.sparkline);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::presets;

    fn catalog() -> Catalog {
        Catalog {
            kind: "themes",
            noun: "theme",
            presets: presets::THEMES,
            user_dir: None,
        }
    }

    fn theme(text: &str) -> Result<Theme, LocatedError> {
        resolve(SourceFile::new("t.toml", text), &catalog(), vec![])
    }

    #[test]
    fn every_preset_resolves_and_is_named() {
        for (name, _) in presets::THEMES {
            let f = catalog().preset(name).unwrap();
            let t = resolve(f, &catalog(), vec![]).unwrap();
            assert_eq!(t.name, *name);
        }
    }

    #[test]
    fn extends_overrides_only_what_it_names() {
        let dark = theme("extends = \"dark\"").unwrap();
        let t = theme("extends = \"dark\"\n[styles]\ncrit = { fg = \"magenta\", bold = false }\n")
            .unwrap();
        assert_eq!(t.crit.fg, Some(Color::Magenta));
        assert!(t.crit.sub_modifier.contains(Modifier::BOLD));
        assert_eq!(t.ok, dark.ok);
        assert_eq!(t.name, "t");
    }

    #[test]
    fn incomplete_root_names_missing_slots() {
        let e = theme("[styles]\nbase = {}\n").unwrap_err();
        assert!(e.message.contains("border,"), "{e}");
        assert_eq!((e.line, e.col), (1, 1), "{e}");
    }

    #[test]
    fn bad_colour_is_located_with_suggestion() {
        let e = theme("extends = \"dark\"\n[styles]\nok = { fg = \"gren\" }\n").unwrap_err();
        assert_eq!((e.line, e.col), (3, 13), "{e}");
        assert_eq!(e.help.as_deref(), Some("did you mean `green`?"));
    }

    #[test]
    fn unknown_slot_and_extends() {
        let e = theme("extends = \"dark\"\n[styles]\nborderr = {}\n").unwrap_err();
        assert!(e.message.contains("unknown style slot `borderr`"), "{e}");
        assert_eq!(e.help.as_deref(), Some("did you mean `border`?"));
        let e = theme("extends = \"drak\"\n").unwrap_err();
        assert_eq!((e.line, e.col), (1, 11), "{e}");
        assert!(e.message.contains("available: dark, light"), "{e}");
    }

    #[test]
    fn monochrome_rejects_colours_and_no_color_strips_them() {
        let e = theme("extends = \"mono\"\n[styles]\nok = { fg = \"green\" }\n").unwrap_err();
        assert!(e.message.contains("monochrome"), "{e}");
        let t = theme("extends = \"dark\"").unwrap().without_colors();
        assert!(t.monochrome);
        assert!(
            t.slots()
                .iter()
                .all(|(_, s)| s.fg.is_none() && s.bg.is_none())
        );
    }
}
