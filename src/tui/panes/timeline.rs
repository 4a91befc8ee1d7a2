//! Timeline pane: recent events from sources and actions from responders, newest first,
//! each with its UTC time and a mark for its kind and severity.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::{Freshness, filtered_frame, highlight, mark, put, window_of};
use crate::app::{Model, PaneId, TimelineKind};
use crate::config::theme::Theme;
use crate::sources::Severity;

pub fn render(model: &Model, area: Rect, theme: &Theme, focused: bool, buf: &mut Buffer) {
    // Filtered once a frame: the title's count and the rows drawn both use it.
    let kept = crate::app::rows::shown(model, PaneId::Timeline);
    let count = match &kept {
        Some(kept) => format!("{} of {} entries", kept.len(), model.timeline.len()),
        None => format!("{} entries", model.timeline.len()),
    };
    let inner = filtered_frame(
        model,
        area,
        buf,
        theme,
        PaneId::Timeline,
        focused,
        &count,
        &Freshness::Current,
        Some("newest first".into()),
    );
    if model.timeline.is_empty() {
        put(
            buf,
            inner,
            0,
            &Line::styled("nothing has happened yet", theme.muted),
        );
        return;
    }
    let win = window_of(
        model,
        PaneId::Timeline,
        kept,
        model.timeline.len(),
        inner.height as usize,
        theme,
    );
    if let Some(line) = &win.no_match {
        return put(buf, inner, 0, line);
    }
    for (y, i) in win.rows.iter().enumerate() {
        let Some(e) = model.timeline.get(*i) else {
            continue;
        };
        let (sym, style) = match e.kind {
            TimelineKind::Event(Severity::Info) => ("·", theme.base),
            TimelineKind::Event(Severity::Warn) => (mark::WARN, theme.warn),
            TimelineKind::Event(Severity::Crit) => (mark::CRIT, theme.crit),
            TimelineKind::Action => ("⌨", theme.accent),
            TimelineKind::System => ("◆", theme.idle),
        };
        put(
            buf,
            inner,
            y as u16,
            &Line::from(vec![
                Span::styled(format!("{} ", e.at.hms()), theme.muted),
                Span::styled(format!("{sym} "), style),
                Span::styled(e.text.as_str().to_string(), style),
            ]),
        );
        if win.selected == Some(*i) {
            highlight(buf, inner, y as u16, theme);
        }
    }
}
