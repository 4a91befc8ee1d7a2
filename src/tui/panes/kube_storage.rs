//! The Storage pane's Kubernetes rows: per target its PVCs (usage bar, phase, the pod that
//! mounts it) and VolumeSnapshots, built only for the rows on screen (5,000 claims scroll).

use ratatui::style::Style;
use ratatui::text::{Line, Span};

use super::groups::{Group, heading};
use super::storage::{USAGE_CRIT, USAGE_WARN, snapshot_line};
use super::{Freshness, bar, fit, mark, rfit};
use crate::app::Model;
use crate::config::theme::Theme;
use crate::sources::kube::{ClaimStatus, KubeSnapshot};
use crate::units::{fmt_bytes, fmt_rate};

/// How one target's rows are laid out in the pane.
pub struct Layout {
    /// A heading line above the target (several targets in the pane).
    pub headed: bool,
    /// Say so when there are no snapshots (the only target).
    pub say_none: bool,
    pub width: u16,
}

/// How many rows the target takes.
pub fn rows(g: &Group<'_, KubeSnapshot>, l: &Layout) -> usize {
    let head = usize::from(l.headed);
    let Some(f) = g.fig else { return head };
    let s = &f.value;
    let claims = s.volumes.len().max(1);
    let snaps = if s.snapshots.is_empty() {
        usize::from(l.say_none)
    } else {
        s.snapshots.len() + 1
    };
    head + claims + snaps
}

/// Row `i` of the target (`i < rows(g, l)`).
pub fn line(
    model: &Model,
    g: &Group<'_, KubeSnapshot>,
    l: &Layout,
    i: usize,
    theme: &Theme,
) -> Line<'static> {
    let mut i = i;
    if l.headed {
        if i == 0 {
            let extra = g.fig.map_or(String::new(), |f| {
                format!(
                    "ns {} · {} claims",
                    f.value.namespace,
                    f.value.volumes.len()
                )
            });
            return heading(g, &extra, theme);
        }
        i -= 1;
    }
    let Some(f) = g.fig else {
        return Line::default();
    };
    let s = &f.value;
    if s.volumes.is_empty() && i == 0 {
        let text = format!("no PersistentVolumeClaims in {}", s.namespace);
        return Line::styled(text, theme.muted);
    }
    let claims = s.volumes.len().max(1);
    if let Some(v) = s.volumes.get(i) {
        return claim_line(v, &g.fresh, theme, l.width);
    }
    let i = i - claims;
    if s.snapshots.is_empty() {
        return Line::styled("snapshots: none taken", theme.muted);
    }
    match i.checked_sub(1).and_then(|j| s.snapshots.get(j)) {
        Some(snap) => snapshot_line(model, snap, 27, &g.fresh, theme),
        None => Line::styled("volume snapshots", theme.muted),
    }
}

fn class(v: &ClaimStatus, theme: &Theme) -> (&'static str, Style) {
    match v.phase.as_str() {
        "Bound" => {}
        "Lost" => return (mark::CRIT, theme.crit),
        _ => return (mark::WARN, theme.warn),
    }
    match v.ratio() {
        Some(r) if r >= USAGE_CRIT => (mark::CRIT, theme.crit),
        Some(r) if r >= USAGE_WARN => (mark::WARN, theme.warn),
        Some(_) => (mark::OK, theme.ok),
        None => (mark::PENDING, theme.muted),
    }
}

fn claim_line(v: &ClaimStatus, fresh: &Freshness, theme: &Theme, width: u16) -> Line<'static> {
    let wide = width >= 70;
    let gauge_w = if width >= 100 {
        20
    } else if wide {
        12
    } else {
        8
    };
    let (sym, style) = class(v, theme);
    let style = fresh.figure_style(theme, style);
    let fig_style = fresh.figure_style(theme, theme.base);
    let mut spans = vec![
        Span::styled(format!("{sym} "), style),
        Span::styled(
            fit(v.name.as_str(), if wide { 20 } else { 14 }),
            theme.accent,
        ),
    ];
    match v.ratio() {
        Some(r) => {
            let (done, todo) = bar(r, gauge_w);
            spans.push(Span::styled(done, style));
            spans.push(Span::styled(todo, theme.gauge_bg));
            spans.push(Span::styled(rfit(&format!("{:.1}%", r * 100.0), 7), style));
        }
        None => {
            spans.push(Span::styled(fit("usage unknown", gauge_w + 7), theme.muted));
        }
    }
    if wide {
        let used = v.used_bytes.map_or("—".to_string(), fmt_bytes);
        let cap = if v.capacity_bytes == 0 {
            "?".to_string()
        } else {
            fmt_bytes(v.capacity_bytes)
        };
        spans.push(Span::styled(format!("  {used}/{cap}"), fig_style));
    }
    let phase_style = if v.bound() { theme.muted } else { style };
    spans.push(Span::styled(format!("  {}", v.phase), phase_style));
    if v.used_bytes.is_some() && v.growth_bytes_per_sec != 0.0 {
        let g = v.growth_bytes_per_sec;
        let sign = if g > 0.0 { "+" } else { "-" };
        spans.push(Span::styled(
            format!("  {sign}{}", fmt_rate(g.abs())),
            fig_style,
        ));
    }
    if wide && let Some(p) = &v.pod {
        spans.push(Span::styled(format!("  {p}"), theme.muted));
    }
    Line::from(spans)
}
