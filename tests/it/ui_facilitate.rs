//! A facilitator's console on TestBackend: the drill box (clock, hidden sources, objectives,
//! faults) and the fault menu, narrowed by typed words; what enter sends.

use crossterm::event::{KeyCode, KeyModifiers};
use ebb::app::facilitate::Facilitator;
use ebb::app::{Cmd, Figure, Model, Msg, Role, Team, on_key, update};
use ebb::cli::screenshot::model_at;
use ebb::config::keymap::{KeyChord, Keymap};
use ebb::config::theme::Theme;
use ebb::config::{keymap_by_name, theme_by_name};
use ebb::plan::PlanOutline;
use ebb::sim::facilitate::{DrillSeen, FacilitatorRequest, menu};
use ebb::sim::world::live::{FaultState, FaultView};
use ebb::sim::world::{ObjectiveState, ObjectiveStatus, OutageSource, Scenario, WorldControl};
use ebb::sources::SourceId;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn setup() -> (Model, Keymap, Theme) {
    let keymap = keymap_by_name("default").unwrap();
    let theme = theme_by_name("dark").unwrap();
    let scenario = Scenario::load("backfill-slot-fill").unwrap();
    let plan = PlanOutline::builtin("backfill-slot-fill.toml")
        .unwrap()
        .unwrap();
    let mut model = model_at(&scenario, Some(plan), 42, 300, "fran", &keymap);
    model.team = Some(Team::new(Role::Facilitator, "pause"));
    model.facilitator = Some(Facilitator {
        menu: menu(&scenario),
        seen: DrillSeen::default(),
    });
    let now = model.now;
    update(
        &mut model,
        &keymap,
        Msg::Drill(DrillSeen {
            speed: 4.0,
            frozen: false,
            faults: vec![
                FaultView {
                    index: 0,
                    text: "replica-2: network degraded to 6.00 MiB/s".into(),
                    at_ms: 150_000,
                    until_ms: Some(270_000),
                    state: FaultState::Ended,
                    live: false,
                },
                FaultView {
                    index: 1,
                    text: "replica-1: WAL replay stalled".into(),
                    at_ms: 240_000,
                    until_ms: None,
                    state: FaultState::Active,
                    live: true,
                },
                FaultView {
                    index: 2,
                    text: "pgdata-orders-db-0: 10.0 GiB written outside the database".into(),
                    at_ms: 600_000,
                    until_ms: Some(900_000),
                    state: FaultState::Scheduled,
                    live: true,
                },
            ],
            hidden: vec![OutageSource::App],
        }),
    );
    model.objectives = Some(Figure {
        value: vec![
            ObjectiveStatus {
                name: "paused-before-90".into(),
                kind: "paused_before".into(),
                description: "backfill paused before pgdata-orders-db-0 reaches 90%".into(),
                state: ObjectiveState::Met {
                    at_ms: 201_000,
                    detail: "paused at 71.2%".into(),
                },
                fin: false,
            },
            ObjectiveStatus {
                name: "first-action".into(),
                kind: "time_to_first_action".into(),
                description: "first action within 3m".into(),
                state: ObjectiveState::Missed {
                    at_ms: 180_000,
                    detail: "nobody acted within 3m00s".into(),
                },
                fin: false,
            },
            ObjectiveStatus {
                name: "no-data-loss".into(),
                kind: "no_data_loss".into(),
                description: "checksums equal at the end".into(),
                state: ObjectiveState::Pending,
                fin: false,
            },
        ],
        source: SourceId("sim:score".into()),
        at: now,
        interval: std::time::Duration::from_secs(1),
    });
    (model, keymap, theme)
}

fn screen(m: &Model, k: &Keymap, t: &Theme) -> String {
    let mut term = Terminal::new(TestBackend::new(160, 48)).unwrap();
    term.draw(|f| ebb::tui::view::render(m, k, t, f.area(), f.buffer_mut()))
        .unwrap();
    let buf = term.backend().buffer().clone();
    (0..buf.area.height)
        .map(|y| {
            (0..buf.area.width)
                .map(|x| buf[(x, y)].symbol().to_string())
                .collect::<String>()
                .trim_end()
                .to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn key(m: &mut Model, k: &Keymap, code: KeyCode) -> Vec<Cmd> {
    on_key(
        m,
        k,
        KeyChord {
            code,
            mods: KeyModifiers::NONE,
        },
    )
}

fn typed(m: &mut Model, k: &Keymap, text: &str) {
    for c in text.chars() {
        key(m, k, KeyCode::Char(c));
    }
}

#[test]
fn the_facilitators_console_shows_the_drill_box() {
    let (m, k, t) = setup();
    let s = screen(&m, &k, &t);
    assert!(s.contains("Drill · facilitator"), "{s}");
    assert!(s.contains("hidden from consoles: sim:app"), "{s}");
    assert!(s.contains("paused-before-90"), "{s}");
    assert!(
        s.contains("#1 replica-1: WAL replay stalled (injected)"),
        "{s}"
    );
    assert!(
        !s.contains("#0 replica-2"),
        "an ended fault leaves the list:\n{s}"
    );
    insta::assert_snapshot!("facilitator_console", s);
}

#[test]
fn the_menu_narrows_and_enter_sends_the_timed_fault() {
    let (mut m, k, t) = setup();
    key(&mut m, &k, KeyCode::Char('I'));
    typed(&mut m, &k, "fill orders-db-0 10 @12m for 5m");
    let s = screen(&m, &k, &t);
    insta::assert_snapshot!("facilitator_menu", s);
    let cmds = key(&mut m, &k, KeyCode::Enter);
    let [
        Cmd::Facilitate(FacilitatorRequest::World {
            control: WorldControl::InjectFault(spec),
        }),
    ] = cmds.as_slice()
    else {
        panic!("{cmds:?}")
    };
    assert_eq!(spec.at.as_secs(), 720);
    assert_eq!(spec.duration.map(|d| d.as_secs()), Some(300));
    assert!(m.layers.is_empty(), "the menu closes");
}

#[test]
fn the_menu_offers_showing_a_hidden_source_and_ending_faults_in_force() {
    let (mut m, k, _) = setup();
    key(&mut m, &k, KeyCode::Char('I'));
    typed(&mut m, &k, "show sim:app");
    let cmds = key(&mut m, &k, KeyCode::Enter);
    assert_eq!(
        cmds,
        vec![Cmd::Facilitate(FacilitatorRequest::World {
            control: WorldControl::HideSource {
                source: OutageSource::App,
                hidden: false
            }
        })]
    );
    key(&mut m, &k, KeyCode::Char('I'));
    typed(&mut m, &k, "cancel");
    let cmds = key(&mut m, &k, KeyCode::Enter);
    assert_eq!(
        cmds,
        vec![Cmd::Facilitate(FacilitatorRequest::World {
            control: WorldControl::EndFault { index: 2 }
        })]
    );
}

#[test]
fn a_participant_has_no_menu() {
    let (mut m, k, _) = setup();
    m.facilitator = None;
    m.team = Some(Team::new(Role::Driver, "pause"));
    let cmds = key(&mut m, &k, KeyCode::Char('I'));
    assert!(cmds.is_empty());
    assert!(m.layers.is_empty());
    assert!(
        m.flash
            .as_ref()
            .is_some_and(|(_, f)| f.contains("only a facilitator's console")),
        "{:?}",
        m.flash
    );
}

#[test]
fn small_terminals_keep_the_drill_box_without_breaking() {
    let (mut m, k, t) = setup();
    for (w, h) in [(70, 20), (80, 24), (100, 30), (200, 60)] {
        let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
        term.draw(|f| ebb::tui::view::render(&m, &k, &t, f.area(), f.buffer_mut()))
            .unwrap();
        let buf = term.backend().buffer().clone();
        let text: String = buf.content().iter().map(|c| c.symbol()).collect();
        assert!(text.contains("Drill"), "{w}x{h}");
    }
    // And with the menu open.
    key(&mut m, &k, KeyCode::Char('I'));
    let mut term = Terminal::new(TestBackend::new(70, 20)).unwrap();
    term.draw(|f| ebb::tui::view::render(&m, &k, &t, f.area(), f.buffer_mut()))
        .unwrap();
}
