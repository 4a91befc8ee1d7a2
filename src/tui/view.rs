//! The whole screen from the model: header, panes (or one zoomed pane), hint bar, and the
//! layers on top. The live TUI, the snapshot tests and `ebb screenshot` all draw through here.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Widget, Wrap};

use super::overlay;
use super::panes;
use crate::app::{Layer, Model, PaneId};
use crate::config::keymap::Keymap;
use crate::config::theme::Theme;

/// Below this size the console shows a message instead of a broken layout.
pub const MIN_WIDTH: u16 = 70;
pub const MIN_HEIGHT: u16 = 20;

pub fn render(model: &Model, keymap: &Keymap, theme: &Theme, area: Rect, buf: &mut Buffer) {
    buf.set_style(area, theme.base);
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        return too_small(area, theme, buf);
    }
    let [header, body, hints] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(1),
    ])
    .areas(area);
    panes::header::render(model, header, theme, buf);
    match model.zoom {
        Some(pane) => render_pane(model, pane, body, theme, buf),
        None => {
            let wanted = crate::app::dispatch::content_len(model, PaneId::Replication) as u16 + 1;
            for (pane, rect) in layout(body, wanted) {
                match pane {
                    // A facilitator's console gives the top of the Timeline's place to the drill.
                    PaneId::Timeline if model.facilitator.is_some() => {
                        let rows = panes::drill::wanted_rows(model).min(rect.height / 2 + 2);
                        let [d, t] =
                            Layout::vertical([Constraint::Length(rows), Constraint::Min(0)])
                                .areas(rect);
                        panes::drill::render(model, d, theme, buf);
                        render_pane(model, pane, t, theme, buf);
                    }
                    _ => render_pane(model, pane, rect, theme, buf),
                }
            }
        }
    }
    panes::hints::render(model, keymap, hints, theme, buf);
    for layer in &model.layers {
        match layer {
            Layer::Help { scroll, search } => {
                overlay::help::render(keymap, (*scroll, search), body, theme, buf)
            }
            Layer::Filter { .. } => overlay::filter::render(model, body, theme, buf),
            Layer::Palette { input, selected } => {
                overlay::palette::render(keymap, input, *selected, body, theme, buf)
            }
            Layer::Confirm {
                action: crate::action::Action::RunResume | crate::action::Action::RunStep,
                ..
            } => overlay::start::render(keymap, model.plan.as_ref(), body, theme, buf),
            Layer::Confirm {
                action,
                input,
                reason,
            } => {
                let name = crate::app::dispatch::target_name_required(model, *action);
                overlay::confirm::render(
                    keymap,
                    *action,
                    input,
                    reason.as_deref(),
                    name.as_deref(),
                    body,
                    theme,
                    buf,
                )
            }
            Layer::Note { editor } => overlay::note::render(keymap, editor, body, theme, buf),
            Layer::Leave => overlay::leave::render(keymap, model, body, theme, buf),
            Layer::Faults { input, selected } => {
                overlay::faults::render(model, input, *selected, body, theme, buf)
            }
        }
    }
}

/// Where each pane goes in the body: two columns, figures left, workload/plan/timeline right.
/// The Replication pane grows to `replication_rows` (several targets: a heading each), up to
/// half the column, taking the rows from Storage.
pub fn layout(body: Rect, replication_rows: u16) -> Vec<(PaneId, Rect)> {
    let wide = body.width >= 140;
    let tall = body.height >= 40;
    let [left, right] = Layout::horizontal([
        Constraint::Percentage(if wide { 56 } else { 52 }),
        Constraint::Min(0),
    ])
    .areas(body);
    let (mig, rep) = if tall { (8, 9) } else { (5, 6) };
    let rep = rep.max((replication_rows + 2).min(left.height / 2));
    let [m, r, s] = Layout::vertical([
        Constraint::Length(mig),
        Constraint::Length(rep),
        Constraint::Min(0),
    ])
    .areas(left);
    let (work, plan) = if tall { (8, 13) } else { (5, 7) };
    let [w, p, t] = Layout::vertical([
        Constraint::Length(work),
        Constraint::Length(plan),
        Constraint::Min(0),
    ])
    .areas(right);
    vec![
        (PaneId::Migration, m),
        (PaneId::Replication, r),
        (PaneId::Storage, s),
        (PaneId::Workload, w),
        (PaneId::Plan, p),
        (PaneId::Timeline, t),
    ]
}

fn render_pane(model: &Model, pane: PaneId, area: Rect, theme: &Theme, buf: &mut Buffer) {
    if area.width < 4 || area.height < 3 {
        return;
    }
    let focused = model.focus == pane;
    match pane {
        PaneId::Migration => panes::migration::render(model, area, theme, focused, buf),
        PaneId::Replication => panes::replication::render(model, area, theme, focused, buf),
        PaneId::Storage => panes::storage::render(model, area, theme, focused, buf),
        PaneId::Workload => panes::workload::render(model, area, theme, focused, buf),
        PaneId::Plan => panes::plan::render(model, area, theme, focused, buf),
        PaneId::Timeline => panes::timeline::render(model, area, theme, focused, buf),
    }
}

fn too_small(area: Rect, theme: &Theme, buf: &mut Buffer) {
    let text = vec![
        Line::styled("ebb needs a larger terminal", theme.warn),
        Line::raw(""),
        Line::styled(
            format!(
                "this one is {}×{}; the minimum is {MIN_WIDTH}×{MIN_HEIGHT}",
                area.width, area.height
            ),
            theme.base,
        ),
        Line::styled("enlarge the window, or press q to quit", theme.muted),
    ];
    let h = 4.min(area.height);
    let y = area.y + area.height.saturating_sub(h) / 2;
    Paragraph::new(text)
        .wrap(Wrap { trim: true })
        .centered()
        .render(
            Rect {
                x: area.x,
                y,
                width: area.width,
                height: area.height - (y - area.y),
            },
            buf,
        );
}
