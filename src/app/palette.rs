//! The command palette's matching: which actions a typed query offers, best first.
//! A query matches when its characters appear in order in the action's name or description.

use crate::action::Action;

/// Actions that make no sense from the palette itself (nor `ebb replay`'s viewer keys).
fn offered(a: Action) -> bool {
    !a.is_replay()
        && !a.is_view_local()
        && !matches!(
            a,
            Action::PaletteOpen
                | Action::PaletteSubmit
                | Action::PaletteNext
                | Action::PalettePrev
                | Action::LayerClose
                | Action::FaultsNext
                | Action::FaultsPrev
                | Action::DrillFault
        )
}

/// Score of `query` as an in-order subsequence of `text` (lower is better), or `None`.
fn score(query: &str, text: &str) -> Option<usize> {
    let text = text.to_lowercase();
    if let Some(pos) = text.find(query) {
        return Some(pos);
    }
    let mut it = text.char_indices();
    let mut first = None;
    let mut last = 0;
    for q in query.chars() {
        let (i, _) = it.find(|(_, c)| *c == q)?;
        first.get_or_insert(i);
        last = i;
    }
    Some(100 + last - first.unwrap_or(0))
}

/// The actions offered for `query`, best match first; all of them for an empty query.
pub fn matches(query: &str) -> Vec<Action> {
    let q = query.trim().to_lowercase();
    let mut scored: Vec<(usize, Action)> = Action::ALL
        .iter()
        .copied()
        .filter(|a| offered(*a))
        .filter_map(|a| {
            if q.is_empty() {
                return Some((0, a));
            }
            let by_name = score(&q, a.name());
            let by_desc = score(&q, a.description()).map(|s| s + 50);
            match (by_name, by_desc) {
                (Some(x), Some(y)) => Some((x.min(y), a)),
                (Some(x), None) | (None, Some(x)) => Some((x, a)),
                (None, None) => None,
            }
        })
        .collect();
    scored.sort_by_key(|(s, a)| (*s, *a));
    scored.into_iter().map(|(_, a)| a).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_query_offers_everything_but_palette_internals() {
        let all = matches("");
        assert!(all.contains(&Action::Zoom));
        assert!(!all.contains(&Action::PaletteSubmit));
    }

    #[test]
    fn exact_substring_wins() {
        assert_eq!(matches("zoom").first(), Some(&Action::Zoom));
        assert_eq!(matches("freeze").first(), Some(&Action::DrillFreeze));
        assert!(matches("qqqqzzz").is_empty());
    }
}
