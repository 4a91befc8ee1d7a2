//! The code's shape: reads every `crate::` path in `src/` and fails on an import cycle
//! between top-level modules, an import into a higher layer, or one backend using another.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Top-level modules by layer, lowest first. A module may import modules of a lower layer,
/// or of its own layer when no cycle results. A new top-level module must be placed here.
const LAYERS: &[&[&str]] = &[
    // Leaves: what every layer shares. `sources` holds the observation types only.
    &[
        "action",
        "diag",
        "input",
        "pg_options",
        "redact",
        "sources",
        "suggest",
        "text",
        "time",
        "tls",
        "units",
        "xdg",
    ],
    &["config", "plan", "policy"],
    &["audit", "store"],
    &["engine"],
    // The real backends and the drill world, side by side: neither imports the other,
    // except `SIM_MAY_USE`.
    &["backends", "sim"],
    &["runner"],
    &["app"],
    // The one door: audit intent + request, delivery, following the runner.
    &["control"],
    // Console recordings (the tape the loop writes through `replay::recording`), the
    // player, and the playback viewer's state and chrome; `tui::replayed` draws them.
    &["replay"],
    // The debrief: journal, audit log, the runner's batches and console recordings.
    &["report"],
    &["tui", "logging"],
    &["cli"],
];

/// The backend folders (`src/backends/NAME/`) that `sim` may use, for what opens no client:
/// the drill's PromQL is judged with the prometheus backend's judge and sample types; its
/// kubernetes and http steps share the real ones' revision choice, wording and status check.
/// (No real client can be built in a drill regardless: a drill's backends are `SimWorld`.)
const SIM_MAY_USE: &[&str] = &[
    "backends/prometheus",
    "backends/kubernetes",
    "backends/http",
];

/// Where a `crate::` path points: its first segment and, when there is one, the second.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Target {
    top: String,
    second: Option<String>,
}

fn target(top: &str, second: Option<&str>) -> Target {
    Target {
        top: top.to_string(),
        second: second.map(str::to_string),
    }
}

/// The source with comments, string and char literals blanked (lifetimes kept), so that
/// a `crate::` in a doc comment or a message is not read as an import.
fn code_only(src: &str) -> String {
    let chars: Vec<char> = src.chars().collect();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    let at = |i: usize| chars.get(i).copied().unwrap_or('\0');
    while i < chars.len() {
        let c = chars[i];
        if c == '/' && at(i + 1) == '/' {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && at(i + 1) == '*' {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && at(i + 1) == '*' {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && at(i + 1) == '/' {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            out.push(' ');
        } else if c == 'r' && (at(i + 1) == '#' || at(i + 1) == '"') && raw_prefix(&chars, i) {
            // A raw string: r"…" or r#"…"#.
            let mut j = i + 1;
            let mut hashes = 0;
            while at(j) == '#' {
                hashes += 1;
                j += 1;
            }
            if at(j) != '"' {
                out.push(c);
                i += 1;
                continue;
            }
            j += 1;
            'raw: while j < chars.len() {
                if chars[j] == '"' && (1..=hashes).all(|k| at(j + k) == '#') {
                    j += 1 + hashes;
                    break 'raw;
                }
                j += 1;
            }
            out.push_str("\"\"");
            i = j;
        } else if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("\"\"");
        } else if c == '\'' {
            if at(i + 1) == '\\' {
                // '\n', '\'', '\u{…}'
                let mut j = i + 2;
                while j < chars.len() && chars[j] != '\'' {
                    j += 1;
                }
                i = j + 1;
                out.push_str("' '");
            } else if at(i + 2) == '\'' {
                i += 3;
                out.push_str("' '");
            } else {
                // A lifetime or a label.
                out.push(c);
                i += 1;
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

fn ident_before(chars: &[char], i: usize) -> bool {
    i > 0 && is_ident(chars[i - 1])
}

/// Whether the `r` at `i` starts a raw string (`r"`, `br"`), not ends an identifier.
fn raw_prefix(chars: &[char], i: usize) -> bool {
    !ident_before(chars, i) || (chars[i - 1] == 'b' && !ident_before(chars, i - 1))
}

/// Every `crate::…` path in `src` (a file's text), by its first two segments: each leaf of
/// a grouped `use crate::{a::b, c::{d, e}}` counts, as do paths in expressions.
fn crate_paths(src: &str) -> BTreeSet<Target> {
    let code: Vec<char> = code_only(src).chars().collect();
    let mut found = BTreeSet::new();
    let word: Vec<char> = "crate".chars().collect();
    let mut i = 0;
    while i + word.len() < code.len() {
        let starts = code[i..].starts_with(&word)
            && !(i > 0 && (is_ident(code[i - 1]) || code[i - 1] == '$'));
        if starts {
            let mut p = Parser {
                code: &code,
                i: i + word.len(),
            };
            if p.eat("::") {
                p.tree(&[], &mut found);
            }
            i = p.i.max(i + 1);
        } else {
            i += 1;
        }
    }
    found
}

struct Parser<'a> {
    code: &'a [char],
    i: usize,
}

impl Parser<'_> {
    fn skip_space(&mut self) {
        while self.code.get(self.i).is_some_and(|c| c.is_whitespace()) {
            self.i += 1;
        }
    }

    fn eat(&mut self, s: &str) -> bool {
        let save = self.i;
        self.skip_space();
        let want: Vec<char> = s.chars().collect();
        if self.code[self.i..].starts_with(&want) {
            self.i += want.len();
            true
        } else {
            self.i = save;
            false
        }
    }

    fn ident(&mut self) -> Option<String> {
        self.skip_space();
        let start = self.i;
        while self.code.get(self.i).copied().is_some_and(is_ident) {
            self.i += 1;
        }
        (self.i > start).then(|| self.code[start..self.i].iter().collect())
    }

    /// A use tree after `prefix::` (segments so far): `a::b`, `{x, y::{z}}`, `*`.
    fn tree(&mut self, prefix: &[String], found: &mut BTreeSet<Target>) {
        if self.eat("{") {
            loop {
                if self.eat("}") {
                    return;
                }
                self.tree(prefix, found);
                if !self.eat(",") {
                    self.eat("}");
                    return;
                }
            }
        }
        let mut path = prefix.to_vec();
        while let Some(seg) = self.ident() {
            if seg != "self" {
                path.push(seg);
            }
            if !self.eat("::") {
                break;
            }
            self.skip_space();
            if self.code.get(self.i) == Some(&'{') {
                self.tree(&path, found);
                return;
            }
        }
        if let Some(top) = path.first() {
            found.insert(target(top, path.get(1).map(String::as_str)));
        }
    }
}

/// The node a file or a path belongs to: its top-level module, or `backends/NAME` for a
/// backend folder.
fn node(t: &Target, backend_folders: &BTreeSet<String>) -> String {
    match &t.second {
        Some(s) if t.top == "backends" && backend_folders.contains(s) => format!("backends/{s}"),
        _ => t.top.clone(),
    }
}

fn top_of(node: &str) -> &str {
    node.split('/').next().unwrap_or(node)
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// One import between nodes, with a file that makes it.
struct Edges {
    /// (from, to) → the first file (relative to src/) that imports it.
    by_pair: BTreeMap<(String, String), String>,
    modules: BTreeSet<String>,
}

fn read_edges(src: &Path) -> Edges {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    files.sort();
    let backend_folders: BTreeSet<String> = std::fs::read_dir(src.join("backends"))
        .map(|dir| {
            dir.filter_map(|e| e.ok())
                .filter(|e| e.path().is_dir())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    let mut by_pair = BTreeMap::new();
    let mut modules = BTreeSet::new();
    for file in files {
        let rel = file.strip_prefix(src).unwrap();
        let parts: Vec<String> = rel
            .iter()
            .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string())
            .collect();
        if parts.len() == 1 && (parts[0] == "lib" || parts[0] == "main") {
            continue;
        }
        let from = node(
            &target(
                &parts[0],
                parts.get(1).filter(|_| parts.len() > 2).map(String::as_str),
            ),
            &backend_folders,
        );
        modules.insert(parts[0].clone());
        let text = std::fs::read_to_string(&file).unwrap();
        for t in crate_paths(&text) {
            let to = node(&t, &backend_folders);
            if to != from {
                by_pair
                    .entry((from.clone(), to))
                    .or_insert_with(|| rel.display().to_string());
            }
        }
    }
    Edges { by_pair, modules }
}

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&module))
}

/// The import cycles between top-level modules: for each module on a cycle not reported
/// yet, the shortest path from it back to itself.
fn find_cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    let mut cycles: Vec<Vec<String>> = Vec::new();
    for start in graph.keys() {
        if cycles.iter().any(|c| c.contains(start)) {
            continue;
        }
        // Breadth first from `start`, remembering each module's predecessor.
        let mut before: BTreeMap<&str, &str> = BTreeMap::new();
        let mut queue = std::collections::VecDeque::from([start.as_str()]);
        let mut closing = None;
        while let Some(n) = queue.pop_front() {
            for next in graph.get(n).into_iter().flatten() {
                if next == start {
                    closing = Some(n);
                    break;
                }
                if !before.contains_key(next.as_str()) {
                    before.insert(next, n);
                    queue.push_back(next);
                }
            }
            if closing.is_some() {
                break;
            }
        }
        if let Some(mut n) = closing {
            let mut back = vec![start.clone()];
            while n != start {
                back.push(n.to_string());
                n = before[n];
            }
            back.push(start.clone());
            back.reverse();
            cycles.push(back);
        }
    }
    cycles
}

/// Everything wrong with the shape of `src`, one line each.
fn problems(src: &Path) -> Vec<String> {
    let edges = read_edges(src);
    let mut problems = Vec::new();
    for m in &edges.modules {
        if layer_of(m).is_none() {
            problems.push(format!(
                "src/{m}: top-level module missing from LAYERS in tests/it/layers.rs: place it"
            ));
        }
    }
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut witness = BTreeMap::new();
    for ((from, to), file) in &edges.by_pair {
        let (top_from, top_to) = (top_of(from), top_of(to));
        let edge = format!("{from} -> {to} (src/{file})");
        if top_from != top_to {
            graph
                .entry(top_from.to_string())
                .or_default()
                .insert(top_to.to_string());
            witness
                .entry((top_from.to_string(), top_to.to_string()))
                .or_insert_with(|| format!("src/{file}"));
            if let (Some(a), Some(b)) = (layer_of(top_from), layer_of(top_to))
                && b > a
            {
                problems.push(format!(
                    "{edge}: layer {a} imports layer {b}; a module imports only lower layers"
                ));
            }
        }
        if from.starts_with("backends/") && to.starts_with("backends") {
            problems.push(format!(
                "{edge}: a backend imports another backend or the backends wiring"
            ));
        }
        if from.starts_with("backends") && to == "sim" {
            problems.push(format!("{edge}: a real backend imports the drill world"));
        }
        if from == "sim" && to.starts_with("backends") && !SIM_MAY_USE.contains(&to.as_str()) {
            problems.push(format!(
                "{edge}: the drill world imports a real backend (allowed: {SIM_MAY_USE:?})"
            ));
        }
    }
    for cycle in find_cycles(&graph) {
        let steps: Vec<String> = cycle
            .windows(2)
            .map(|w| {
                format!(
                    "{} -> {} ({})",
                    w[0],
                    w[1],
                    witness[&(w[0].clone(), w[1].clone())]
                )
            })
            .collect();
        problems.push(format!("import cycle: {}", steps.join(", ")));
    }
    problems
}

#[test]
fn src_keeps_its_layers() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let problems = problems(&src);
    assert!(
        problems.is_empty(),
        "the module layers of src/ are broken:\n  {}",
        problems.join("\n  ")
    );
}

#[test]
fn every_layered_module_exists() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let modules = read_edges(&src).modules;
    let stale: Vec<&str> = LAYERS
        .iter()
        .flat_map(|l| l.iter().copied())
        .filter(|m| !modules.contains(*m))
        .collect();
    assert!(
        stale.is_empty(),
        "LAYERS names modules src/ lacks: {stale:?}"
    );
}

fn paths(src: &str) -> Vec<String> {
    crate_paths(src)
        .into_iter()
        .map(|t| match t.second {
            Some(s) => format!("{}::{s}", t.top),
            None => t.top,
        })
        .collect()
}

#[test]
fn parser_reads_grouped_uses() {
    let src = "use crate::{a::b, c::{d, e::f}, g};\nuse crate::backends::{self, postgres::X, \
               http};\nuse crate :: h :: {\n    i,\n    j::k,\n};";
    assert_eq!(
        paths(src),
        [
            "a::b",
            "backends",
            "backends::http",
            "backends::postgres",
            "c::d",
            "c::e",
            "g",
            "h::i",
            "h::j"
        ]
    );
}

#[test]
fn parser_reads_paths_in_expressions() {
    let src = "fn f() { let d = crate::units::fmt_duration(x); crate::k8s::Resource::of(\"a\"); \
               g::<crate::plan::Plan>(); }";
    assert_eq!(
        paths(src),
        ["k8s::Resource", "plan::Plan", "units::fmt_duration"]
    );
}

#[test]
fn parser_skips_comments_strings_and_macro_paths() {
    let src = "// use crate::a::b;\n/// see [`crate::c::D`]\n/* crate::e /* crate::f */ */\n\
               //! crate::g\nlet s = \"crate::h::i\"; let r = r#\"crate::j\"#; let c = '\"';\n\
               fn l<'a>(x: &'a str) {} $crate::m::n; mycrate::o::p;\nuse crate::q::r;";
    assert_eq!(paths(src), ["q::r"]);
}

#[test]
fn cycles_are_reported_as_a_path() {
    let graph: BTreeMap<String, BTreeSet<String>> = [
        ("plan", vec!["config"]),
        ("config", vec!["k8s", "text"]),
        ("k8s", vec!["plan"]),
        ("text", vec![]),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.into_iter().map(str::to_string).collect()))
    .collect();
    assert_eq!(find_cycles(&graph), [["config", "k8s", "plan", "config"]]);
    let mut acyclic = graph.clone();
    acyclic.insert("k8s".into(), BTreeSet::new());
    assert!(find_cycles(&acyclic).is_empty());
}
