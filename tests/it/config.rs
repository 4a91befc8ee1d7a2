//! Themes and keymaps as files: every shipped one loads and is complete, every file in
//! tests/invalid fails where its `# expect:` line says, and user overlays in the config dir apply.

use std::path::{Path, PathBuf};

use ebb::action::Action;
use ebb::config::{
    self, KeyChord, LoadOptions, Lookup, Mode, check_keymap_file, check_theme_file, keymap_by_name,
    theme_by_name,
};
use ebb::diag::{LocatedError, SourceFile};
use ratatui::style::{Color, Modifier, Style};

fn invalid_dir(kind: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/invalid")
        .join(kind)
}

/// What a file in tests/invalid expects: `# expect: LINE:COL: message substring`, and an
/// optional second line `# help: help substring`.
struct Expect {
    line: usize,
    col: usize,
    message: String,
    help: Option<String>,
}

fn expectation(path: &Path, text: &str) -> Expect {
    let mut lines = text.lines();
    let first = lines.next().unwrap_or_default();
    let rest = first.strip_prefix("# expect: ").unwrap_or_else(|| {
        panic!(
            "{}: first line must be `# expect: LINE:COL: message`",
            path.display()
        )
    });
    let mut parts = rest.splitn(3, ':');
    let line = parts.next().and_then(|s| s.trim().parse().ok());
    let col = parts.next().and_then(|s| s.trim().parse().ok());
    let message = parts.next().map(|s| s.trim().to_string());
    let (Some(line), Some(col), Some(message)) = (line, col, message) else {
        panic!("{}: cannot read `{first}`", path.display());
    };
    let help = lines
        .next()
        .and_then(|l| l.strip_prefix("# help: "))
        .map(|s| s.trim().to_string());
    Expect {
        line,
        col,
        message,
        help,
    }
}

fn check_invalid(kind: &str, parse: impl Fn(SourceFile) -> Option<LocatedError>) -> usize {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(invalid_dir(kind))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    paths.sort();
    let mut failures = Vec::new();
    for path in &paths {
        let file = SourceFile::read(path).unwrap();
        let want = expectation(path, &file.text);
        let name = path.display().to_string();
        match parse(file) {
            None => failures.push(format!("{name}: parsed, but expected an error")),
            Some(e) => {
                assert_eq!(e.name, name);
                let help_ok = match (&want.help, &e.help) {
                    (None, _) => true,
                    (Some(w), Some(h)) => h.contains(w.as_str()),
                    (Some(_), None) => false,
                };
                if (e.line, e.col) != (want.line, want.col)
                    || !e.message.contains(&want.message)
                    || !help_ok
                {
                    failures.push(format!(
                        "{name}: expected {}:{}: {} (help: {:?})\n      got {e} (help: {:?})",
                        want.line, want.col, want.message, want.help, e.help
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
    paths.len()
}

#[test]
fn invalid_themes_fail_where_they_say() {
    let n = check_invalid("themes", |f| check_theme_file(f).err());
    assert!(n >= 5);
}

#[test]
fn invalid_keymaps_fail_where_they_say() {
    let n = check_invalid("keymaps", |f| check_keymap_file(f).err());
    assert!(n >= 5);
}

#[test]
fn invalid_console_files_fail_where_they_say() {
    // The first error of each file is the one its `# expect:` line names.
    let n = check_invalid("consoles", |f| {
        config::targets::parse(&f)
            .err()
            .and_then(|e| e.errors.into_iter().next())
    });
    assert!(n >= 5);
}

fn seq(s: &str) -> Vec<KeyChord> {
    config::parse_sequence(s).unwrap()
}

#[test]
fn every_shipped_keymap_has_the_essentials_and_every_action() {
    for name in config::preset_keymap_names() {
        let km = keymap_by_name(name).unwrap();
        for (mode, action) in [
            (Mode::Main, Action::Quit),
            (Mode::Main, Action::HelpToggle),
            (Mode::Main, Action::PaletteOpen),
            (Mode::Help, Action::LayerClose),
            (Mode::Palette, Action::LayerClose),
            (Mode::Palette, Action::PaletteSubmit),
        ] {
            assert!(
                !km.keys_for(mode, action).is_empty(),
                "{name}: nothing binds {action} in {mode}"
            );
        }
        for action in Action::ALL {
            let bound = Mode::ALL
                .iter()
                .any(|m| !km.keys_for(*m, *action).is_empty());
            assert!(bound, "{name}: {action} has no key");
        }
        let chords = km
            .bindings(Mode::Main)
            .iter()
            .filter(|(k, _)| k.len() > 1)
            .count();
        assert!(chords > 0, "{name}: no multi-key chord in main");
        for (keys, _) in km.bindings(Mode::Palette) {
            assert!(
                keys.iter().all(|k| !k.is_printable()),
                "{name}: palette binds a printable key"
            );
        }
    }
}

#[test]
fn default_keymap_reads_as_documented() {
    let km = keymap_by_name("default").unwrap();
    assert_eq!(
        km.lookup(Mode::Main, &[], seq("q")[0]),
        Lookup::Action(Action::Quit)
    );
    assert_eq!(km.lookup(Mode::Main, &[], seq("g")[0]), Lookup::Pending);
    assert_eq!(
        km.lookup(Mode::Main, &seq("g"), seq("g")[0]),
        Lookup::Action(Action::ScrollTop)
    );
    assert_eq!(
        km.keys_for(Mode::Main, Action::FocusPrev),
        vec![seq("shift-tab")]
    );
    let vim = keymap_by_name("vim").unwrap();
    assert_eq!(
        vim.lookup(Mode::Main, &seq("ctrl-w"), seq("z")[0]),
        Lookup::Action(Action::Zoom)
    );
    assert_eq!(
        vim.lookup(Mode::Main, &[], seq("shift-g")[0]),
        Lookup::Action(Action::ScrollBottom)
    );
}

fn distinct(a: Style, b: Style) -> bool {
    a != b
}

#[test]
fn every_shipped_theme_loads_and_keeps_states_apart() {
    for name in config::preset_theme_names() {
        let t = theme_by_name(name).unwrap();
        assert_eq!(t.name, *name);
        let states = [t.ok, t.warn, t.crit, t.idle, t.stale];
        for (i, a) in states.iter().enumerate() {
            for b in &states[i + 1..] {
                assert!(distinct(*a, *b), "{name}: two states look the same: {a:?}");
            }
        }
        assert_ne!(t.border, t.border_focus, "{name}");
        if t.monochrome {
            for (slot, s) in t.slots() {
                assert!(
                    s.fg.is_none() && s.bg.is_none(),
                    "{name}: {slot} has a colour"
                );
            }
        }
    }
}

#[test]
fn colorblind_states_differ_by_more_than_hue() {
    let t = theme_by_name("colorblind").unwrap();
    let mods = |s: Style| s.add_modifier;
    assert_ne!(mods(t.ok), mods(t.warn));
    assert_ne!(mods(t.warn), mods(t.crit));
    assert_ne!(mods(t.ok), mods(t.crit));
    for s in [t.ok, t.warn, t.crit] {
        assert!(!matches!(
            s.fg,
            Some(Color::Red | Color::Green | Color::LightRed | Color::LightGreen)
        ));
    }
}

#[test]
fn mono_is_monochrome_and_crit_stands_out() {
    let t = theme_by_name("mono").unwrap();
    assert!(t.monochrome);
    assert!(
        t.crit
            .add_modifier
            .contains(Modifier::BOLD | Modifier::REVERSED)
    );
}

fn write(dir: &Path, rel: &str, text: &str) {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

fn opts(dir: &Path) -> LoadOptions {
    LoadOptions {
        config_dir: Some(dir.to_path_buf()),
        ..LoadOptions::default()
    }
}

#[test]
fn xdg_overlays_apply() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "theme.toml", "[styles]\ncrit = { fg = \"magenta\" }\n");
    write(
        d,
        "keymap.toml",
        "[main]\n\"x\" = \"app.quit\"\n\"q\" = \"none\"\n\"g\" = \"pane.zoom\"\n",
    );
    let c = config::load(&opts(d)).unwrap();
    assert_eq!(c.theme.name, "dark");
    assert_eq!(c.theme.crit.fg, Some(Color::Magenta));
    assert!(
        c.theme.crit.add_modifier.contains(Modifier::BOLD),
        "the overlay keeps what it does not name"
    );
    let km = &c.keymap;
    assert_eq!(
        km.lookup(Mode::Main, &[], seq("x")[0]),
        Lookup::Action(Action::Quit)
    );
    assert_eq!(km.lookup(Mode::Main, &[], seq("q")[0]), Lookup::NoMatch);
    assert_eq!(
        km.lookup(Mode::Main, &[], seq("g")[0]),
        Lookup::Action(Action::Zoom)
    );
    assert!(
        km.keys_for(Mode::Main, Action::ScrollTop)
            .iter()
            .all(|k| k[0] != seq("g")[0])
    );
    assert_eq!(
        km.keys_for(Mode::Main, Action::Quit),
        vec![seq("ctrl-c"), seq("x")]
    );
}

#[test]
fn user_named_files_and_paths() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(
        d,
        "themes/night.toml",
        "extends = \"dark\"\n[styles]\nok = { fg = \"#00ff00\" }\n",
    );
    // A user `dark` shadows the preset and may extend it.
    write(
        d,
        "themes/dark.toml",
        "extends = \"dark\"\n[styles]\nwarn = { fg = \"yellow\" }\n",
    );
    write(
        d,
        "keymaps/mine.toml",
        "extends = \"vim\"\n[main]\n\"Q\" = \"app.quit\"\n",
    );
    let mut o = opts(d);
    o.theme = Some("night".into());
    o.keymap = Some("mine".into());
    let c = config::load(&o).unwrap();
    assert_eq!(c.theme.name, "night");
    assert_eq!(c.theme.ok.fg, Some(Color::Rgb(0, 255, 0)));
    assert_eq!(
        c.theme.warn.fg,
        Some(Color::Yellow),
        "night extends the user's dark"
    );
    assert_eq!(c.keymap.name(), "mine");
    assert_eq!(
        c.keymap.lookup(Mode::Main, &[], seq("Q")[0]),
        Lookup::Action(Action::Quit)
    );
    assert_eq!(
        c.keymap.lookup(Mode::Main, &[], seq("j")[0]),
        Lookup::Action(Action::ScrollDown)
    );

    let path = d.join("themes/night.toml").display().to_string();
    let o = LoadOptions {
        theme: Some(path),
        no_color: true,
        ..LoadOptions::default()
    };
    let c = config::load(&o).unwrap();
    assert_eq!(
        c.theme.name, "night",
        "an explicit --theme wins over NO_COLOR"
    );
    assert!(!c.theme.monochrome);

    let err = config::load(&LoadOptions {
        theme: Some("mystery".into()),
        ..opts(d)
    })
    .unwrap_err();
    assert!(
        err.message
            .contains("dark, light, high-contrast, colorblind, mono, night"),
        "{err}"
    );
}

#[test]
fn bad_user_files_are_errors_not_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(
        d,
        "keymap.toml",
        "[main]\n\"q\" = \"app.quit\"\n\"q q\" = \"help.toggle\"\n",
    );
    let e = config::load(&opts(d)).unwrap_err();
    assert_eq!(e.name, d.join("keymap.toml").display().to_string());
    assert_eq!((e.line, e.col), (3, 1), "{e}");

    std::fs::remove_file(d.join("keymap.toml")).unwrap();
    write(d, "theme.toml", "extends = \"light\"\n");
    let e = config::load(&opts(d)).unwrap_err();
    assert!(e.message.contains("`extends` is not allowed here"), "{e}");

    write(d, "theme.toml", "name = \"renamed\"\n");
    let e = config::load(&opts(d)).unwrap_err();
    assert_eq!((e.line, e.col), (1, 8), "{e}");
    assert!(e.message.contains("`name` is not allowed here"), "{e}");

    std::fs::remove_file(d.join("theme.toml")).unwrap();
    std::fs::create_dir(d.join("theme.toml")).unwrap();
    let e = config::load(&opts(d)).unwrap_err();
    assert!(e.message.contains("cannot read file"), "{e}");
}

/// WCAG relative luminance of an RGB colour.
fn luminance(c: Color) -> Option<f64> {
    let Color::Rgb(r, g, b) = c else { return None };
    let f = |v: u8| {
        let c = f64::from(v) / 255.0;
        if c <= 0.03928 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    Some(0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b))
}

#[test]
fn rgb_themes_keep_text_readable() {
    for name in ["dark", "light", "colorblind"] {
        let t = theme_by_name(name).unwrap();
        let page = t.base.bg.unwrap();
        for (slot, s) in t.slots() {
            if matches!(slot, "border" | "gauge_bg") {
                continue; // lines and fills, not text
            }
            let (Some(fg), Some(bg)) = (
                s.fg.and_then(luminance),
                s.bg.or(Some(page)).and_then(luminance),
            ) else {
                continue;
            };
            let ratio = (fg.max(bg) + 0.05) / (fg.min(bg) + 0.05);
            assert!(
                ratio >= 4.5,
                "{name}: {slot} has contrast {ratio:.2}, below 4.5"
            );
        }
    }
}
