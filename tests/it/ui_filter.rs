//! `/` filters, help search and `y` copy on the TestBackend: a filtered Timeline with its
//! title, a filter with no match, the filter line, help narrowed by a search; and the
//! model behind them (esc clears, focus keeps each pane's filter, replay folds to the same).

use crossterm::event::{KeyCode, KeyModifiers};
use ebb::action::Action;
use ebb::app::{ActionSource, Dispatched, DoorEffect, Layer, Model, Msg, PaneId, on_key, update};
use ebb::cli::screenshot::{SCREENSHOT_EPOCH, model_at, render_buffer};
use ebb::config::keymap::{KeyChord, Keymap};
use ebb::config::theme::Theme;
use ebb::config::{keymap_by_name, theme_by_name};
use ebb::plan::PlanOutline;
use ebb::replay::entry::Entry;
use ebb::replay::player::Player;
use ebb::sim::world::Scenario;
use ebb::time::Timestamp;
use ratatui::buffer::Buffer;

fn setup() -> (Model, Keymap, Theme) {
    let keymap = keymap_by_name("default").unwrap();
    let theme = theme_by_name("dark").unwrap();
    let scenario = Scenario::load("backfill-slot-fill").unwrap();
    let plan = PlanOutline::builtin("backfill-slot-fill.toml")
        .unwrap()
        .unwrap();
    let model = model_at(&scenario, Some(plan), 42, 300, "oncall", &keymap);
    (model, keymap, theme)
}

fn text(buf: &Buffer) -> String {
    let a = buf.area;
    let mut s = String::new();
    for y in 0..a.height {
        for x in 0..a.width {
            s.push_str(buf[(x, y)].symbol());
        }
        s.push('\n');
    }
    s
}

fn chord(code: KeyCode) -> KeyChord {
    KeyChord {
        code,
        mods: KeyModifiers::NONE,
    }
}

/// Types `keys`: each character a key, `\n` enter, `\x1b` esc, `\x08` backspace.
fn typed(m: &mut Model, k: &Keymap, keys: &str) -> Vec<KeyChord> {
    let mut sent = Vec::new();
    for c in keys.chars() {
        let code = match c {
            '\n' => KeyCode::Enter,
            '\x1b' => KeyCode::Esc,
            '\x08' => KeyCode::Backspace,
            c => KeyCode::Char(c),
        };
        on_key(m, k, chord(code));
        sent.push(chord(code));
    }
    sent
}

fn screen(m: &Model, k: &Keymap, t: &Theme) -> String {
    text(&render_buffer(m, k, t, 160, 48))
}

/// The Timeline pane's rows (right column, below its title) as text.
fn timeline_rows(screen: &str) -> Vec<String> {
    let lines: Vec<&str> = screen.lines().collect();
    let top = lines
        .iter()
        .position(|l| l.contains("6 Timeline"))
        .expect("timeline title");
    lines[top + 1..]
        .iter()
        .take_while(|l| !l.contains('╰') && !l.contains('┗'))
        .map(|l| l.chars().skip(91).collect::<String>())
        .map(|l| {
            l.trim_matches(|c| c == '│' || c == '┃' || c == ' ')
                .to_string()
        })
        .filter(|l| !l.is_empty())
        .collect()
}

#[test]
fn a_filtered_timeline_shows_only_matching_rows_and_its_title() {
    let (mut m, k, t) = setup();
    typed(&mut m, &k, "6/LAG\n");
    assert_eq!(
        m.filters.get(&PaneId::Timeline).map(String::as_str),
        Some("LAG")
    );
    assert!(m.layers.is_empty(), "enter closes the filter line");
    let out = screen(&m, &k, &t);
    assert!(out.contains("6 Timeline /LAG · 5 of 9 entries"), "{out}");
    let rows = timeline_rows(&out);
    assert_eq!(rows.len(), 5, "{out}");
    assert!(
        rows.iter().all(|r| r.to_lowercase().contains("lag")),
        "{rows:?}"
    );
    insta::assert_snapshot!("filter_timeline", out);

    // Focus moves: the filter stays on the Timeline; esc on another pane clears nothing.
    typed(&mut m, &k, "5\x1b");
    assert_eq!(m.filter_of(PaneId::Timeline), Some("LAG"));
    assert!(screen(&m, &k, &t).contains("6 Timeline /LAG"));
    // Each pane has its own.
    typed(&mut m, &k, "/verify\n");
    assert_eq!(m.filter_of(PaneId::Plan), Some("verify"));
    let out = screen(&m, &k, &t);
    assert!(
        out.contains("5 Plan /verify") && out.contains("verify-orders"),
        "{out}"
    );
    assert!(!out.contains("pause-backfill"), "{out}");
    // esc on the focused, filtered pane clears its filter only.
    typed(&mut m, &k, "\x1b");
    assert_eq!(m.filter_of(PaneId::Plan), None);
    assert_eq!(m.filter_of(PaneId::Timeline), Some("LAG"));
    typed(&mut m, &k, "6\x1b");
    assert_eq!(m.filter_of(PaneId::Timeline), None);
    assert_eq!(timeline_rows(&screen(&m, &k, &t)).len(), 9);
}

#[test]
fn a_filter_with_no_match_says_so_and_keeps_selection_and_scroll_valid() {
    let (mut m, k, t) = setup();
    typed(&mut m, &k, "6/xyz\n");
    // Scrolling an empty result moves nothing and panics nowhere.
    typed(&mut m, &k, "gegg");
    on_key(&mut m, &k, chord(KeyCode::Down));
    on_key(&mut m, &k, chord(KeyCode::PageDown));
    assert_eq!(ebb::app::rows::selected(&m, PaneId::Timeline), None);
    let out = screen(&m, &k, &t);
    assert!(out.contains("no rows match /xyz"), "{out}");
    insta::assert_snapshot!("filter_no_match", out);
    // Every pane, every filter, tiny and large screens: no panic.
    for pane in "1234567".chars() {
        for f in ["", "a", "0", "→", "\u{1b}[31m"] {
            let mut m2 = m.clone();
            typed(&mut m2, &k, &format!("{pane}/{f}"));
            for _ in 0..30 {
                on_key(&mut m2, &k, chord(KeyCode::Down));
            }
            for (w, h) in [(70, 20), (160, 48), (300, 100)] {
                let _ = render_buffer(&m2, &k, &t, w, h);
            }
        }
    }
}

#[test]
fn the_filter_line_edits_the_filter_live() {
    let (mut m, k, t) = setup();
    typed(&mut m, &k, "6/thrx\x08");
    assert!(matches!(m.layers.last(), Some(Layer::Filter { .. })));
    assert_eq!(m.filter_of(PaneId::Timeline), Some("thr"));
    let out = screen(&m, &k, &t);
    assert!(out.contains("filter Timeline /thr▏"), "{out}");
    // Live: the rows narrow while typing.
    assert_eq!(timeline_rows(&out).len(), 4, "{out}");
    insta::assert_snapshot!("filter_line", out);
    // esc in the line clears the filter and closes it.
    typed(&mut m, &k, "\x1b");
    assert!(m.layers.is_empty());
    assert_eq!(m.filter_of(PaneId::Timeline), None);
}

#[test]
fn panes_without_rows_to_filter_say_so() {
    let (mut m, k, _) = setup();
    typed(&mut m, &k, "1/");
    assert!(m.layers.is_empty());
    let flash = m.flash.as_ref().map(|(_, f)| f.as_str()).unwrap_or("");
    assert!(flash.contains("Migration pane has no filter"), "{flash}");
}

#[test]
fn workload_and_storage_filter_their_rows() {
    let (mut m, k, t) = setup();
    typed(&mut m, &k, "4/app-2\n3/replica_\n");
    let out = screen(&m, &k, &t);
    assert!(out.contains("4 Workload /app-2"), "{out}");
    assert!(
        out.contains("orders-app-2") && !out.contains("orders-app-1 "),
        "{out}"
    );
    assert!(out.contains("3 Storage /replica_"), "{out}");
    assert!(
        out.contains("replica_1") && out.contains("replica_2"),
        "{out}"
    );
    assert!(!out.contains("pgdata-replica-1"), "{out}");
}

#[test]
fn help_search_narrows_the_bindings_and_esc_clears_then_closes() {
    let (mut m, k, t) = setup();
    typed(&mut m, &k, "?/zoom");
    let out = screen(&m, &k, &t);
    assert!(out.contains("keymap default /zoom"), "{out}");
    assert!(out.contains("pane.zoom"), "{out}");
    assert!(!out.contains("app.quit"), "{out}");
    insta::assert_snapshot!("help_search", out);
    // enter keeps the search; esc clears it, then closes the help.
    typed(&mut m, &k, "\n");
    assert!(matches!(m.layers.as_slice(), [Layer::Help { search, .. }] if search == "zoom"));
    typed(&mut m, &k, "\x1b");
    assert!(matches!(m.layers.as_slice(), [Layer::Help { search, .. }] if search.is_empty()));
    assert!(screen(&m, &k, &t).contains("app.quit"));
    typed(&mut m, &k, "\x1b");
    assert!(m.layers.is_empty());
    // No match: the help says so.
    typed(&mut m, &k, "?/qqqzz");
    assert!(screen(&m, &k, &t).contains("no key matches /qqqzz"));
}

#[test]
fn y_copies_the_selected_row_else_the_run_id() {
    use ebb::engine::{Direction, EngineEvent, RunView, Status};
    let (mut m, k, _) = setup();
    typed(&mut m, &k, "y");
    assert_eq!(m.clipboard, None);
    assert!(m.flash.as_ref().unwrap().1.contains("nothing to copy"));
    let view = RunView {
        run_id: "r-20261124-030000-abcd".into(),
        status: Status::Running,
        direction: Direction::Forward,
        step_mode: false,
        pause: None,
        held: None,
        progress: None,
        batch: None,
        steps: Vec::new(),
        ask: None,
    };
    update(&mut m, &k, Msg::Engine(EngineEvent::View(view)));
    typed(&mut m, &k, "y");
    assert_eq!(m.clipboard.as_deref(), Some("r-20261124-030000-abcd"));
    assert_eq!(
        m.flash.as_ref().unwrap().1,
        "copied run id r-20261124-030000-abcd"
    );
    // A filtered pane selects its first kept row; down moves the selection.
    m.clipboard = None;
    typed(&mut m, &k, "6/throttled\n");
    on_key(&mut m, &k, chord(KeyCode::Down));
    typed(&mut m, &k, "y");
    let row = m.clipboard.clone().unwrap();
    assert_eq!(
        row,
        "03:03:38 0042_split_address throttled: replica-2 lag 5.1s > 5.0s"
    );
    assert_eq!(
        m.flash.as_ref().unwrap().1,
        format!("copied 1 row ({} bytes)", row.len())
    );
}

#[test]
fn y_can_be_unbound_in_the_user_keymap() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("keymap.toml"), "[main]\n\"y\" = \"none\"\n").unwrap();
    let cfg = ebb::config::load(&ebb::config::LoadOptions {
        config_dir: Some(dir.path().to_path_buf()),
        ..Default::default()
    })
    .unwrap();
    let k = cfg.keymap;
    assert!(
        k.keys_for(ebb::config::Mode::Main, Action::ClipCopy)
            .is_empty()
    );
    let (mut m, _, t) = setup();
    m.run = None;
    typed(&mut m, &k, "6/lag\ny");
    assert_eq!(m.clipboard, None);
    let out = screen(&m, &k, &t);
    assert!(!out.contains("clip.copy"));
    typed(&mut m, &k, "?");
    assert!(!screen(&m, &k, &t).contains("clip.copy"));
}

/// A console's recording replays the filter: keys are recorded, the door's effects follow.
#[test]
fn a_replayed_recording_shows_the_filter() {
    let (start, k, t) = setup();
    let mut live = start.clone();
    let at = |s: i64| Timestamp(SCREENSHOT_EPOCH.0 + 300_000 + s);
    let mut entries = vec![(
        at(0),
        Entry::Start {
            model: Box::new(start),
            width: 160,
            height: 48,
            keymap: "default".into(),
        },
    )];
    // `6` goes through the door (its effect is recorded); `/lag` + enter are keys only.
    let six = chord(KeyCode::Char('6'));
    entries.push((at(1), Entry::Key(six)));
    entries.push((
        at(1),
        Entry::Msg(Msg::Door(DoorEffect::Dispatched(Dispatched {
            action: Action::FocusTimeline,
            source: ActionSource::Key("6".into()),
        }))),
    ));
    on_key(&mut live, &k, six);
    for (i, key) in typed(&mut live, &k, "/lag\n").into_iter().enumerate() {
        entries.push((at(2 + i as i64), Entry::Key(key)));
    }
    let mut player = Player::from_entries(entries, k.clone()).unwrap();
    let replayed = player.seek(at(100)).clone();
    assert_eq!(replayed.filter_of(PaneId::Timeline), Some("lag"));
    assert_eq!(replayed.filters, live.filters);
    assert_eq!(screen(&replayed, &k, &t), screen(&live, &k, &t));
    // A model recorded before filters existed still loads.
    let mut json = serde_json::to_value(&replayed).unwrap();
    json.as_object_mut().unwrap().remove("filters");
    let old: Model = serde_json::from_value(json).unwrap();
    assert!(old.filters.is_empty());
}
