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

/// The drawn row that is highlighted as selected, if any.
fn highlighted(buf: &Buffer, theme: &Theme) -> Option<String> {
    let bg = theme.selection.bg?;
    let a = buf.area;
    (0..a.height).find_map(|y| {
        let xs: Vec<u16> = (0..a.width).filter(|x| buf[(*x, y)].bg == bg).collect();
        (xs.len() > 10).then(|| xs.iter().map(|x| buf[(*x, y)].symbol()).collect())
    })
}

/// Every row a filter can keep is the row drawn: for each row of each filterable pane, a
/// filter of its whole text selects it, and the highlighted line on screen shows its name.
fn rows_line_up_with_the_drawn_lines(mut m: Model, k: &Keymap, t: &Theme) {
    for pane in ebb::app::filter::FILTERABLE {
        m.focus = pane;
        let rows = ebb::app::rows::rows(&m, pane);
        assert!(!rows.is_empty(), "{pane:?} has rows");
        for row in &rows {
            m.filters.insert(pane, row.clone());
            m.scroll.clear();
            let buf = render_buffer(&m, k, t, 200, 60);
            let drawn = highlighted(&buf, t).unwrap_or_default();
            let name = row
                .split_whitespace()
                .nth(usize::from(pane == PaneId::Timeline));
            let name: String = name.unwrap_or("").chars().take(10).collect();
            assert!(
                drawn.contains(&name),
                "{pane:?} row {row:?}: the selected line is {drawn:?}\n{}",
                text(&buf)
            );
        }
        m.filters.clear();
    }
}

#[test]
fn filtered_rows_are_the_drawn_rows_in_a_drill() {
    let (m, k, t) = setup();
    rows_line_up_with_the_drawn_lines(m, &k, &t);
}

#[test]
fn filtered_rows_are_the_drawn_rows_for_kubernetes_beside_postgres() {
    use ebb::backends::kubernetes::source::KubeTarget;
    use ebb::backends::postgres::source::PgTarget;
    use ebb::backends::source::SourceTarget;
    use ebb::cli::console::console_model;
    use ebb::cli::watch::Watch;
    use ebb::plan::{Target, TargetKind};
    use ebb::sources::kube::{ClaimStatus, KubeSnapshot, RolloutStatus};
    use ebb::sources::{
        Observation, Payload, PodStatus, SnapshotState, SnapshotStatus, SourceId, StorageSnapshot,
        VolumeStatus,
    };
    use ebb::text::DisplayText as T;
    use std::time::Duration;
    let (_, k, t) = setup();
    let every = Duration::from_secs(2);
    let kube = KubeTarget {
        target: Target {
            name: "k8s".into(),
            kind: TargetKind::Kubernetes,
            url: None,
            ca: None,
            object: None,
            context: Some("prod".into()),
            namespace: Some("shop".into()),
        },
        interval: every,
        timeout: every,
    };
    let pg = PgTarget::from_url("db", "postgres://ebb@10.0.0.5/orders", every, every).unwrap();
    let w = Watch {
        targets: vec![SourceTarget::Pg(pg), SourceTarget::Kube(kube)],
        plan: None,
        unwatched: Vec::new(),
    };
    let t0 = SCREENSHOT_EPOCH;
    let mut m = console_model(&w, "oncall", t0);
    let obs = |source: &str, payload| {
        Msg::Observation(Observation {
            source: SourceId(source.into()),
            at: t0,
            interval: every,
            payload,
        })
    };
    let pod = PodStatus {
        name: T::new("orders-app-2"),
        revision: T::new("5c4b"),
        phase: T::new("Running"),
        ready: false,
        restarts: 7,
        reason: Some(T::new("CrashLoopBackOff")),
    };
    let claim = |name: &str, pod: Option<&str>| ClaimStatus {
        name: T::new(name),
        phase: T::new("Bound"),
        capacity_bytes: 50 << 30,
        used_bytes: Some(21 << 30),
        growth_bytes_per_sec: 1.0,
        pod: pod.map(T::new),
    };
    let figures = KubeSnapshot {
        namespace: T::new("shop"),
        statefulsets: vec![RolloutStatus {
            name: T::new("orders-app"),
            replicas: 3,
            ready: 2,
            updated: 1,
            current_revision: T::new("7d9f"),
            update_revision: T::new("5c4b"),
            partition: 2,
            unready: vec![pod],
        }],
        volumes: vec![
            claim("data-orders-db-0", Some("orders-db-0")),
            claim("wal-x", None),
        ],
        snapshots: vec![SnapshotStatus {
            name: T::new("data-orders-db-0-nightly"),
            volume: T::new("data-orders-db-0"),
            state: SnapshotState::Ready,
            created_at: t0,
        }],
    };
    update(&mut m, &k, obs("kube:k8s", Payload::Kube(figures)));
    let storage = StorageSnapshot {
        volumes: vec![VolumeStatus {
            name: T::new("orders"),
            owner: T::new("database"),
            used_bytes: 12 << 30,
            capacity_bytes: 0,
            growth_bytes_per_sec: 0.0,
        }],
        slots: Vec::new(),
        snapshots: Vec::new(),
    };
    update(&mut m, &k, obs("pg:db", Payload::Storage(storage)));
    update(&mut m, &k, Msg::Tick(t0.plus(Duration::from_millis(500))));
    // No plan and an empty Timeline here: the two row panes are Storage and Workload.
    m.push_timeline(t0, ebb::app::TimelineKind::System, T::new("watching"));
    m.plan = PlanOutline::builtin("backfill-slot-fill.toml")
        .unwrap()
        .ok();
    rows_line_up_with_the_drawn_lines(m, &k, &t);
}

#[test]
fn a_filter_is_drawn_sanitized() {
    let (mut m, k, t) = setup();
    m.filters
        .insert(PaneId::Timeline, "\u{1b}]52;c;eA==\u{7}x".into());
    let out = screen(&m, &k, &t);
    assert!(!out.contains('\u{1b}') && !out.contains('\u{7}'), "{out}");
    assert!(out.contains("6 Timeline /"), "{out}");
}

/// The Plan's rows carry the status word the pane draws: `/failed` finds the failed step.
#[test]
fn the_plan_filters_on_the_drawn_status() {
    use ebb::engine::{Direction, EngineEvent, RunView, Status, StepStatus, StepView};
    let (mut m, k, t) = setup();
    let steps = m
        .plan
        .as_ref()
        .unwrap()
        .steps
        .iter()
        .enumerate()
        .map(|(i, s)| StepView {
            id: s.id.as_str().to_string(),
            status: match i {
                0 | 1 => StepStatus::Applied,
                2 => StepStatus::Failed {
                    error: "snapshot timed out".into(),
                    attempts: 1,
                },
                _ => StepStatus::Pending,
            },
            started_at: None,
            finished_at: None,
            stopped_at: None,
            landed: Default::default(),
        })
        .collect();
    let view = RunView {
        run_id: "r-20261124-030000-abcd".into(),
        status: Status::Paused,
        direction: Direction::Forward,
        step_mode: false,
        pause: None,
        held: None,
        progress: None,
        batch: None,
        steps,
        ask: None,
    };
    update(&mut m, &k, Msg::Engine(EngineEvent::View(view)));
    typed(&mut m, &k, "5/failed\n");
    let out = screen(&m, &k, &t);
    assert!(out.contains("5 Plan /failed"), "{out}");
    assert!(
        out.contains("snapshot-primary") && out.contains("FAILED"),
        "{out}"
    );
    assert!(
        !out.contains("pause-backfill") && !out.contains("verify-orders"),
        "{out}"
    );
    typed(&mut m, &k, "y");
    assert!(
        m.clipboard
            .as_deref()
            .unwrap()
            .starts_with("3 snapshot-primary")
    );
}
