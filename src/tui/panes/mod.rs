//! One file per pane, each `render(&Model, Rect, &Theme, focused, &mut Buffer)`, plus the
//! shared frame: title, focus, and the freshness of the figures (current, stale, error).

pub mod drill;
pub mod groups;
pub mod header;
pub mod hints;
pub mod kube_storage;
pub mod kube_workload;
pub mod migration;
pub mod plan;
pub mod replication;
pub mod storage;
pub mod timeline;
pub mod workload;

use std::time::Duration;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Widget};

use crate::app::{Figure, Model, PaneId};
use crate::config::theme::Theme;
use crate::sources::SourceId;
use crate::units::fmt_duration;

/// State marks: every state has a symbol, so nothing depends on colour alone.
pub mod mark {
    pub const OK: &str = "✓";
    pub const WARN: &str = "▲";
    pub const CRIT: &str = "✖";
    pub const IDLE: &str = "◌";
    pub const STALE: &str = "?";
    pub const PAUSED: &str = "‖";
    pub const RUNNING: &str = "▶";
    pub const PENDING: &str = "○";
}

/// How current a pane's figures are.
#[derive(Clone, Debug, PartialEq)]
pub enum Freshness {
    /// No figure yet.
    Waiting,
    Current,
    Stale(Duration),
    /// The source failed; `age` is of the last good figure, if any.
    Failed {
        error: String,
        age: Option<Duration>,
    },
}

impl Freshness {
    pub fn of<T>(model: &Model, fig: Option<&Figure<T>>) -> Freshness {
        match fig {
            Some(f) => Freshness::of_source(model, &f.source, fig),
            None => Freshness::Waiting,
        }
    }

    /// How current `source`'s figure is; a source that failed before its first figure
    /// is `Failed` with no age.
    pub fn of_source<T>(model: &Model, source: &SourceId, fig: Option<&Figure<T>>) -> Freshness {
        if let Some((_, err)) = model.error_of(source) {
            return Freshness::Failed {
                error: err.as_str().to_string(),
                age: fig.map(|f| f.at.age_at(model.now)),
            };
        }
        let Some(fig) = fig else {
            return Freshness::Waiting;
        };
        match fig.stale_age(model.now) {
            Some(age) => Freshness::Stale(age),
            None => Freshness::Current,
        }
    }

    /// The style figures are drawn in: the stale style unless current.
    pub fn figure_style(&self, theme: &Theme, current: Style) -> Style {
        match self {
            Freshness::Current => current,
            _ => theme.stale,
        }
    }

    pub fn is_current(&self) -> bool {
        matches!(self, Freshness::Current)
    }
}

/// A pane with nothing to show here: its frame and one muted line saying why.
pub fn unwatched(
    area: Rect,
    buf: &mut Buffer,
    theme: &Theme,
    pane: PaneId,
    focused: bool,
    why: &str,
) {
    let inner = frame(
        area,
        buf,
        theme,
        pane,
        focused,
        "",
        &Freshness::Current,
        None,
    );
    put(buf, inner, 0, &Line::styled(why.to_string(), theme.muted));
}

/// Draws the pane's border and titles; returns the inner area.
#[allow(clippy::too_many_arguments)]
pub fn frame(
    area: Rect,
    buf: &mut Buffer,
    theme: &Theme,
    pane: PaneId,
    focused: bool,
    subtitle: &str,
    freshness: &Freshness,
    when: Option<String>,
) -> Rect {
    frame_of(
        area,
        buf,
        theme,
        (pane, None),
        focused,
        subtitle,
        freshness,
        when,
    )
}

/// [`frame`] for a pane `/` filters: its title carries the filter, e.g. `Timeline /lag`.
#[allow(clippy::too_many_arguments)]
pub fn filtered_frame(
    model: &Model,
    area: Rect,
    buf: &mut Buffer,
    theme: &Theme,
    pane: PaneId,
    focused: bool,
    subtitle: &str,
    freshness: &Freshness,
    when: Option<String>,
) -> Rect {
    let filter = model.filter_of(pane);
    frame_of(
        area,
        buf,
        theme,
        (pane, filter),
        focused,
        subtitle,
        freshness,
        when,
    )
}

#[allow(clippy::too_many_arguments)]
fn frame_of(
    area: Rect,
    buf: &mut Buffer,
    theme: &Theme,
    (pane, filter): (PaneId, Option<&str>),
    focused: bool,
    subtitle: &str,
    freshness: &Freshness,
    when: Option<String>,
) -> Rect {
    let (border, title_style) = if focused {
        (theme.border_focus, theme.title_focus)
    } else {
        (theme.border, theme.title)
    };
    let number = pane.index() + 1;
    let when_missing = when.is_none();
    let right: Line = match freshness {
        Freshness::Waiting => Line::from(Span::styled(" waiting for first figures ", theme.muted)),
        Freshness::Current => Line::from(Span::styled(
            format!(" {} ", when.unwrap_or_default()),
            theme.muted,
        )),
        Freshness::Stale(age) => Line::from(Span::styled(
            format!(" {} STALE · {} old ", mark::STALE, fmt_duration(*age)),
            theme.warn,
        )),
        Freshness::Failed { age, .. } => {
            let age = age
                .map(|a| format!(" · last good {} ago", fmt_duration(a)))
                .unwrap_or_default();
            Line::from(Span::styled(
                format!(" {} SOURCE DOWN{age} ", mark::CRIT),
                theme.crit,
            ))
        }
    };
    let name = match filter {
        // Typed by the user: drawn sanitized.
        Some(f) => format!(
            " {number} {} /{} ",
            pane.title(),
            crate::text::DisplayText::new(f).as_str()
        ),
        None => format!(" {number} {} ", pane.title()),
    };
    let available = area.width.saturating_sub(2) as usize;
    // Nothing to say on the right of a current pane that has no time (no figures expected).
    let mut right = (!(freshness.is_current() && when_missing)).then_some(right);
    let base = name.chars().count();
    let right_w = right.as_ref().map_or(0, |r| r.width());
    // Narrow panes: the freshness of a stale or failed source always stays; the source
    // and time of a current one go first, then the subtitle is shortened.
    if base + subtitle.chars().count() + 3 + right_w > available && freshness.is_current() {
        right = None;
    }
    let right_w = right.as_ref().map_or(0, |r| r.width());
    let room = available.saturating_sub(base + right_w + 4);
    let mut left = vec![Span::styled(name, title_style)];
    if !subtitle.is_empty() && room >= 4 {
        left.push(Span::styled(
            format!("· {} ", fit(subtitle, room).trim_end()),
            theme.muted,
        ));
    }
    let block = Block::bordered()
        .border_type(if focused {
            BorderType::Thick
        } else {
            BorderType::Rounded
        })
        .border_style(border)
        .title_top(Line::from(left));
    let block = match right {
        Some(r) => block.title_top(r.right_aligned()),
        None => block,
    };
    let inner = block.inner(area);
    block.render(area, buf);
    inner
}

/// Writes one line at row `y` of `area`, clipped to its width.
pub fn put(buf: &mut Buffer, area: Rect, y: u16, line: &Line) {
    if y < area.height {
        buf.set_line(area.x, area.y + y, line, area.width);
    }
}

/// Left-pads or truncates `s` to exactly `w` display columns.
pub fn fit(s: &str, w: usize) -> String {
    use unicode_width::UnicodeWidthChar;
    if w == 0 {
        return String::new();
    }
    let mut out = String::new();
    let mut used = 0;
    let total: usize = s.chars().map(|c| c.width().unwrap_or(0)).sum();
    for c in s.chars() {
        let cw = c.width().unwrap_or(0);
        if total > w && used + cw + 1 > w {
            out.push('…');
            used += 1;
            break;
        }
        if used + cw > w {
            break;
        }
        out.push(c);
        used += cw;
    }
    while used < w {
        out.push(' ');
        used += 1;
    }
    out
}

/// Right-aligns `s` in `w` columns (no truncation of short figures).
pub fn rfit(s: &str, w: usize) -> String {
    let n = s.chars().count();
    if n >= w {
        s.to_string()
    } else {
        format!("{}{s}", " ".repeat(w - n))
    }
}

/// A horizontal bar of `width` cells, `ratio` filled.
pub fn bar(ratio: f64, width: usize) -> (String, String) {
    let ratio = if ratio.is_finite() {
        ratio.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let filled = ((ratio * width as f64).round() as usize).min(width);
    ("█".repeat(filled), "░".repeat(width - filled))
}

/// The inner message shown before a source's first figures.
pub fn waiting(buf: &mut Buffer, area: Rect, theme: &Theme, what: &str) {
    put(
        buf,
        area,
        0,
        &Line::from(Span::styled(format!("waiting for {what}…"), theme.muted)),
    );
}

/// The first visible row given a scroll offset, keeping the last page full.
pub fn first_row(scroll: usize, len: usize, visible: usize) -> usize {
    scroll.min(len.saturating_sub(visible))
}

/// The rows of a list to draw in `visible` lines: all of them from the scroll position,
/// or, under a `/` filter, the kept ones, with the selected one (`y` copies it).
pub struct Window {
    /// Indices into the pane's full list of rows, top to bottom.
    pub rows: Vec<usize>,
    /// The selected row's index, drawn highlighted (focused pane only).
    pub selected: Option<usize>,
    /// The filter keeps nothing: the line that says so instead.
    pub no_match: Option<Line<'static>>,
}

/// Which of `len` rows the pane shows in `visible` lines (see [`Window`]).
pub fn window(model: &Model, pane: PaneId, len: usize, visible: usize, theme: &Theme) -> Window {
    let kept = crate::app::rows::shown(model, pane);
    window_of(model, pane, kept, len, visible, theme)
}

/// [`window`] for rows already filtered (`kept`, from `rows::shown`): one pass a frame.
pub fn window_of(
    model: &Model,
    pane: PaneId,
    kept: Option<Vec<usize>>,
    len: usize,
    visible: usize,
    theme: &Theme,
) -> Window {
    let Some(kept) = kept else {
        let start = first_row(model.scroll_of(pane), len, visible);
        return Window {
            rows: (start..len).take(visible).collect(),
            selected: None,
            no_match: None,
        };
    };
    let kept: Vec<usize> = kept.into_iter().filter(|i| *i < len).collect();
    if kept.is_empty() {
        let f = crate::text::DisplayText::new(model.filter_of(pane).unwrap_or(""));
        return Window {
            rows: Vec::new(),
            selected: None,
            no_match: Some(Line::styled(
                format!("no rows match /{}", f.as_str()),
                theme.muted,
            )),
        };
    }
    let start = first_row(model.scroll_of(pane), kept.len(), visible);
    let selected = (model.focus == pane)
        .then(|| crate::app::rows::selected_of(model, pane, &kept).map(|(_, row)| row))
        .flatten();
    Window {
        rows: kept.into_iter().skip(start).take(visible).collect(),
        selected,
        no_match: None,
    }
}

/// Marks row `y` of `area` as the selected one.
pub fn highlight(buf: &mut Buffer, area: Rect, y: u16, theme: &Theme) {
    if y < area.height {
        let row = Rect {
            y: area.y + y,
            height: 1,
            ..area
        };
        buf.set_style(row, theme.selection);
    }
}

/// For a failed source: the error line at the top of the pane.
pub fn error_line(freshness: &Freshness, theme: &Theme) -> Option<Line<'static>> {
    match freshness {
        Freshness::Failed { error, .. } => Some(Line::from(vec![
            Span::styled(format!("{} ", mark::CRIT), theme.crit),
            Span::styled(error.clone(), theme.crit),
        ])),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_pads_truncates_and_handles_zero() {
        assert_eq!(fit("abc", 5), "abc  ");
        assert_eq!(fit("abcdef", 4), "abc…");
        assert_eq!(fit("abc", 0), "");
        assert_eq!(rfit("7", 3), "  7");
    }
}
