//! Keymaps: per-mode tables of key sequences → `Action`, parsed from TOML with located errors,
//! layered (`extends`, user overlay) and compiled into a trie per mode for chord lookup.
//!
//! Within one file a sequence may appear once and may not be a prefix of another. Over a base,
//! a user binding replaces the same sequence and removes base bindings it is a prefix of or
//! that are a prefix of it; the value "none" removes a sequence and every chord under it.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::ops::Range;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use toml::Spanned;

use crate::action::Action;
use crate::config::catalog::{self, Catalog, Extends};
pub use crate::config::keys::KeyChord;
use crate::diag::{LocatedError, SourceFile};
use crate::suggest;

/// The value that removes a binding.
pub const UNBIND: &str = "none";

/// Which layer of the screen a key goes to; each has its own table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Mode {
    Main,
    Help,
    Palette,
    /// A confirm layer that asks for a typed reason (abort, rollback, skip, in-doubt).
    Confirm,
    /// The note editor: free text recorded in the audit log.
    Note,
    /// Leaving a run a runner drives: detach, or pause and detach.
    Leave,
    /// The facilitator's fault menu: typed words narrow it.
    Faults,
    /// `ebb replay`: a recorded console, read-only; keys only move the playback.
    Replay,
    /// The one-line filter of a pane (`/`), or the help's search: typing edits it live.
    Filter,
}

impl Mode {
    pub const ALL: &'static [Mode] = &[
        Mode::Main,
        Mode::Help,
        Mode::Palette,
        Mode::Confirm,
        Mode::Note,
        Mode::Leave,
        Mode::Faults,
        Mode::Replay,
        Mode::Filter,
    ];

    /// The table name in keymap files.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Main => "main",
            Mode::Help => "help",
            Mode::Palette => "palette",
            Mode::Confirm => "confirm",
            Mode::Note => "note",
            Mode::Leave => "leave",
            Mode::Faults => "faults",
            Mode::Replay => "replay",
            Mode::Filter => "filter",
        }
    }

    pub fn from_name(name: &str) -> Option<Mode> {
        Mode::ALL.iter().copied().find(|m| m.name() == name)
    }

    /// Modes with a text input: plain printable keys are typed, so they cannot be bound.
    pub fn takes_text(self) -> bool {
        matches!(
            self,
            Mode::Palette | Mode::Confirm | Mode::Note | Mode::Faults | Mode::Filter
        )
    }

    fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a key does, given the keys typed before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lookup {
    /// The sequence is complete and bound.
    Action(Action),
    /// The sequence is the prefix of a longer binding: wait for the next key.
    Pending,
    /// Nothing is bound to this sequence; drop the pending keys.
    NoMatch,
}

#[derive(Clone, Debug, Default)]
struct ModeMap {
    /// Every binding, in file order (base first, then overlays), for help and hints.
    bindings: Vec<(Vec<KeyChord>, Action)>,
    trie: HashMap<KeyChord, Node>,
}

#[derive(Clone, Debug)]
enum Node {
    Leaf(Action),
    Branch(HashMap<KeyChord, Node>),
}

impl ModeMap {
    fn build(bindings: Vec<(Vec<KeyChord>, Action)>) -> ModeMap {
        let mut trie = HashMap::new();
        for (keys, action) in &bindings {
            insert(&mut trie, keys, *action);
        }
        ModeMap { bindings, trie }
    }

    /// The children after `keys`, or None when `keys` leads nowhere or to an action.
    fn branch(&self, keys: &[KeyChord]) -> Option<&HashMap<KeyChord, Node>> {
        let mut level = &self.trie;
        for k in keys {
            match level.get(k)? {
                Node::Branch(next) => level = next,
                Node::Leaf(_) => return None,
            }
        }
        Some(level)
    }
}

fn insert(level: &mut HashMap<KeyChord, Node>, keys: &[KeyChord], action: Action) {
    let Some((first, rest)) = keys.split_first() else {
        return;
    };
    if rest.is_empty() {
        level.insert(*first, Node::Leaf(action));
        return;
    }
    let node = level
        .entry(*first)
        .or_insert_with(|| Node::Branch(HashMap::new()));
    if let Node::Leaf(_) = node {
        *node = Node::Branch(HashMap::new());
    }
    if let Node::Branch(next) = node {
        insert(next, rest, action);
    }
}

/// Key bindings for every mode, ready for lookup.
#[derive(Clone, Debug)]
pub struct Keymap {
    name: String,
    modes: Vec<ModeMap>,
}

impl Default for Keymap {
    /// The shipped default keymap; if that could not load, an empty one.
    fn default() -> Keymap {
        crate::config::keymap_by_name(crate::config::presets::DEFAULT_KEYMAP).unwrap_or_else(|_| {
            Keymap {
                name: "empty".to_string(),
                modes: Mode::ALL.iter().map(|_| ModeMap::default()).collect(),
            }
        })
    }
}

impl Keymap {
    /// The keymap's name (`default`, `vim`, or a user file's stem).
    pub fn name(&self) -> &str {
        &self.name
    }

    fn mode(&self, mode: Mode) -> Option<&ModeMap> {
        self.modes.get(mode.index())
    }

    /// What `key` does after the keys `pending` typed so far in this mode.
    pub fn lookup(&self, mode: Mode, pending: &[KeyChord], key: KeyChord) -> Lookup {
        let Some(level) = self.mode(mode).and_then(|m| m.branch(pending)) else {
            return Lookup::NoMatch;
        };
        match level.get(&key) {
            Some(Node::Leaf(a)) => Lookup::Action(*a),
            Some(Node::Branch(_)) => Lookup::Pending,
            None => Lookup::NoMatch,
        }
    }

    /// The keys that may follow `pending`, in binding order: `Some(action)` completes a binding,
    /// `None` leads to a longer chord. Empty when `pending` is not a prefix of any binding.
    pub fn continuations(
        &self,
        mode: Mode,
        pending: &[KeyChord],
    ) -> Vec<(KeyChord, Option<Action>)> {
        let Some(m) = self.mode(mode) else {
            return Vec::new();
        };
        let mut out: Vec<(KeyChord, Option<Action>)> = Vec::new();
        for (keys, action) in &m.bindings {
            if keys.len() > pending.len() && keys.starts_with(pending) {
                let next = keys[pending.len()];
                if out.iter().any(|(k, _)| *k == next) {
                    continue;
                }
                let done = (keys.len() == pending.len() + 1).then_some(*action);
                out.push((next, done));
            }
        }
        out
    }

    /// Every binding of a mode, in a stable order (as written, base keymap first).
    pub fn bindings(&self, mode: Mode) -> Vec<(Vec<KeyChord>, Action)> {
        self.mode(mode)
            .map(|m| m.bindings.clone())
            .unwrap_or_default()
    }

    /// Every sequence bound to `action` in a mode, in binding order.
    pub fn keys_for(&self, mode: Mode, action: Action) -> Vec<Vec<KeyChord>> {
        self.mode(mode)
            .map(|m| {
                m.bindings
                    .iter()
                    .filter(|(_, a)| *a == action)
                    .map(|(k, _)| k.clone())
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// One binding as written: the sequence, the action (None = unbind) and where.
#[derive(Clone, Debug)]
struct Binding {
    keys: Vec<KeyChord>,
    action: Option<Action>,
    spelled: String,
    span: Range<usize>,
}

/// A parsed, validated keymap file.
#[derive(Debug)]
pub(crate) struct Layer {
    file: SourceFile,
    name: Option<Spanned<String>>,
    extends: Option<Spanned<String>>,
    /// Each mode table with the span of its name, in file order.
    modes: Vec<(Mode, Range<usize>, Vec<Binding>)>,
}

/// A top-level entry of a keymap file: `name`/`extends` strings, or a mode table.
enum TopItem {
    Str(String),
    Table(Vec<(Spanned<String>, Spanned<String>)>),
}

impl<'de> Deserialize<'de> for TopItem {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = TopItem;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a mode table like [main], or the string `name` or `extends`")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<TopItem, E> {
                Ok(TopItem::Str(s.to_string()))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<TopItem, A::Error> {
                let mut out = Vec::new();
                while let Some(entry) = map.next_entry::<Spanned<String>, Spanned<String>>()? {
                    out.push(entry);
                }
                Ok(TopItem::Table(out))
            }
        }
        d.deserialize_any(V)
    }
}

impl Extends for Layer {
    fn parse(file: SourceFile) -> Result<Layer, LocatedError> {
        Layer::parse(file)
    }
    fn file(&self) -> &SourceFile {
        &self.file
    }
    fn extends(&self) -> Option<&Spanned<String>> {
        self.extends.as_ref()
    }
}

impl Layer {
    /// Parses and checks one keymap file on its own: modes, key spellings, action names,
    /// and conflicts between its own bindings.
    pub(crate) fn parse(file: SourceFile) -> Result<Layer, LocatedError> {
        let raw: BTreeMap<Spanned<String>, Spanned<TopItem>> = file.parse_toml()?;
        let mut entries: Vec<_> = raw.into_iter().collect();
        entries.sort_by_key(|(k, _)| k.span().start);
        let mut layer = Layer {
            file,
            name: None,
            extends: None,
            modes: Vec::new(),
        };
        for (key, item) in entries {
            let item_span = item.span();
            match (key.get_ref().as_str(), item.into_inner()) {
                ("name", TopItem::Str(s)) => layer.name = Some(Spanned::new(item_span, s)),
                ("extends", TopItem::Str(s)) => {
                    if s.trim().is_empty() {
                        return Err(layer.file.error_at(
                            item_span,
                            "`extends` needs a keymap name",
                            None,
                        ));
                    }
                    layer.extends = Some(Spanned::new(item_span, s));
                }
                ("name" | "extends", TopItem::Table(_)) => {
                    return Err(layer.file.error_at(
                        key.span(),
                        format!("`{}` must be a string", key.get_ref()),
                        None,
                    ));
                }
                (k, TopItem::Table(table)) => {
                    let Some(mode) = Mode::from_name(k) else {
                        return Err(layer.unknown_mode(&key));
                    };
                    let bindings = layer.bindings(mode, table)?;
                    layer.modes.push((mode, key.span(), bindings));
                }
                (_, TopItem::Str(_)) => {
                    if Mode::from_name(key.get_ref()).is_some() {
                        return Err(layer.file.error_at(
                            item_span,
                            format!("`{}` must be a table of key = action", key.get_ref()),
                            Some(format!(
                                "write [{}] on its own line, then \"q\" = \"app.quit\"",
                                key.get_ref()
                            )),
                        ));
                    }
                    return Err(layer.unknown_mode(&key));
                }
            }
        }
        Ok(layer)
    }

    fn unknown_mode(&self, key: &Spanned<String>) -> LocatedError {
        let names: Vec<&str> = Mode::ALL.iter().map(|m| m.name()).collect();
        let candidates = names.iter().copied().chain(["name", "extends"]);
        let help = suggest::did_you_mean(key.get_ref(), candidates);
        self.file.error_at(
            key.span(),
            format!(
                "unknown mode `{}`; expected one of {} (or `name`, `extends`)",
                key.get_ref(),
                names.join(", ")
            ),
            help,
        )
    }

    fn bindings(
        &self,
        mode: Mode,
        mut table: Vec<(Spanned<String>, Spanned<String>)>,
    ) -> Result<Vec<Binding>, LocatedError> {
        table.sort_by_key(|(k, _)| k.span().start); // file order, whatever order the table came in
        let mut out: Vec<Binding> = Vec::new();
        for (key, value) in table {
            let keys = self.parse_keys(&key)?;
            let action = match value.get_ref().as_str() {
                UNBIND => None,
                name => match Action::from_name(name) {
                    Some(a) => Some(a),
                    None => {
                        let help =
                            suggest::did_you_mean(name, Action::ALL.iter().map(|a| a.name()))
                                .or_else(|| {
                                    Some("`ebb` lists every action in the help overlay (?)".into())
                                });
                        return Err(self.file.error_at(
                            value.span(),
                            format!("unknown action `{name}` (or \"{UNBIND}\" to unbind)"),
                            help,
                        ));
                    }
                },
            };
            if mode.takes_text()
                && action.is_some()
                && let Some(k) = keys.iter().find(|k| k.is_printable())
            {
                return Err(self.file.error_at(
                    key.span(),
                    format!("`{k}` is typed into the {mode} input and cannot be bound there"),
                    Some("use a key with ctrl- or alt-, or a named key like enter, tab, up".into()),
                ));
            }
            let b = Binding {
                keys,
                action,
                spelled: key.get_ref().clone(),
                span: key.span(),
            };
            for prev in &out {
                self.check_pair(mode, prev, &b)?;
            }
            out.push(b);
        }
        Ok(out)
    }

    /// Two bindings of one file and mode may not share a sequence, nor be prefixes of each other.
    fn check_pair(&self, mode: Mode, prev: &Binding, b: &Binding) -> Result<(), LocatedError> {
        let (line, col) = self.file.line_col(prev.span.start);
        if prev.keys == b.keys {
            return Err(self.file.error_at(
                b.span.clone(),
                format!(
                    "`{}` is the same key sequence as `{}` at {line}:{col} in [{mode}]",
                    b.spelled, prev.spelled
                ),
                Some("a sequence may be bound once per mode; remove one of them".into()),
            ));
        }
        if prev.action.is_none() || b.action.is_none() {
            return Ok(());
        }
        let (short, long) = if prev.keys.len() < b.keys.len() {
            (prev, b)
        } else {
            (b, prev)
        };
        if long.keys.starts_with(&short.keys) {
            return Err(self.file.error_at(
                b.span.clone(),
                format!(
                    "`{}` conflicts with `{}` at {line}:{col} in [{mode}]: `{}` is a prefix of `{}`, so `{}` could never be typed",
                    b.spelled, prev.spelled, short.spelled, long.spelled, long.spelled
                ),
                Some("bind the shorter sequence to a different key, or drop one of them".into()),
            ));
        }
        Ok(())
    }

    /// Parses a sequence; a bad key is reported at its own column when the key is a plain string.
    fn parse_keys(&self, key: &Spanned<String>) -> Result<Vec<KeyChord>, LocatedError> {
        let s = key.get_ref();
        let span = key.span();
        let raw = self.file.text.get(span.clone()).unwrap_or("");
        // Where the string's characters start in the file, if they are written as-is.
        let inner_start = if raw == s.as_str() {
            Some(span.start)
        } else if raw.len() == s.len() + 2 && raw.get(1..raw.len() - 1) == Some(s.as_str()) {
            Some(span.start + 1)
        } else {
            None
        };
        let mut keys = Vec::new();
        for (offset, token) in tokens(s) {
            match KeyChord::parse(token) {
                Ok(k) => keys.push(k),
                Err(msg) => {
                    let at = match inner_start {
                        Some(start) => start + offset..start + offset + token.len(),
                        None => span,
                    };
                    return Err(self.file.error_at(
                        at,
                        format!("bad key: {msg}"),
                        Some(KEY_HELP.into()),
                    ));
                }
            }
        }
        if keys.is_empty() {
            return Err(self
                .file
                .error_at(span, "empty key sequence", Some(KEY_HELP.into())));
        }
        Ok(keys)
    }

    /// Rejects `extends` and `name`: an overlay adjusts the selected keymap, it cannot pick
    /// another one or rename it.
    pub(crate) fn check_overlay(&self) -> Result<(), LocatedError> {
        let why = "keymap.toml adjusts the selected keymap; choose the base with --keymap NAME or keymaps/NAME.toml";
        match (&self.extends, &self.name) {
            (Some(e), _) => Err(self.file.error_at(
                e.span(),
                format!("`extends` is not allowed here: {why}"),
                None,
            )),
            (None, Some(n)) => Err(self.file.error_at(
                n.span(),
                format!("`name` is not allowed here: {why}"),
                None,
            )),
            (None, None) => Ok(()),
        }
    }
}

const KEY_HELP: &str = "keys: a character (\"q\", \"G\", \"?\"), a name (enter esc tab space backspace up down left right home end pgup pgdown delete insert f1–f12), with ctrl-/alt-/shift- before it; a chord is keys separated by spaces (\"g g\")";

/// The space-separated tokens of a sequence with their byte offsets.
fn tokens(s: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in s.char_indices() {
        match (c.is_whitespace(), start) {
            (true, Some(st)) => {
                out.push((st, &s[st..i]));
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(st) = start {
        out.push((st, &s[st..]));
    }
    out
}

/// Applies a layer's bindings over `modes` (the overlay rules in the module docs).
fn apply(modes: &mut [Vec<(Vec<KeyChord>, Action)>], layer: &Layer) {
    for (mode, _, bindings) in &layer.modes {
        let Some(list) = modes.get_mut(mode.index()) else {
            continue;
        };
        for b in bindings.iter().filter(|b| b.action.is_none()) {
            list.retain(|(keys, _)| !keys.starts_with(&b.keys));
        }
        for b in bindings {
            let Some(action) = b.action else { continue };
            if let Some(slot) = list.iter_mut().find(|(keys, _)| *keys == b.keys) {
                slot.1 = action;
            } else {
                list.retain(|(keys, _)| !keys.starts_with(&b.keys) && !b.keys.starts_with(keys));
                list.push((b.keys.clone(), action));
            }
        }
    }
}

/// Tables newer than a keymap file (a complete keymap written before `[leave]` or `[replay]`
/// existed, with no `extends`) come from the default preset, so an upgrade never breaks it.
fn fill_missing_tables<'a>(
    modes: &mut [Vec<(Vec<KeyChord>, Action)>],
    layers: impl Iterator<Item = &'a Layer> + Clone,
) {
    const NEWER: &[Mode] = &[Mode::Leave, Mode::Faults, Mode::Replay, Mode::Filter];
    for mode in NEWER {
        let written = layers
            .clone()
            .any(|l| l.modes.iter().any(|(m, _, _)| m == mode));
        if written {
            continue;
        }
        let preset = super::presets::KEYMAPS
            .iter()
            .find(|(n, _)| *n == super::presets::DEFAULT_KEYMAP)
            .and_then(|(n, text)| Layer::parse(SourceFile::new(format!("{n}.toml"), *text)).ok());
        if let Some(preset) = preset {
            let only: Layer = Layer {
                modes: preset
                    .modes
                    .iter()
                    .filter(|(m, _, _)| m == mode)
                    .cloned()
                    .collect(),
                ..preset
            };
            apply(modes, &only);
        }
    }
}

/// Resolves a keymap file through its `extends` chain, then applies `overlays` in order.
pub(crate) fn resolve(
    top: SourceFile,
    catalog: &Catalog,
    overlays: Vec<Layer>,
) -> Result<Keymap, LocatedError> {
    let mut chain: Vec<Layer> = catalog::chain(top, catalog)?;
    let name = match chain.first() {
        Some(top) => match &top.name {
            Some(n) => n.get_ref().clone(),
            None => catalog::stem(&top.file.name),
        },
        None => String::new(),
    };
    chain.reverse();
    let mut modes: Vec<Vec<(Vec<KeyChord>, Action)>> =
        Mode::ALL.iter().map(|_| Vec::new()).collect();
    for layer in chain.iter().chain(overlays.iter()) {
        apply(&mut modes, layer);
    }
    fill_missing_tables(&mut modes, chain.iter().chain(overlays.iter()));
    let keymap = Keymap {
        name,
        modes: modes.into_iter().map(ModeMap::build).collect(),
    };
    check_essentials(&keymap, chain.iter().chain(overlays.iter()))?;
    Ok(keymap)
}

/// Keys nobody should be left without: a way to quit, and a way out of every layer.
pub const ESSENTIAL: &[(Mode, Action)] = &[
    (Mode::Main, Action::Quit),
    (Mode::Help, Action::LayerClose),
    (Mode::Palette, Action::LayerClose),
    (Mode::Confirm, Action::LayerClose),
    (Mode::Note, Action::LayerClose),
    (Mode::Leave, Action::LayerClose),
    (Mode::Faults, Action::LayerClose),
    (Mode::Replay, Action::Quit),
    (Mode::Filter, Action::FilterClear),
];

/// Fails when the finished keymap lacks an essential binding; the error points at the last
/// file that touched that mode (the one that most likely removed it), or the top of the last file.
fn check_essentials<'a>(
    keymap: &Keymap,
    layers: impl DoubleEndedIterator<Item = &'a Layer> + Clone,
) -> Result<(), LocatedError> {
    for (mode, action) in ESSENTIAL {
        if !keymap.keys_for(*mode, *action).is_empty() {
            continue;
        }
        let touched = layers.clone().rev().find_map(|l| {
            l.modes
                .iter()
                .find(|(m, _, _)| m == mode)
                .map(|(_, span, _)| (l, span.clone()))
        });
        let Some((layer, span)) = touched.or_else(|| layers.clone().next_back().map(|l| (l, 0..0)))
        else {
            continue;
        };
        return Err(layer.file.error_at(
            span,
            format!("no key is bound to `{action}` in [{mode}]; every keymap needs one"),
            Some(format!("bind one, e.g. \"esc\" = \"{action}\", or start from a preset with extends = \"default\"")),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::presets;

    fn catalog() -> Catalog {
        Catalog {
            kind: "keymaps",
            noun: "keymap",
            presets: presets::KEYMAPS,
            user_dir: None,
        }
    }

    fn km(text: &str) -> Result<Keymap, LocatedError> {
        resolve(SourceFile::new("k.toml", text), &catalog(), vec![])
    }

    fn over(base: &str, overlay: &str) -> Keymap {
        let layer = Layer::parse(SourceFile::new("keymap.toml", overlay)).unwrap();
        resolve(SourceFile::new("base.toml", base), &catalog(), vec![layer]).unwrap()
    }

    fn k(s: &str) -> KeyChord {
        KeyChord::parse(s).unwrap()
    }

    fn seq(s: &str) -> Vec<KeyChord> {
        crate::config::keys::parse_sequence(s).unwrap()
    }

    const BASE: &str = "[main]\nq = \"app.quit\"\n\"g g\" = \"scroll.top\"\n\"g e\" = \"scroll.bottom\"\n\"ctrl-w w\" = \"pane.focus_next\"\nG = \"scroll.bottom\"\n[help]\nesc = \"layer.close\"\n[palette]\nesc = \"layer.close\"\n[confirm]\nesc = \"layer.close\"\n[note]\nesc = \"layer.close\"\n";

    /// A complete keymap written before `[leave]` existed still leaves the leave layer.
    #[test]
    fn a_keymap_without_newer_tables_gets_the_presets() {
        let m = km(BASE).unwrap();
        assert_eq!(
            m.lookup(Mode::Leave, &[], k("esc")),
            Lookup::Action(Action::LayerClose)
        );
        assert_eq!(
            m.lookup(Mode::Leave, &[], k("d")),
            Lookup::Action(Action::ConsoleDetach)
        );
        assert_eq!(
            m.lookup(Mode::Replay, &[], k("space")),
            Lookup::Action(Action::ReplayPlayPause)
        );
        assert_eq!(
            m.lookup(Mode::Replay, &[], k("q")),
            Lookup::Action(Action::Quit)
        );
        // A keymap that writes the table keeps its own.
        let own = format!("{BASE}[leave]\nx = \"layer.close\"\n");
        let m = km(&own).unwrap();
        assert_eq!(m.lookup(Mode::Leave, &[], k("d")), Lookup::NoMatch);
        let own = format!("{BASE}[replay]\nx = \"app.quit\"\n");
        let m = km(&own).unwrap();
        assert_eq!(m.lookup(Mode::Replay, &[], k("space")), Lookup::NoMatch);
        assert_eq!(
            m.lookup(Mode::Replay, &[], k("x")),
            Lookup::Action(Action::Quit)
        );
    }

    /// The default keymap's `y` (copy to the clipboard) is turned off by a user overlay, and
    /// a keymap written before the filter line existed still gets its table.
    #[test]
    fn copy_can_be_unbound_and_the_filter_table_is_filled_in() {
        let default = presets::KEYMAPS
            .iter()
            .find(|(n, _)| *n == presets::DEFAULT_KEYMAP)
            .map(|(_, text)| *text)
            .unwrap();
        let m = km(default).unwrap();
        assert_eq!(
            m.lookup(Mode::Main, &[], k("y")),
            Lookup::Action(Action::ClipCopy)
        );
        let m = over(default, "[main]\n\"y\" = \"none\"\n");
        assert_eq!(m.lookup(Mode::Main, &[], k("y")), Lookup::NoMatch);
        assert!(m.keys_for(Mode::Main, Action::ClipCopy).is_empty());
        assert_eq!(
            m.lookup(Mode::Main, &[], k("/")),
            Lookup::Action(Action::FilterOpen)
        );
        // BASE has no [filter]: the preset's comes in, with its way out.
        let m = km(BASE).unwrap();
        assert_eq!(
            m.lookup(Mode::Filter, &[], k("esc")),
            Lookup::Action(Action::FilterClear)
        );
        assert_eq!(
            m.lookup(Mode::Filter, &[], k("enter")),
            Lookup::Action(Action::FilterApply)
        );
        // Typed characters cannot be bound in the filter line.
        let e = km(&format!("{BASE}[filter]\nx = \"filter.apply\"\n")).unwrap_err();
        assert!(e.message.contains("typed into the filter input"), "{e}");
    }

    #[test]
    fn lookup_walks_chords() {
        let m = km(BASE).unwrap();
        assert_eq!(
            m.lookup(Mode::Main, &[], k("q")),
            Lookup::Action(Action::Quit)
        );
        assert_eq!(m.lookup(Mode::Main, &[], k("g")), Lookup::Pending);
        assert_eq!(
            m.lookup(Mode::Main, &[k("g")], k("g")),
            Lookup::Action(Action::ScrollTop)
        );
        assert_eq!(m.lookup(Mode::Main, &[k("g")], k("x")), Lookup::NoMatch);
        assert_eq!(m.lookup(Mode::Main, &[k("q")], k("q")), Lookup::NoMatch);
        assert_eq!(
            m.lookup(Mode::Main, &[], k("shift-g")),
            Lookup::Action(Action::ScrollBottom)
        );
        assert_eq!(m.lookup(Mode::Help, &[], k("q")), Lookup::NoMatch);
        assert_eq!(
            m.continuations(Mode::Main, &[k("g")]),
            vec![
                (k("g"), Some(Action::ScrollTop)),
                (k("e"), Some(Action::ScrollBottom))
            ]
        );
        assert_eq!(m.continuations(Mode::Main, &[]).len(), 4);
        assert!(
            m.continuations(Mode::Main, &[])
                .contains(&(k("ctrl-w"), None))
        );
        assert_eq!(
            m.keys_for(Mode::Main, Action::ScrollBottom),
            vec![seq("g e"), seq("G")]
        );
        assert_eq!(m.bindings(Mode::Main)[0], (seq("q"), Action::Quit));
    }

    #[test]
    fn overlay_replaces_and_removes_prefix_conflicts() {
        // "g" removes "g g" and "g e"; "q" is rebound in place; "ctrl-w" is unbound.
        let m = over(
            BASE,
            "[main]\ng = \"pane.zoom\"\nq = \"help.toggle\"\n\"ctrl-w\" = \"none\"\n\"ctrl-q\" = \"app.quit\"\n",
        );
        assert_eq!(
            m.lookup(Mode::Main, &[], k("g")),
            Lookup::Action(Action::Zoom)
        );
        assert_eq!(
            m.lookup(Mode::Main, &[], k("q")),
            Lookup::Action(Action::HelpToggle)
        );
        assert_eq!(m.lookup(Mode::Main, &[], k("ctrl-w")), Lookup::NoMatch);
        assert_eq!(m.bindings(Mode::Main)[0], (seq("q"), Action::HelpToggle));
        assert_eq!(m.keys_for(Mode::Main, Action::ScrollBottom), vec![seq("G")]);
        // A longer user chord removes the shorter base binding it starts with.
        let m = over(BASE, "[main]\n\"q q\" = \"app.quit\"\n");
        assert_eq!(m.lookup(Mode::Main, &[], k("q")), Lookup::Pending);
        assert_eq!(m.name(), "base");
    }

    #[test]
    fn errors_are_located() {
        let e = km("[main]\n\"g\" = \"scroll.top\"\n\"g g\" = \"scroll.top\"\n").unwrap_err();
        assert_eq!((e.line, e.col), (3, 1), "{e}");
        assert!(e.message.contains("conflicts with `g` at 2:1"), "{e}");
        let e = km("[main]\nG = \"scroll.top\"\n\"shift-g\" = \"scroll.top\"\n").unwrap_err();
        assert!(e.message.contains("same key sequence as `G` at 2:1"), "{e}");
        let e = km("[main]\n\"g ctlr-x\" = \"scroll.top\"\n").unwrap_err();
        assert_eq!((e.line, e.col), (2, 4), "{e}");
        let e = km("[main]\nq = \"app.qiut\"\n").unwrap_err();
        assert_eq!((e.line, e.col), (2, 5), "{e}");
        assert_eq!(e.help.as_deref(), Some("did you mean `app.quit`?"));
        let e = km("[mian]\nq = \"app.quit\"\n").unwrap_err();
        assert_eq!((e.line, e.col), (1, 2), "{e}");
        assert_eq!(e.help.as_deref(), Some("did you mean `main`?"));
        let e = km("[palette]\nj = \"palette.next\"\n").unwrap_err();
        assert!(e.message.contains("typed into the palette input"), "{e}");
    }

    #[test]
    fn unbind_and_rebind_in_one_file_is_not_a_conflict() {
        let m = over(BASE, "[main]\ng = \"none\"\n\"g x\" = \"pane.zoom\"\n");
        assert_eq!(
            m.lookup(Mode::Main, &[k("g")], k("x")),
            Lookup::Action(Action::Zoom)
        );
        assert_eq!(m.lookup(Mode::Main, &[k("g")], k("g")), Lookup::NoMatch);
    }

    #[test]
    fn an_overlay_cannot_remove_the_way_out() {
        let layer =
            Layer::parse(SourceFile::new("keymap.toml", "[help]\nesc = \"none\"\n")).unwrap();
        let e = resolve(SourceFile::new("base.toml", BASE), &catalog(), vec![layer]).unwrap_err();
        assert_eq!(
            (e.name.as_str(), e.line, e.col),
            ("keymap.toml", 1, 2),
            "{e}"
        );
        assert!(
            e.message
                .contains("no key is bound to `layer.close` in [help]"),
            "{e}"
        );
    }

    #[test]
    fn extends_a_preset() {
        let m = km("name = \"mine\"\nextends = \"default\"\n[main]\nx = \"app.quit\"\n").unwrap();
        assert_eq!(m.name(), "mine");
        assert_eq!(
            m.lookup(Mode::Main, &[], k("x")),
            Lookup::Action(Action::Quit)
        );
        assert_eq!(
            m.lookup(Mode::Main, &[], k("?")),
            Lookup::Action(Action::HelpToggle)
        );
    }
}
