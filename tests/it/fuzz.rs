//! A mutation fuzz of every input file type (plan, scenario, theme, keymap, console file):
//! no input panics, every error is located inside its file, and every report renders short,
//! huge lines included. Shrunk failures are kept in `proptest-regressions/it/fuzz.txt`.

use ebb::diag::{LocatedError, SourceFile};
use ebb::plan::Plan;
use ebb::sim::world::Scenario;
use proptest::prelude::*;

/// The file types, each with its valid seeds and its parser (errors as located errors).
#[derive(Clone, Copy, Debug)]
enum Kind {
    Plan,
    Scenario,
    Theme,
    Keymap,
    Console,
}

const KINDS: [Kind; 5] = [
    Kind::Plan,
    Kind::Scenario,
    Kind::Theme,
    Kind::Keymap,
    Kind::Console,
];

fn seeds(kind: Kind) -> Vec<String> {
    let dir = |d: &str| {
        let mut v: Vec<String> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .map(|p| std::fs::read_to_string(p).unwrap())
            .collect();
        v.sort();
        v
    };
    let root = env!("CARGO_MANIFEST_DIR");
    match kind {
        Kind::Plan => dir(&format!("{root}/examples/plans")),
        Kind::Scenario => dir(&format!("{root}/examples/scenarios")),
        Kind::Theme => dir(&format!("{root}/themes")),
        Kind::Keymap => dir(&format!("{root}/keymaps")),
        Kind::Console => vec![
            std::fs::read_to_string(format!("{root}/examples/postgres/console.toml")).unwrap(),
            std::fs::read_to_string(format!("{root}/examples/prometheus/console.toml")).unwrap(),
        ],
    }
}

/// Parses `file` as `kind`; the errors it reports (none when it is valid).
fn errors(kind: Kind, file: &SourceFile) -> Vec<LocatedError> {
    let one = |r: Result<(), LocatedError>| r.err().into_iter().collect();
    match kind {
        Kind::Plan => Plan::parse(file).err().map_or_else(Vec::new, |e| e.errors),
        Kind::Scenario => one(Scenario::parse(file).map(|_| ())),
        Kind::Theme => one(ebb::config::check_theme_file(file.clone()).map(|_| ())),
        Kind::Keymap => one(ebb::config::check_keymap_file(file.clone()).map(|_| ())),
        Kind::Console => ebb::config::targets::parse(file)
            .err()
            .map_or_else(Vec::new, |e| e.errors),
    }
}

#[derive(Clone, Debug)]
enum Mutation {
    Insert {
        at: usize,
        text: String,
    },
    Delete {
        at: usize,
        len: usize,
    },
    DuplicateLine {
        at: usize,
    },
    Truncate {
        at: usize,
    },
    /// A line far longer than a terminal, then something that does not belong.
    HugeLine {
        at: usize,
        tail: String,
    },
}

fn floor(text: &str, at: usize) -> usize {
    let mut at = if text.is_empty() {
        0
    } else {
        at % (text.len() + 1)
    };
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

fn apply(text: &str, m: &Mutation) -> String {
    let mut t = text.to_string();
    match m {
        Mutation::Insert { at, text } => t.insert_str(floor(&t, *at), text),
        Mutation::Delete { at, len } => {
            let a = floor(&t, *at);
            let b = floor(&t, a + len).max(a);
            t.replace_range(a..b, "");
        }
        Mutation::DuplicateLine { at } => {
            let lines: Vec<&str> = text.lines().collect();
            if !lines.is_empty() {
                let i = at % lines.len();
                let mut out = lines.clone();
                out.insert(i, lines[i]);
                t = out.join("\n");
            }
        }
        Mutation::Truncate { at } => t.truncate(floor(&t, *at)),
        Mutation::HugeLine { at, tail } => {
            let huge = format!("{}{tail}", "x".repeat(70_000));
            t.insert_str(floor(&t, *at), &huge);
        }
    }
    t
}

fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        "[\\[\\]={}\",.#\\n a-z0-9_-]{1,8}",
        "\\PC{1,6}",
        "[\\x00-\\x1f\\x7f\u{202e}\u{200f}]{1,3}",
        Just("\n[[step]]\nid = \"x\"\n".to_string()),
        Just("\"\"\"".to_string()),
    ]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        4 => (any::<usize>(), fragment()).prop_map(|(at, text)| Mutation::Insert { at, text }),
        3 => (any::<usize>(), 1usize..60).prop_map(|(at, len)| Mutation::Delete { at, len }),
        1 => any::<usize>().prop_map(|at| Mutation::DuplicateLine { at }),
        1 => any::<usize>().prop_map(|at| Mutation::Truncate { at }),
        1 => (any::<usize>(), fragment()).prop_map(|(at, tail)| Mutation::HugeLine { at, tail }),
    ]
}

fn render(e: &LocatedError) -> String {
    let handler =
        miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor());
    let mut out = String::new();
    handler.render_report(&mut out, e).unwrap();
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn every_input_file_type_survives_mutation(
        kind in 0usize..KINDS.len(),
        seed in any::<usize>(),
        mutations in prop::collection::vec(mutation(), 1..5),
    ) {
        let kind = KINDS[kind];
        let seeds = seeds(kind);
        let mut text = seeds[seed % seeds.len()].clone();
        for m in &mutations {
            text = apply(&text, m);
        }
        let file = SourceFile::new("fuzz.toml", text);
        let lines = file.text.lines().count().max(1);
        for e in errors(kind, &file) {
            prop_assert!(e.line >= 1 && e.col >= 1, "{kind:?}: {}", e.line_form());
            prop_assert!(e.line <= lines + 1, "{kind:?}: line {} of {lines}", e.line);
            prop_assert!(e.line_form().starts_with("fuzz.toml:"), "{}", e.line_form());
            let shown = render(&e);
            prop_assert!(shown.len() < 8_000, "{kind:?}: {} bytes shown", shown.len());
        }
    }
}

/// The one each kind must survive: an error past column 65,535.
#[test]
fn an_error_past_column_65535_is_located_and_shown_short_for_every_kind() {
    for kind in KINDS {
        let seed = &seeds(kind)[0];
        let text = format!("{seed}\n{}\u{1}\n", "x".repeat(70_000));
        let file = SourceFile::new("fuzz.toml", text);
        let errs = errors(kind, &file);
        assert!(!errs.is_empty(), "{kind:?}");
        for e in errs {
            assert!(e.line >= 1 && e.col >= 1, "{kind:?}: {}", e.line_form());
            assert!(render(&e).len() < 8_000, "{kind:?}");
        }
    }
}
