//! Key-hint bar, generated from the live keymap for the mode that receives keys: the
//! pending chord's continuations while a chord is open, else the most useful actions.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use crate::action::Action;
use crate::app::Model;
use crate::config::keymap::Keymap;
use crate::config::theme::Theme;

/// The hint entries (keys, label, whether this console's role lacks it) for the current
/// mode, in the order shown.
pub fn entries(model: &Model, keymap: &Keymap) -> Vec<(String, String, bool)> {
    let mode = model.mode();
    if !model.pending.is_empty() {
        let mut out: Vec<(String, String, bool)> = keymap
            .continuations(mode, &model.pending)
            .into_iter()
            .map(|(k, a)| {
                (
                    k.to_string(),
                    a.map(|a| a.short().to_string())
                        .unwrap_or_else(|| "…".into()),
                    a.is_some_and(|a| denied(model, a)),
                )
            })
            .collect();
        out.push(("esc".into(), "cancel".into(), false));
        return out;
    }
    let mut ranked: Vec<(u8, Action)> = Action::ALL
        .iter()
        .filter_map(|a| a.hint_rank().map(|r| (r, *a)))
        // A watching console offers no run control; only a drill has a clock to steer.
        .filter(|(_, a)| {
            let facilitator = model.facilitator.is_some();
            (model.drill.is_some() || !a.name().starts_with("drill."))
                && (model.drill.is_some() || model.runnable || !a.name().starts_with("run."))
                // A facilitator drives the world, not the run: the menu, not the verbs.
                && (facilitator || *a != Action::FaultsOpen)
                && (!facilitator || !a.name().starts_with("run."))
                // Approving is offered while a request waits for it.
                && (!a.name().starts_with("approval.")
                    || model.team.as_ref().is_some_and(|t| !t.pending.is_empty()))
                && offered_now(model, *a)
        })
        .collect();
    ranked.sort();
    ranked
        .into_iter()
        .filter_map(|(_, a)| {
            let keys = keymap.keys_for(mode, a);
            let best = keys.iter().min_by_key(|k| {
                (
                    k.len(),
                    k.iter().map(|c| c.to_string().len()).sum::<usize>(),
                )
            })?;
            let spelled: Vec<String> = best.iter().map(|k| k.to_string()).collect();
            Some((spelled.join(" "), a.short().to_string(), denied(model, a)))
        })
        .collect()
}

/// Filter and copy keys where they do something: `/` on a pane it filters, esc on a
/// filtered pane, `y` with a row selected or a run to copy the id of.
fn offered_now(model: &Model, action: Action) -> bool {
    let main = model.layers.is_empty();
    match action {
        Action::FilterOpen => !main || crate::app::filter::FILTERABLE.contains(&model.focus),
        Action::FilterClear => !main || model.filter_of(model.focus).is_some(),
        Action::ClipCopy => {
            model.run.is_some() || crate::app::rows::selected(model, model.focus).is_some()
        }
        _ => true,
    }
}

/// Whether the policy in force denies `action` to this console's operator.
fn denied(model: &Model, action: Action) -> bool {
    model
        .team
        .as_ref()
        .is_some_and(|t| t.denied.contains_key(action.name()))
}

pub fn render(model: &Model, keymap: &Keymap, area: Rect, theme: &Theme, buf: &mut Buffer) {
    buf.set_style(area, theme.hint_desc);
    let mut spans = Vec::new();
    if !model.pending.is_empty() {
        let typed: Vec<String> = model.pending.iter().map(|k| k.to_string()).collect();
        spans.push(Span::styled(
            format!(" {} … ", typed.join(" ")),
            theme.accent,
        ));
    }
    if let Some((_, msg)) = &model.flash {
        spans.push(Span::styled(format!(" {msg} "), theme.warn));
        spans.push(Span::raw(" "));
    } else if let Some(p) = model.team.as_ref().and_then(|t| t.pending.first()) {
        // A request waits for a second person: every attached console says so, with the
        // keys that answer it.
        let key = |a| {
            keymap
                .keys_for(crate::config::keymap::Mode::Main, a)
                .first()
                .map(|k| {
                    k.iter()
                        .map(|c| c.to_string())
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .unwrap_or_else(|| a.name().to_string())
        };
        spans.push(Span::styled(
            format!(
                " ⚑ {} — {} approve · {} deny ",
                p.asks(),
                key(Action::ApprovalApprove),
                key(Action::ApprovalDeny)
            ),
            theme.warn.add_modifier(ratatui::style::Modifier::REVERSED),
        ));
        spans.push(Span::raw(" "));
    }
    // Whole entries only: one that does not fit is left out, not cut in half.
    let mut used: usize = spans.iter().map(|s| s.width()).sum();
    for (k, label, lacks) in entries(model, keymap) {
        // A key the policy does not give this console's operator is shown dimmed.
        let dim = |s: ratatui::style::Style| {
            if lacks {
                s.add_modifier(
                    ratatui::style::Modifier::DIM | ratatui::style::Modifier::CROSSED_OUT,
                )
            } else {
                s
            }
        };
        let key = Span::styled(format!(" {k} "), dim(theme.hint_key));
        let desc = Span::styled(format!(" {label}  "), dim(theme.hint_desc));
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
