//! Timeline pane: recent events from sources and actions from responders, newest first,
//! each with its UTC time and a mark for its kind and severity.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::{Freshness, first_row, frame, mark, put};
use crate::app::{Model, PaneId, TimelineKind};
use crate::config::theme::Theme;
use crate::sources::Severity;

pub fn render(model: &Model, area: Rect, theme: &Theme, focused: bool, buf: &mut Buffer) {
    let count = format!("{} entries", model.timeline.len());
    let inner = frame(
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
    let rows = inner.height as usize;
    let start = first_row(
        model.scroll_of(PaneId::Timeline),
        model.timeline.len(),
        rows,
    );
    for (y, e) in model.timeline.iter().skip(start).take(rows).enumerate() {
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
    }
}
