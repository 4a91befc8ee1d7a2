//! Migration pane: each running migration with rows done/total, a percent bar, rows/s,
//! ETA and the first reason it is held.

use std::time::Duration;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::groups::{Group, groups, heading, none_of_this_kind, overall, when_many};
use super::{Freshness, error_line, fit, frame, mark, put, rfit, waiting};
use crate::app::{Model, PaneId};
use crate::config::theme::Theme;
use crate::sources::{MigrationPhase, MigrationSnapshot, MigrationStatus};
use crate::units::{fmt_count, fmt_duration, fmt_short_count};

pub fn render(model: &Model, area: Rect, theme: &Theme, focused: bool, buf: &mut Buffer) {
    if model.no_postgres_watched() {
        let why = "migrations are read from a postgres target: none is watched";
        return super::unwatched(area, buf, theme, PaneId::Migration, focused, why);
    }
    let groups = groups(model, &model.migrations);
    let standbys_only = none_of_this_kind(model, &groups);
    let fresh = if standbys_only {
        Freshness::Current
    } else {
        overall(&groups)
    };
    let (subtitle, when) = match groups.as_slice() {
        [one] => (
            one.fig.map(schema_of).unwrap_or_default(),
            one.fig.map(|f| format!("{} · {}", f.source.0, f.at.hms())),
        ),
        _ => (String::new(), when_many(&groups)),
    };
    let inner = frame(
        area,
        buf,
        theme,
        PaneId::Migration,
        focused,
        &subtitle,
        &fresh,
        when,
    );
    match groups.as_slice() {
        [] if standbys_only => put(
            buf,
            inner,
            0,
            &Line::styled(
                "no primary among the targets: migrations are read on a primary",
                theme.muted,
            ),
        ),
        [] => waiting(buf, inner, theme, "migration progress"),
        [one] => render_one(model, one, inner, theme, buf),
        many => render_many(model, many, inner, theme, buf),
    }
}

/// One target: as in a drill, its error above its migrations.
fn render_one(
    model: &Model,
    g: &Group<'_, MigrationSnapshot>,
    inner: Rect,
    theme: &Theme,
    buf: &mut Buffer,
) {
    let fresh = &g.fresh;
    let mut y = 0;
    if let Some(l) = error_line(fresh, theme) {
        put(buf, inner, y, &l);
        y += 1;
    }
    let Some(fig) = g.fig else {
        if y == 0 {
            waiting(buf, inner, theme, "migration progress");
        }
        return;
    };
    if fig.value.migrations.is_empty() {
        put(
            buf,
            inner,
            y,
            &Line::styled("no migration running", theme.muted),
        );
        return;
    }
    let start = model
        .scroll_of(PaneId::Migration)
        .min(fig.value.migrations.len().saturating_sub(1));
    for m in fig.value.migrations.iter().skip(start) {
        if y >= inner.height {
            break;
        }
        y = migration_rows(m, fresh, theme, inner, y, buf);
    }
}

/// `schema VERSION`, or what the group is when it has no schema (the run's batched step).
fn schema_of(f: &crate::app::model::Figure<MigrationSnapshot>) -> String {
    if f.value.schema_version.as_str().is_empty() {
        "batched step of this run".to_string()
    } else {
        format!("schema {}", f.value.schema_version)
    }
}

/// Several targets: a heading per target (its schema version, or its error), then its
/// migrations; scrolling skips migrations from the first target on.
fn render_many(
    model: &Model,
    groups: &[Group<'_, MigrationSnapshot>],
    inner: Rect,
    theme: &Theme,
    buf: &mut Buffer,
) {
    let mut skip = model.scroll_of(PaneId::Migration);
    let mut y = 0;
    for g in groups {
        if y >= inner.height {
            break;
        }
        let extra = g.fig.map(schema_of).unwrap_or_default();
        put(buf, inner, y, &heading(g, &extra, theme));
        y += 1;
        let Some(fig) = g.fig else { continue };
        if fig.value.migrations.is_empty() && y < inner.height {
            put(
                buf,
                inner,
                y,
                &Line::styled("  no migration running", theme.muted),
            );
            y += 1;
        }
        for m in &fig.value.migrations {
            if skip > 0 {
                skip -= 1;
                continue;
            }
            if y >= inner.height {
                break;
            }
            y = migration_rows(m, &g.fresh, theme, inner, y, buf);
        }
    }
}

fn phase_label(m: &MigrationStatus) -> (&'static str, &'static str) {
    match m.phase {
        MigrationPhase::Running => (mark::RUNNING, "running"),
        MigrationPhase::Throttled => (mark::PAUSED, "throttled"),
        MigrationPhase::Paused => (mark::PAUSED, "paused"),
        MigrationPhase::Failed => (mark::CRIT, "failed"),
        MigrationPhase::Done => (mark::OK, "done"),
        MigrationPhase::RolledBack => (mark::OK, "rolled back"),
    }
}

fn migration_rows(
    m: &MigrationStatus,
    fresh: &Freshness,
    theme: &Theme,
    area: Rect,
    mut y: u16,
    buf: &mut Buffer,
) -> u16 {
    let (sym, label) = phase_label(m);
    let phase_style = match m.phase {
        MigrationPhase::Running | MigrationPhase::Done | MigrationPhase::RolledBack => theme.ok,
        MigrationPhase::Throttled | MigrationPhase::Paused => theme.warn,
        MigrationPhase::Failed => theme.crit,
    };
    let phase_style = fresh.figure_style(theme, phase_style);
    let fig_style = fresh.figure_style(theme, theme.base);
    let ratio = if m.rows_total == 0 {
        1.0
    } else {
        m.rows_done as f64 / m.rows_total as f64
    };
    let remaining = m.rows_total.saturating_sub(m.rows_done);
    let eta = if m.phase == MigrationPhase::Done {
        "done".to_string()
    } else if m.rows_per_sec >= 1.0 {
        format!(
            "ETA {}",
            fmt_duration(Duration::from_secs_f64(remaining as f64 / m.rows_per_sec))
        )
    } else {
        "ETA —".to_string()
    };
    let wide = area.width >= 70;
    let mut spans = vec![
        Span::styled(format!("{sym} "), phase_style),
        Span::styled(
            fit(m.name.as_str(), if wide { 22 } else { 14 }),
            theme.accent,
        ),
        Span::styled(fit(label, if wide { 10 } else { 0 }), phase_style),
        Span::styled(rfit(&format!("{:.1}%", ratio * 100.0), 6), fig_style),
        Span::styled(format!("  {eta}"), fig_style),
        Span::styled(
            format!("  {} rows/s", fmt_short_count(m.rows_per_sec)),
            fig_style,
        ),
    ];
    if wide {
        spans.push(Span::styled(
            format!(
                "  {}/{} rows",
                fmt_short_count(m.rows_done as f64),
                fmt_short_count(m.rows_total as f64)
            ),
            fig_style,
        ));
    }
    if area.width >= 100 {
        spans.push(Span::styled(
            format!("  batch {}", fmt_count(m.batch_size)),
            theme.muted,
        ));
    }
    put(buf, area, y, &Line::from(spans));
    y += 1;
    if y < area.height {
        let width = area.width.saturating_sub(2) as usize;
        let (done, todo) = super::bar(ratio, width);
        put(
            buf,
            area,
            y,
            &Line::from(vec![
                Span::raw("  "),
                Span::styled(done, fresh.figure_style(theme, phase_style)),
                Span::styled(todo, theme.gauge_bg),
            ]),
        );
        y += 1;
    }
    let reason = m
        .throttle
        .as_ref()
        .map(|t| (format!("held: {t}"), theme.warn))
        .or_else(|| {
            m.error
                .as_ref()
                .map(|e| (format!("error: {e}"), theme.crit))
        });
    if let Some((text, style)) = reason
        && y < area.height
    {
        put(
            buf,
            area,
            y,
            &Line::from(vec![Span::raw("  "), Span::styled(text, style)]),
        );
        y += 1;
    }
    y
}
