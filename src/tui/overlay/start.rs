//! The go-ahead layer before a fresh run on real targets: names the plan and every target
//! its steps will reach; enter starts the run, esc cancels. Keys come from the keymap.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use crate::action::Action;
use crate::config::keymap::{Keymap, Mode};
use crate::config::theme::Theme;
use crate::plan::PlanOutline;
use crate::tui::panes::put;

/// Targets listed one per line; more are summed up on the last line.
const MAX_TARGETS: usize = 6;

pub fn render(
    keymap: &Keymap,
    plan: Option<&PlanOutline>,
    area: Rect,
    theme: &Theme,
    buf: &mut Buffer,
) {
    let targets: Vec<String> = plan
        .map(|p| p.targets.iter().map(|t| t.as_str().to_string()).collect())
        .unwrap_or_default();
    let shown = targets.len().min(MAX_TARGETS);
    let extra = usize::from(targets.len() > MAX_TARGETS);
    let lines = 5 + shown + extra + usize::from(targets.is_empty());
    let h = u16::try_from(lines).unwrap_or(u16::MAX);
    let title = " Start the run on real targets? ";
    let inner = super::framed(area, 90, h, title, theme.warn, theme, buf);
    let name = plan.map(|p| p.name.as_str()).unwrap_or("?");
    put(
        buf,
        inner,
        0,
        &Line::from(vec![
            Span::styled("Plan ", theme.muted),
            Span::styled(name.to_string(), theme.title),
            Span::styled(
                ": its steps act on these systems, not a drill.",
                theme.overlay,
            ),
        ]),
    );
    let mut y = 1;
    for t in targets.iter().take(shown) {
        put(
            buf,
            inner,
            y,
            &Line::styled(format!("  • {t}"), theme.overlay),
        );
        y += 1;
    }
    if extra > 0 {
        let more = targets.len() - shown;
        put(
            buf,
            inner,
            y,
            &Line::styled(format!("  … and {more} more"), theme.muted),
        );
        y += 1;
    }
    if targets.is_empty() {
        put(
            buf,
            inner,
            y,
            &Line::styled("  (no targets declared)", theme.muted),
        );
        y += 1;
    }
    let key = |a| super::first_keys(keymap, Mode::Confirm, a);
    put(
        buf,
        inner,
        y + 1,
        &Line::from(vec![
            Span::styled(format!(" {} ", key(Action::ConfirmSubmit)), theme.hint_key),
            Span::styled(" start the run   ", theme.hint_desc),
            Span::styled(format!(" {} ", key(Action::LayerClose)), theme.hint_key),
            Span::styled(" cancel", theme.hint_desc),
        ]),
    );
}
