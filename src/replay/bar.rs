//! The replay screen's chrome around a recorded screen: the REPLAY banner above it, the
//! scrub bar (position, a mark per operator action) and the replay keys below it.

use std::time::Duration;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::playback::Playback;
use super::player::ConsoleInfo;
use crate::action::Action;
use crate::config::keymap::{Keymap, Mode};
use crate::config::theme::Theme;
use crate::text::sanitize;

/// Rows the chrome takes: the banner above, the scrub bar and the hints below.
pub const CHROME_ROWS: u16 = 3;

/// What the replay draws around the recorded screen.
pub struct Chrome<'a> {
    pub console: &'a ConsoleInfo,
    pub playback: &'a Playback,
    pub keymap: &'a Keymap,
    pub theme: &'a Theme,
}

/// How a recorded screen of one size is shown in an area of another.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fit {
    /// The recorded size (columns, rows).
    pub recorded: (u16, u16),
    /// The area it is shown in.
    pub area: Rect,
    /// Where in the area the shown part goes; the part shown starts at the recorded
    /// screen's top-left cell.
    pub dest: Rect,
}

impl Fit {
    /// Centred in `area` where the recording is smaller; clipped to its top-left where it
    /// is larger (the header and the left panes matter most).
    pub fn new(recorded: (u16, u16), area: Rect) -> Fit {
        let axis = |rec: u16, avail: u16| -> (u16, u16) {
            // (offset into the area, length shown)
            if rec <= avail {
                ((avail - rec) / 2, rec)
            } else {
                (0, avail)
            }
        };
        let (dx, w) = axis(recorded.0, area.width);
        let (dy, h) = axis(recorded.1, area.height);
        Fit {
            recorded,
            area,
            dest: Rect::new(area.x + dx, area.y + dy, w, h),
        }
    }

    pub fn clipped(&self) -> bool {
        self.dest.width < self.recorded.0 || self.dest.height < self.recorded.1
    }

    pub fn centred(&self) -> bool {
        !self.clipped() && (self.area.width, self.area.height) != self.recorded
    }

    /// What the banner says about the size, if it differs from the area's.
    fn note(&self) -> Option<String> {
        let (w, h) = self.recorded;
        if self.clipped() {
            Some(format!(
                "{w}×{h} clipped to {}×{}",
                self.dest.width, self.dest.height
            ))
        } else if self.centred() {
            Some(format!("{w}×{h} centred"))
        } else {
            None
        }
    }
}

/// The banner row, the recorded screen's area, the scrub bar row and the hint row.
pub fn areas(area: Rect) -> [Rect; 4] {
    let row = |y: u16| Rect::new(area.x, y, area.width, 1.min(area.height));
    let bottom = area.y + area.height;
    let screen_h = area.height.saturating_sub(CHROME_ROWS);
    [
        row(area.y),
        Rect::new(area.x, area.y + 1.min(area.height), area.width, screen_h),
        row(bottom.saturating_sub(2).max(area.y)),
        row(bottom.saturating_sub(1).max(area.y)),
    ]
}

/// Draws `recorded` (a screen at its recorded size) with the chrome into `area`.
pub fn render(recorded: &Buffer, chrome: &Chrome, area: Rect, buf: &mut Buffer) {
    let theme = chrome.theme;
    buf.set_style(area, theme.base);
    if area.height < CHROME_ROWS + 1 || area.width < 10 {
        // Too small for anything but the banner.
        banner(chrome, None, area, buf);
        return;
    }
    let [top, screen, scrub_row, hint_row] = areas(area);
    let size = (recorded.area.width, recorded.area.height);
    let fit = Fit::new(size, screen);
    if fit.centred() {
        buf.set_style(screen, theme.muted);
    }
    copy(recorded, &fit, buf);
    banner(chrome, fit.note(), top, buf);
    scrub(chrome.playback, theme, scrub_row, buf);
    hints(chrome, hint_row, buf);
}

/// Copies the shown part of the recorded screen into its place.
fn copy(recorded: &Buffer, fit: &Fit, buf: &mut Buffer) {
    let src = recorded.area;
    for dy in 0..fit.dest.height {
        for dx in 0..fit.dest.width {
            let (sx, sy) = (src.x + dx, src.y + dy);
            if let Some(cell) = recorded.cell((sx, sy))
                && let Some(out) = buf.cell_mut((fit.dest.x + dx, fit.dest.y + dy))
            {
                *out = cell.clone();
            }
        }
    }
}

/// `mm:ss`, or `h:mm:ss` from an hour.
pub fn clock(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, (s % 3600) / 60, s % 60)
    } else {
        format!("{:02}:{:02}", s / 60, s % 60)
    }
}

/// `4`, `0.25`, `0.5`.
fn speed(x: f64) -> String {
    let s = format!("{x:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// The banner's parts, most important first; narrow terminals keep a prefix of them.
fn banner_parts(chrome: &Chrome, size_note: Option<String>) -> Vec<String> {
    let p = chrome.playback;
    let c = chrome.console;
    let state = if p.playing() {
        format!("▶ ×{}", speed(p.speed()))
    } else {
        format!("‖ paused ×{}", speed(p.speed()))
    };
    // Names come from the store: sanitized for the terminal.
    let mut parts = vec![
        "REPLAY".to_string(),
        state,
        format!("T+{} / {}", clock(p.elapsed()), clock(p.length())),
        format!("run {}", sanitize(&c.run_id)),
    ];
    parts.extend(size_note);
    parts.push(format!("{} UTC", p.at().hms()));
    parts.push(format!(
        "console {} ({})",
        sanitize(&c.id),
        sanitize(&c.user)
    ));
    parts
}

/// The banner, reverse video across the row. Parts are shown in reading order:
/// REPLAY · run · console · clock · T+ · state · size; what does not fit is left out,
/// least important first.
fn banner(chrome: &Chrome, size_note: Option<String>, area: Rect, buf: &mut Buffer) {
    let style = chrome
        .theme
        .accent
        .add_modifier(Modifier::REVERSED | Modifier::BOLD);
    buf.set_style(area, style);
    let parts = banner_parts(chrome, size_note);
    // Reading order: REPLAY, run, console, clock, T+, state, size note.
    let order = |kept: &[String]| -> Vec<String> {
        let rank = |s: &String| -> u8 {
            match s.as_str() {
                "REPLAY" => 0,
                s if s.starts_with("run ") => 1,
                s if s.starts_with("console ") => 2,
                s if s.ends_with(" UTC") => 3,
                s if s.starts_with("T+") => 4,
                s if s.starts_with('▶') || s.starts_with('‖') => 5,
                _ => 6,
            }
        };
        let mut v = kept.to_vec();
        v.sort_by_key(rank);
        v
    };
    let mut keep = parts.len();
    let text = loop {
        let line = format!(" {} ", order(&parts[..keep]).join(" · "));
        if keep <= 1 || Line::raw(line.as_str()).width() <= area.width as usize {
            break line;
        }
        keep -= 1;
    };
    Paragraph::new(Line::styled(text, style)).render(area, buf);
}

/// The column of `t` on a track of `width` cells over the span.
fn column(p: &Playback, at: crate::time::Timestamp, width: u16) -> u16 {
    let (start, end) = p.span();
    let len = (end.0 - start.0).max(0);
    if len == 0 || width <= 1 {
        return 0;
    }
    let off = (at.0 - start.0).clamp(0, len);
    ((off as i128 * (width as i128 - 1) + len as i128 / 2) / len as i128) as u16
}

/// The scrub bar: played track, the rest, a mark per operator action, the position.
fn scrub(p: &Playback, theme: &Theme, area: Rect, buf: &mut Buffer) {
    if area.width < 3 {
        return;
    }
    let track = Rect::new(area.x + 1, area.y, area.width - 2, 1);
    let pos = column(p, p.at(), track.width);
    for x in 0..track.width {
        let (sym, style) = if x < pos {
            ("━", theme.accent)
        } else {
            ("─", theme.muted)
        };
        set(buf, track.x + x, track.y, sym, style);
    }
    for t in p.actions() {
        let x = column(p, *t, track.width);
        set(buf, track.x + x, track.y, "▲", theme.warn);
    }
    set(
        buf,
        track.x + pos,
        track.y,
        "●",
        theme.accent.add_modifier(Modifier::BOLD),
    );
}

fn set(buf: &mut Buffer, x: u16, y: u16, sym: &str, style: Style) {
    if let Some(cell) = buf.cell_mut((x, y)) {
        cell.set_symbol(sym).set_style(style);
    }
}

/// The replay keys, in the order offered, with the label of each group.
const GROUPS: &[(&[Action], &str)] = &[
    (&[Action::ReplayPlayPause], "play/pause"),
    (&[Action::ReplayStepBack, Action::ReplayStepForward], "step"),
    (
        &[Action::ReplayPrevAction, Action::ReplayNextAction],
        "action",
    ),
    (&[Action::ReplaySlower, Action::ReplayFaster], "speed"),
    (&[Action::HelpToggle], "help"),
    (&[Action::Quit], "quit"),
];

/// The shortest sequence bound to `action` in the replay table, spelled for a hint.
fn best_keys(keymap: &Keymap, action: Action) -> Option<String> {
    let keys = keymap.keys_for(Mode::Replay, action);
    let best = keys.iter().min_by_key(|k| {
        (
            k.len(),
            k.iter().map(|c| c.to_string().len()).sum::<usize>(),
        )
    })?;
    let spelled: Vec<String> = best
        .iter()
        .map(|c| match c.to_string().as_str() {
            "left" => "←".to_string(),
            "right" => "→".to_string(),
            s => s.to_string(),
        })
        .collect();
    Some(spelled.join(" "))
}

/// The hint entries (keys, label) from the live keymap's `[replay]` table.
pub fn hint_entries(keymap: &Keymap) -> Vec<(String, &'static str)> {
    GROUPS
        .iter()
        .filter_map(|(actions, label)| {
            let keys: Vec<String> = actions
                .iter()
                .filter_map(|a| best_keys(keymap, *a))
                .collect();
            (!keys.is_empty()).then(|| (keys.join(" "), *label))
        })
        .collect()
}

/// The hint row: a remark of the last key, then whole entries while they fit.
fn hints(chrome: &Chrome, area: Rect, buf: &mut Buffer) {
    let theme = chrome.theme;
    buf.set_style(area, theme.hint_desc);
    let mut spans = Vec::new();
    if let Some(note) = chrome.playback.notice {
        spans.push(Span::styled(format!(" {note} "), theme.warn));
        spans.push(Span::raw(" "));
    }
    let mut used: usize = spans.iter().map(|s| s.width()).sum();
    for (keys, label) in hint_entries(chrome.keymap) {
        let key = Span::styled(format!(" {keys} "), theme.hint_key);
        let desc = Span::styled(format!(" {label}  "), theme.hint_desc);
        let w = key.width() + desc.width();
        if used + w > area.width as usize {
            break;
        }
        used += w;
        spans.push(key);
        spans.push(desc);
    }
    Paragraph::new(Line::from(spans)).render(area, buf);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Timestamp;

    fn t(s: i64) -> Timestamp {
        Timestamp::from_secs(s)
    }

    #[test]
    fn fit_centres_smaller_and_clips_larger() {
        let area = Rect::new(0, 1, 160, 45);
        let f = Fit::new((80, 24), area);
        assert_eq!(f.dest, Rect::new(40, 11, 80, 24));
        assert!(f.centred() && !f.clipped());
        assert_eq!(f.note().as_deref(), Some("80×24 centred"));
        let f = Fit::new((160, 48), area);
        assert_eq!(f.dest, Rect::new(0, 1, 160, 45));
        assert!(f.clipped());
        assert_eq!(f.note().as_deref(), Some("160×48 clipped to 160×45"));
        let f = Fit::new((160, 45), area);
        assert_eq!(f.note(), None);
    }

    #[test]
    fn clocks_and_speeds_read_well() {
        assert_eq!(clock(Duration::from_secs(312)), "05:12");
        assert_eq!(clock(Duration::from_secs(3723)), "1:02:03");
        assert_eq!(speed(0.25), "0.25");
        assert_eq!(speed(0.5), "0.5");
        assert_eq!(speed(4.0), "4");
    }

    #[test]
    fn columns_span_the_track() {
        let p = Playback::new((t(0), t(100)), &[], &[], 1.0);
        assert_eq!(column(&p, t(0), 101), 0);
        assert_eq!(column(&p, t(50), 101), 50);
        assert_eq!(column(&p, t(100), 101), 100);
        assert_eq!(column(&p, t(500), 101), 100, "clamped");
        let empty = Playback::new((t(5), t(5)), &[], &[], 1.0);
        assert_eq!(column(&empty, t(5), 80), 0);
    }

    #[test]
    fn hints_come_from_the_keymap() {
        let km = Keymap::default();
        let e = hint_entries(&km);
        assert_eq!(e[0], ("space".to_string(), "play/pause"));
        assert_eq!(e[1], ("← →".to_string(), "step"));
        assert_eq!(e[2], ("[ ]".to_string(), "action"));
        assert_eq!(e[3], ("- +".to_string(), "speed"));
        assert_eq!(e.last(), Some(&("q".to_string(), "quit")));
    }

    /// Any terminal size draws something sensible and never panics; the banner survives.
    #[test]
    fn tiny_terminals_keep_the_banner() {
        let km = Keymap::default();
        let theme = crate::config::theme_by_name("dark").unwrap();
        let console = ConsoleInfo {
            of: 1,
            id: "c".into(),
            user: "u".into(),
            run_id: "r".into(),
        };
        let mut p = Playback::new((t(0), t(60)), &[t(0), t(60)], &[t(30)], 1.0);
        p.seek(t(45));
        let chrome = Chrome {
            console: &console,
            playback: &p,
            keymap: &km,
            theme: &theme,
        };
        let mut recorded = Buffer::empty(Rect::new(0, 0, 30, 10));
        recorded.set_string(0, 0, "HEADER", Style::default());
        for (w, h) in [(1, 1), (9, 3), (10, 4), (12, 5), (30, 13), (200, 60)] {
            let area = Rect::new(0, 0, w, h);
            let mut buf = Buffer::empty(area);
            render(&recorded, &chrome, area, &mut buf);
            let top: String = (0..w).map(|x| buf[(x, 0)].symbol().to_string()).collect();
            if w >= 8 {
                assert!(top.contains("REPLAY"), "{w}x{h}: {top}");
            }
            if h > CHROME_ROWS && w >= 10 {
                let text: String = (0..h)
                    .flat_map(|y| (0..w).map(move |x| (x, y)))
                    .map(|c| buf[c].symbol().to_string())
                    .collect();
                assert!(text.contains("HEADER"), "{w}x{h}: the recording is shown");
                assert!(text.contains('●'), "{w}x{h}: the position is shown");
            }
        }
    }
}
