//! Storage pane: per volume a used/capacity gauge, growth rate and time to full; the WAL
//! each replication slot retains; the state of volume snapshots.

use std::time::Duration;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};

use super::groups::{groups, heading, kube_groups, none_of_this_kind, overall_of};
use super::kube_storage;
use super::{
    Freshness, bar, error_line, filtered_frame, fit, highlight, mark, put, rfit, waiting, window,
};
use crate::app::{Model, PaneId};
use crate::config::theme::Theme;
use crate::sources::{SnapshotState, SnapshotStatus, StorageSnapshot, VolumeStatus};
use crate::units::{fmt_bytes, fmt_duration, fmt_rate};

/// Usage at which a volume is a warning, and critical.
pub const USAGE_WARN: f64 = 0.80;
pub const USAGE_CRIT: f64 = 0.90;
/// A slot retaining more than this is a warning.
pub const SLOT_WARN_BYTES: u64 = 1 << 30;

/// A volume that fills within this time is a warning whatever its usage now.
pub const FULL_SOON: Duration = Duration::from_secs(3600);

fn usage_class(v: &VolumeStatus, theme: &Theme) -> (&'static str, Style) {
    let ratio = ratio(v);
    let full_soon = time_to_full(v).is_some_and(|d| d < FULL_SOON);
    if ratio >= USAGE_CRIT {
        (mark::CRIT, theme.crit)
    } else if ratio >= USAGE_WARN || full_soon {
        (mark::WARN, theme.warn)
    } else {
        (mark::OK, theme.ok)
    }
}

fn ratio(v: &VolumeStatus) -> f64 {
    if v.capacity_bytes == 0 {
        0.0
    } else {
        v.used_bytes as f64 / v.capacity_bytes as f64
    }
}

/// Time until the volume is full at its current growth, if it is growing.
/// `None` when not growing, or when the capacity is unknown (0: a database's size, not a
/// volume's).
pub fn time_to_full(v: &VolumeStatus) -> Option<Duration> {
    if v.capacity_bytes == 0 {
        return None;
    }
    let free = v.capacity_bytes.saturating_sub(v.used_bytes) as f64;
    (v.growth_bytes_per_sec > 0.0)
        .then(|| Duration::from_secs_f64((free / v.growth_bytes_per_sec).min(1e9)))
}

pub fn render(model: &Model, area: Rect, theme: &Theme, focused: bool, buf: &mut Buffer) {
    let groups: Vec<_> = groups(model, &model.storage).into_iter().collect();
    let kube = kube_groups(model);
    let standbys_only = kube.is_empty() && none_of_this_kind(model, &groups);
    let fresh = if standbys_only {
        Freshness::Current
    } else {
        overall_of(
            groups
                .iter()
                .map(|g| g.fresh.clone())
                .chain(kube.iter().map(|g| g.fresh.clone()))
                .collect(),
        )
    };
    let headed = groups.len() + kube.len() > 1;
    let when = match (groups.as_slice(), kube.as_slice()) {
        ([one], []) => one.fig.map(|f| format!("{} · {}", f.source.0, f.at.hms())),
        ([], [one]) => one.fig.map(|f| format!("{} · {}", f.source.0, f.at.hms())),
        _ => {
            let newest = groups
                .iter()
                .filter_map(|g| g.fig.map(|f| f.at))
                .chain(kube.iter().filter_map(|g| g.fig.map(|f| f.at)))
                .max();
            newest.map(|at| format!("{} targets · {}", groups.len() + kube.len(), at.hms()))
        }
    };
    let inner = filtered_frame(
        model,
        area,
        buf,
        theme,
        PaneId::Storage,
        focused,
        "",
        &fresh,
        when,
    );
    let mut y = 0;
    if !headed && let Some(l) = error_line(&fresh, theme) {
        put(buf, inner, y, &l);
        y += 1;
    }
    if standbys_only {
        let text = "no primary among the targets: sizes and slots are read on a primary";
        return put(buf, inner, 0, &Line::styled(text, theme.muted));
    }
    if !headed && groups.iter().all(|g| g.fig.is_none()) && kube.iter().all(|g| g.fig.is_none()) {
        if y == 0 {
            waiting(buf, inner, theme, "storage figures");
        }
        return;
    }
    let mut lines: Vec<Line> = Vec::new();
    for g in &groups {
        if headed {
            lines.push(heading(g, "", theme));
        }
        if let Some(f) = g.fig {
            lines.extend(lines_of(model, &f.value, &g.fresh, theme, inner, !headed));
        }
    }
    // Kubernetes rows are many (a claim each): only those on screen are built.
    let layout = kube_storage::Layout {
        headed,
        say_none: !headed,
        width: inner.width,
    };
    let kube_rows: Vec<usize> = kube
        .iter()
        .map(|g| kube_storage::rows(g, &layout))
        .collect();
    let total = lines.len() + kube_rows.iter().sum::<usize>();
    let rows = inner.height.saturating_sub(y) as usize;
    let win = window(model, PaneId::Storage, total, rows, theme);
    if let Some(line) = &win.no_match {
        return put(buf, inner, y, line);
    }
    for i in win.rows.iter().copied() {
        let line = match lines.get(i) {
            Some(l) => l.clone(),
            None => {
                let mut k = i - lines.len();
                let mut out = Line::default();
                for (g, n) in kube.iter().zip(&kube_rows) {
                    if k < *n {
                        out = kube_storage::line(model, g, &layout, k, theme);
                        break;
                    }
                    k -= n;
                }
                out
            }
        };
        put(buf, inner, y, &line);
        if win.selected == Some(i) {
            highlight(buf, inner, y, theme);
        }
        y += 1;
    }
}

/// One target's volumes, slots and snapshots, drawn in its freshness.
fn lines_of(
    model: &Model,
    s: &StorageSnapshot,
    fresh: &Freshness,
    theme: &Theme,
    inner: Rect,
    say_no_snapshots: bool,
) -> Vec<Line<'static>> {
    let wide = inner.width >= 70;
    let name_w = s
        .volumes
        .iter()
        .map(|v| v.name.as_str().chars().count())
        .max()
        .unwrap_or(10)
        .clamp(10, 20)
        + 1;
    let mut lines: Vec<Line> = Vec::new();
    for v in &s.volumes {
        let (sym, style) = usage_class(v, theme);
        let style = fresh.figure_style(theme, style);
        let fig_style = fresh.figure_style(theme, theme.base);
        let gauge_w = if inner.width >= 100 {
            20
        } else if wide {
            12
        } else {
            8
        };
        let (done, todo) = bar(ratio(v), gauge_w);
        let ttf = match time_to_full(v) {
            Some(_) if v.used_bytes >= v.capacity_bytes => ("FULL".to_string(), theme.crit),
            Some(d) if d < Duration::from_secs(3600) => {
                (format!("full in {}", fmt_duration(d)), theme.crit)
            }
            Some(d) => (format!("full in {}", fmt_duration(d)), theme.muted),
            None if v.capacity_bytes == 0 => ("capacity unknown".to_string(), theme.muted),
            None => ("not growing".to_string(), theme.muted),
        };
        let growth = if v.growth_bytes_per_sec >= 0.0 {
            format!("+{}", fmt_rate(v.growth_bytes_per_sec))
        } else {
            format!("-{}", fmt_rate(-v.growth_bytes_per_sec))
        };
        let mut spans = vec![
            Span::styled(format!("{sym} "), style),
            Span::styled(
                fit(v.name.as_str(), if wide { 20 } else { 14 }),
                theme.accent,
            ),
        ];
        if v.capacity_bytes == 0 {
            // Size only: no gauge or percentage to pretend with.
            spans.push(Span::styled(
                format!("{:<w$}", "size", w = gauge_w),
                theme.muted,
            ));
            spans.push(Span::styled(rfit("—", 7), theme.muted));
        } else {
            spans.push(Span::styled(done, style));
            spans.push(Span::styled(todo, theme.gauge_bg));
            spans.push(Span::styled(
                rfit(&format!("{:.1}%", ratio(v) * 100.0), 7),
                style,
            ));
        }
        if wide && v.capacity_bytes == 0 {
            spans.push(Span::styled(
                format!("  {}", fmt_bytes(v.used_bytes)),
                fig_style,
            ));
        } else if wide {
            spans.push(Span::styled(
                format!(
                    "  {}/{}",
                    fmt_bytes(v.used_bytes),
                    fmt_bytes(v.capacity_bytes)
                ),
                fig_style,
            ));
        }
        spans.push(Span::styled(format!("  {growth}"), fig_style));
        spans.push(Span::styled(
            format!("  {}", ttf.0),
            fresh.figure_style(theme, ttf.1),
        ));
        lines.push(Line::from(spans));
    }
    if !s.slots.is_empty() {
        lines.push(Line::styled("replication slots", theme.muted));
        for slot in &s.slots {
            let (sym, style) = if slot.wal_status.as_str() == "lost" {
                (mark::CRIT, theme.crit)
            } else if slot.retained_bytes >= SLOT_WARN_BYTES {
                (mark::WARN, theme.warn)
            } else {
                (mark::OK, theme.ok)
            };
            let style = fresh.figure_style(theme, style);
            let active = if slot.active { "active" } else { "INACTIVE" };
            lines.push(Line::from(vec![
                Span::styled(format!("{sym} "), style),
                Span::styled(fit(slot.name.as_str(), name_w), theme.accent),
                Span::styled(
                    fit(active, 9),
                    if slot.active { theme.muted } else { theme.warn },
                ),
                Span::styled(format!("retains {}", fmt_bytes(slot.retained_bytes)), style),
                Span::styled(format!("  wal {}", slot.wal_status), theme.muted),
            ]));
        }
    }
    if !s.snapshots.is_empty() {
        lines.push(Line::styled("snapshots", theme.muted));
        for snap in &s.snapshots {
            lines.push(snapshot_line(model, snap, name_w, fresh, theme));
        }
    } else if say_no_snapshots {
        lines.push(Line::styled("snapshots: none taken", theme.muted));
    }
    lines
}

/// One volume snapshot: ready, pending or failed, of which volume, how long ago.
pub fn snapshot_line(
    model: &Model,
    snap: &SnapshotStatus,
    name_w: usize,
    fresh: &Freshness,
    theme: &Theme,
) -> Line<'static> {
    let (sym, word, style) = match snap.state {
        SnapshotState::Ready => (mark::OK, "ready", theme.ok),
        SnapshotState::Pending => (mark::RUNNING, "pending", theme.warn),
        SnapshotState::Failed => (mark::CRIT, "failed", theme.crit),
    };
    Line::from(vec![
        Span::styled(format!("{sym} "), fresh.figure_style(theme, style)),
        Span::styled(fit(snap.name.as_str(), name_w.max(24)), theme.accent),
        Span::styled(fit(word, 9), fresh.figure_style(theme, style)),
        Span::styled(
            format!(
                "of {} · {} ago",
                snap.volume,
                fmt_duration(snap.created_at.age_at(model.now))
            ),
            theme.muted,
        ),
    ])
}
