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

/// The hint entries (keys, label) for the current mode, in the order shown.
pub fn entries(model: &Model, keymap: &Keymap) -> Vec<(String, String)> {
    let mode = model.mode();
    if !model.pending.is_empty() {
        let mut out: Vec<(String, String)> = keymap
            .continuations(mode, &model.pending)
            .into_iter()
            .map(|(k, a)| {
                (
                    k.to_string(),
                    a.map(|a| a.short().to_string())
                        .unwrap_or_else(|| "…".into()),
                )
            })
            .collect();
        out.push(("esc".into(), "cancel".into()));
        return out;
    }
    let mut ranked: Vec<(u8, Action)> = Action::ALL
        .iter()
        .filter_map(|a| a.hint_rank().map(|r| (r, *a)))
        // A watching console offers no run control; only a drill has a clock to steer.
        .filter(|(_, a)| {
            (model.drill.is_some() || !a.name().starts_with("drill."))
                && (model.drill.is_some() || model.runnable || !a.name().starts_with("run."))
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
            Some((spelled.join(" "), a.short().to_string()))
        })
        .collect()
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
    for (k, label) in entries(model, keymap) {
        let key = Span::styled(format!(" {k} "), theme.hint_key);
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
