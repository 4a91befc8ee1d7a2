//! Replication pane: per replica, time and byte lag against thresholds, its state, and a
//! sparkline of recent lag. "idle" (nothing outstanding) is shown apart from "0 lag".

use std::time::Duration;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Sparkline, Widget};

use super::groups::{groups, heading, overall, when_many};
use super::{Freshness, error_line, first_row, fit, frame, mark, put, rfit, waiting};
use crate::app::{Model, PaneId};
use crate::config::theme::Theme;
use crate::sources::{ReplicaState, ReplicaStatus, ReplicationSnapshot, SourceId};
use crate::units::{fmt_bytes, fmt_duration, fmt_rate};

/// Time lag above which a replica is shown as a warning.
pub const LAG_WARN: Duration = Duration::from_secs(5);
/// Time lag above which a replica is shown as critical.
pub const LAG_CRIT: Duration = Duration::from_secs(30);

/// The mark, word and style of a replica's lag.
pub fn lag_class(r: &ReplicaStatus, theme: &Theme) -> (&'static str, String, Style) {
    match (r.state, r.time_lag) {
        (ReplicaState::Disconnected, _) => (mark::CRIT, "disconnected".into(), theme.crit),
        (_, None) => (mark::IDLE, "idle".into(), theme.idle),
        (_, Some(l)) if l >= LAG_CRIT => (mark::CRIT, fmt_duration(l), theme.crit),
        (_, Some(l)) if l >= LAG_WARN => (mark::WARN, fmt_duration(l), theme.warn),
        (_, Some(l)) => (mark::OK, fmt_duration(l), theme.ok),
    }
}

fn state_word(r: &ReplicaStatus) -> &'static str {
    if r.replay_paused {
        return "replay paused";
    }
    match r.state {
        ReplicaState::Streaming => "streaming",
        ReplicaState::Catchup => "catchup",
        ReplicaState::Stalled => "apply stalled",
        ReplicaState::Disconnected => "disconnected",
    }
}

/// One line of the pane's body below the column header.
enum Item<'a> {
    Heading(Line<'static>),
    Replica(&'a SourceId, &'a ReplicaStatus, &'a Freshness),
}

fn primary_line(r: &ReplicationSnapshot) -> String {
    format!("{} · WAL {}", r.primary, fmt_rate(r.wal_bytes_per_sec))
}

/// A target's heading: a primary names itself in its snapshot; a standby names where it
/// streams from; a Prometheus target reports the standbys its exporters see.
fn role_line(source: &SourceId, r: &ReplicationSnapshot) -> String {
    let wal = fmt_rate(r.wal_bytes_per_sec);
    if source.0.starts_with("prom:") {
        format!("via Prometheus · primary WAL {wal}")
    } else if r.primary.as_str() == source.target() {
        format!("primary · WAL {wal}")
    } else {
        format!("standby of {} · WAL received {wal}", r.primary)
    }
}

pub fn render(model: &Model, area: Rect, theme: &Theme, focused: bool, buf: &mut Buffer) {
    if model.no_postgres_watched() {
        let why = "replication lag comes from a postgres or prometheus target: none is watched";
        return super::unwatched(area, buf, theme, PaneId::Replication, focused, why);
    }
    let groups = groups(model, &model.replication);
    let fresh = overall(&groups);
    let headed = groups.len() > 1;
    let (subtitle, when) = match groups.as_slice() {
        [one] => (
            one.fig.map(|f| primary_line(&f.value)).unwrap_or_default(),
            one.fig.map(|f| format!("{} · {}", f.source.0, f.at.hms())),
        ),
        _ => (String::new(), when_many(&groups)),
    };
    let inner = frame(
        area,
        buf,
        theme,
        PaneId::Replication,
        focused,
        &subtitle,
        &fresh,
        when,
    );
    let mut y = 0;
    // One target: its error above the columns, as in a drill. Several: in each heading.
    if !headed && let Some(l) = error_line(&fresh, theme) {
        put(buf, inner, y, &l);
        y += 1;
    }
    if groups.iter().all(|g| g.fig.is_none()) && !headed {
        if y == 0 {
            waiting(buf, inner, theme, "replication figures");
        }
        return;
    }
    let mut items: Vec<Item> = Vec::new();
    for g in &groups {
        if headed {
            let extra = g
                .fig
                .map(|f| role_line(&g.source, &f.value))
                .unwrap_or_default();
            items.push(Item::Heading(heading(g, &extra, theme)));
        }
        if let Some(f) = g.fig {
            for r in &f.value.replicas {
                items.push(Item::Replica(&g.source, r, &g.fresh));
            }
        }
    }
    let wide = inner.width >= 60;
    let name_w = 12;
    let state_w = 14;
    let fixed = 2 + name_w + state_w + 10 + 12;
    let header = if wide {
        format!(
            "  {}{}{}{}  history",
            fit("replica", name_w),
            fit("state", state_w),
            rfit("time lag", 10),
            rfit("byte lag", 12)
        )
    } else {
        format!(
            "  {}{}{}",
            fit("replica", name_w),
            rfit("lag", 10),
            rfit("bytes", 12)
        )
    };
    put(buf, inner, y, &Line::styled(header, theme.muted));
    y += 1;
    let rows = (inner.height.saturating_sub(y)) as usize;
    let headings = items.len()
        - items
            .iter()
            .filter(|i| matches!(i, Item::Replica(..)))
            .count();
    let n = (items.len() - headings).max(1);
    // Each replica gets up to three rows so its sparkline has height to show a trend.
    let per = if wide {
        (rows.saturating_sub(headings) / n).clamp(1, 3)
    } else {
        1
    };
    let start = first_row(
        model.scroll_of(PaneId::Replication),
        items.len(),
        rows / per,
    );
    for item in items.iter().skip(start) {
        if y >= inner.height {
            break;
        }
        let (source, r, fresh) = match item {
            Item::Heading(line) => {
                put(buf, inner, y, line);
                y += 1;
                continue;
            }
            Item::Replica(source, r, fresh) => (*source, *r, *fresh),
        };
        let (sym, lag, style) = lag_class(r, theme);
        let style = fresh.figure_style(theme, style);
        let mut spans = vec![
            Span::styled(format!("{sym} "), style),
            Span::styled(fit(r.name.as_str(), name_w), theme.accent),
        ];
        if wide {
            let state_style = match r.state {
                ReplicaState::Streaming | ReplicaState::Catchup if !r.replay_paused => theme.muted,
                _ => theme.warn,
            };
            spans.push(Span::styled(
                fit(state_word(r), state_w),
                fresh.figure_style(theme, state_style),
            ));
        }
        spans.push(Span::styled(rfit(&lag, 10), style));
        spans.push(Span::styled(
            rfit(&fmt_bytes(r.byte_lag), 12),
            fresh.figure_style(theme, theme.base),
        ));
        put(buf, inner, y, &Line::from(spans));
        if wide && inner.width as usize > fixed + 4 {
            let spark_w = inner.width as usize - fixed - 2;
            let height = (per as u16).min(inner.height - y);
            render_history(
                model,
                source,
                r.name.as_str(),
                fresh,
                theme,
                Rect {
                    x: inner.x + fixed as u16 + 2,
                    y: inner.y + y,
                    width: spark_w as u16,
                    height,
                },
                buf,
            );
        }
        y += per as u16;
    }
}

/// Recent time lag of one replica, newest at the right; idle samples are left blank.
fn render_history(
    model: &Model,
    source: &SourceId,
    name: &str,
    fresh: &Freshness,
    theme: &Theme,
    area: Rect,
    buf: &mut Buffer,
) {
    let width = area.width as usize;
    let hist = model.lag_history.get(&(source.clone(), name.to_string()));
    let mut data: Vec<Option<u64>> = hist
        .map(|h| h.iter().rev().take(width).rev().copied().collect())
        .unwrap_or_default();
    let pad = width.saturating_sub(data.len());
    data.splice(0..0, std::iter::repeat_n(None, pad));
    let peak = data.iter().flatten().copied().max().unwrap_or(0);
    let warn_ms = LAG_WARN.as_millis() as u64;
    let style = if peak >= LAG_CRIT.as_millis() as u64 {
        theme.crit
    } else if peak >= warn_ms {
        theme.warn
    } else {
        theme.sparkline
    };
    Sparkline::default()
        .data(data)
        .absent_value_symbol(" ")
        .max(peak.max(warn_ms))
        .style(fresh.figure_style(theme, style))
        .render(area, buf);
}
