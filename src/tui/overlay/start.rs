//! The go-ahead layer before a fresh run on real targets: names the plan and every target
//! its steps will reach; enter starts the run, esc cancels. Keys come from the keymap.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Clear, Widget};

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
    let w = 90.min(area.width);
    let lines = 5 + shown + extra + usize::from(targets.is_empty());
    let h = lines.min(usize::from(area.height)) as u16;
    let rect = Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height.saturating_sub(h)) / 2,
        width: w,
        height: h,
    };
    Clear.render(rect, buf);
    let block = Block::bordered()
        .border_type(BorderType::Double)
        .border_style(theme.warn)
        .style(theme.overlay)
        .title_top(Line::styled(" Start the run on real targets? ", theme.warn));
    let inner = block.inner(rect);
    block.render(rect, buf);
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
