//! STUB (replaced by the config branch): the theme type the TUI draws with.
use ratatui::style::{Color, Modifier, Style};

#[derive(Clone, Debug)]
pub struct Theme {
    pub name: String,
    pub monochrome: bool,
    pub base: Style,
    pub border: Style,
    pub border_focus: Style,
    pub title: Style,
    pub title_focus: Style,
    pub header: Style,
    pub muted: Style,
    pub accent: Style,
    pub selection: Style,
    pub overlay: Style,
    pub ok: Style,
    pub warn: Style,
    pub crit: Style,
    pub idle: Style,
    pub stale: Style,
    pub hint_key: Style,
    pub hint_desc: Style,
    pub gauge_bg: Style,
    pub sparkline: Style,
}

impl Theme {
    pub fn stub() -> Theme {
        let s = Style::default();
        Theme {
            name: "stub".into(),
            monochrome: false,
            base: s.fg(Color::Gray).bg(Color::Black),
            border: s.fg(Color::DarkGray),
            border_focus: s.fg(Color::Cyan),
            title: s.fg(Color::Gray),
            title_focus: s.fg(Color::Cyan).add_modifier(Modifier::BOLD),
            header: s.fg(Color::White).bg(Color::Blue),
            muted: s.fg(Color::DarkGray),
            accent: s.fg(Color::Cyan),
            selection: s.add_modifier(Modifier::REVERSED),
            overlay: s.fg(Color::White).bg(Color::Black),
            ok: s.fg(Color::Green),
            warn: s.fg(Color::Yellow),
            crit: s.fg(Color::Red).add_modifier(Modifier::BOLD),
            idle: s.fg(Color::Blue),
            stale: s.fg(Color::DarkGray).add_modifier(Modifier::ITALIC),
            hint_key: s.fg(Color::Black).bg(Color::Cyan),
            hint_desc: s.fg(Color::Gray),
            gauge_bg: s.fg(Color::DarkGray),
            sparkline: s.fg(Color::Cyan),
        }
    }
}
