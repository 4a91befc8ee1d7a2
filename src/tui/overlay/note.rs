//! Note editor overlay: a multi-line text area whose text goes into the audit log; the
//! save and cancel keys shown come from the keymap.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Clear, Widget};

use super::centered;
use crate::action::Action;
use crate::app::note::NoteEditor;
use crate::config::keymap::{Keymap, Mode};
use crate::config::theme::Theme;

fn keys(keymap: &Keymap, action: Action) -> String {
    super::first_keys(keymap, Mode::Note, action)
}

pub fn render(keymap: &Keymap, editor: &NoteEditor, area: Rect, theme: &Theme, buf: &mut Buffer) {
    let rect = centered(area, 84, 14);
    Clear.render(rect, buf);
    let block = Block::bordered()
        .border_type(BorderType::Double)
        .border_style(theme.border_focus)
        .style(theme.overlay)
        .title_top(Line::styled(" Note for the audit log ", theme.title_focus))
        .title_bottom(
            Line::from(vec![
                Span::styled(
                    format!(" {} ", keys(keymap, Action::NoteSave)),
                    theme.hint_key,
                ),
                Span::styled(" record  ", theme.hint_desc),
                Span::styled(
                    format!(" {} ", keys(keymap, Action::LayerClose)),
                    theme.hint_key,
                ),
                Span::styled(" discard ", theme.hint_desc),
            ])
            .right_aligned(),
        );
    let inner = block.inner(rect);
    block.render(rect, buf);
    let mut area = editor.area.clone();
    area.set_style(theme.overlay);
    area.set_cursor_style(theme.selection);
    area.set_placeholder_style(theme.muted);
    (&area).render(inner, buf);
}
