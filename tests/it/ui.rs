//! Rendering snapshots on ratatui's TestBackend: every pane, whole screens at 160x48,
//! 80x24 and below the minimum size, and whole-app flows driven by injected keys.

use std::time::Duration;

use crossterm::event::{KeyCode, KeyModifiers};
use ebb::app::on_key;
use ebb::app::{Model, Msg, PaneId, update};
use ebb::cli::screenshot::{SCREENSHOT_EPOCH, model_at, render_buffer};
use ebb::config::keymap::{KeyChord, Keymap};
use ebb::config::theme::Theme;
use ebb::config::{keymap_by_name, theme_by_name};
use ebb::plan::PlanOutline;
use ebb::sim::world::Scenario;
use ebb::tui::{panes, view};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

fn setup(at: u64) -> (Model, Keymap, Theme) {
    let keymap = keymap_by_name("default").unwrap();
    let theme = theme_by_name("dark").unwrap();
    let scenario = Scenario::load("backfill-slot-fill").unwrap();
    let plan = PlanOutline::builtin("backfill-slot-fill.toml")
        .unwrap()
        .unwrap();
    let model = model_at(&scenario, Some(plan), 42, at, "oncall", &keymap);
    (model, keymap, theme)
}

fn screen(model: &Model, keymap: &Keymap, theme: &Theme, w: u16, h: u16) -> TestBackend {
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    term.draw(|f| view::render(model, keymap, theme, f.area(), f.buffer_mut()))
        .unwrap();
    term.backend().clone()
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

fn key(model: &mut Model, keymap: &Keymap, code: KeyCode) {
    on_key(
        model,
        keymap,
        KeyChord {
            code,
            mods: KeyModifiers::NONE,
        },
    );
}

fn ch(model: &mut Model, keymap: &Keymap, c: char) {
    key(model, keymap, KeyCode::Char(c));
}

#[test]
fn whole_screen_160x48() {
    let (m, k, t) = setup(300);
    insta::assert_snapshot!(screen(&m, &k, &t, 160, 48));
}

#[test]
fn whole_screen_80x24() {
    let (m, k, t) = setup(300);
    insta::assert_snapshot!(screen(&m, &k, &t, 80, 24));
}

#[test]
fn below_minimum_size() {
    let (m, k, t) = setup(300);
    let out = screen(&m, &k, &t, 60, 15);
    insta::assert_snapshot!(out);
    assert!(text(out.buffer()).contains("ebb needs a larger terminal"));
}

#[test]
fn first_second_already_shows_figures() {
    let (m, k, t) = setup(1);
    let out = text(&render_buffer(&m, &k, &t, 160, 48));
    assert!(!out.contains("waiting for"), "{out}");
}

#[test]
fn each_pane() {
    let (m, _, t) = setup(600);
    for pane in PaneId::ALL {
        let area = Rect::new(0, 0, 100, 14);
        let mut buf = Buffer::empty(area);
        let focused = pane == PaneId::Replication;
        match pane {
            PaneId::Migration => panes::migration::render(&m, area, &t, focused, &mut buf),
            PaneId::Replication => panes::replication::render(&m, area, &t, focused, &mut buf),
            PaneId::Storage => panes::storage::render(&m, area, &t, focused, &mut buf),
            PaneId::Workload => panes::workload::render(&m, area, &t, focused, &mut buf),
            PaneId::Plan => panes::plan::render(&m, area, &t, focused, &mut buf),
            PaneId::Timeline => panes::timeline::render(&m, area, &t, focused, &mut buf),
        }
        insta::assert_snapshot!(format!("pane_{}", pane.title().to_lowercase()), text(&buf));
    }
}

#[test]
fn stale_figures_show_their_age() {
    let (mut m, k, t) = setup(300);
    let later = SCREENSHOT_EPOCH.plus(Duration::from_secs(300 + 15));
    update(&mut m, &k, Msg::Tick(later));
    let out = text(&render_buffer(&m, &k, &t, 160, 48));
    assert!(out.contains("STALE · 15s old"), "{out}");
    insta::assert_snapshot!(out);
}

#[test]
fn keys_focus_zoom_help_palette() {
    let (mut m, k, t) = setup(300);
    assert_eq!(m.focus, PaneId::Migration);
    key(&mut m, &k, KeyCode::Tab);
    assert_eq!(m.focus, PaneId::Replication);
    ch(&mut m, &k, 'z');
    assert_eq!(m.zoom, Some(PaneId::Replication));
    insta::assert_snapshot!(
        "zoomed_replication",
        text(&render_buffer(&m, &k, &t, 120, 30))
    );
    ch(&mut m, &k, 'z');
    assert_eq!(m.zoom, None);

    ch(&mut m, &k, '?');
    let out = text(&render_buffer(&m, &k, &t, 160, 48));
    assert!(out.contains("Keys · keymap default"), "{out}");
    insta::assert_snapshot!("help_overlay", out);
    key(&mut m, &k, KeyCode::Esc);
    assert!(m.layers.is_empty());

    ch(&mut m, &k, ':');
    for c in "freeze".chars() {
        ch(&mut m, &k, c);
    }
    insta::assert_snapshot!("palette_freeze", text(&render_buffer(&m, &k, &t, 160, 48)));
    key(&mut m, &k, KeyCode::Enter);
    assert!(m.layers.is_empty());
    assert!(m.drill.as_ref().unwrap().frozen);
    assert!(
        m.timeline
            .front()
            .unwrap()
            .text
            .as_str()
            .contains("drill.freeze")
    );
}

#[test]
fn pending_chord_shows_its_continuations() {
    let (mut m, k, t) = setup(300);
    ch(&mut m, &k, 'g');
    assert_eq!(m.pending.len(), 1);
    let out = text(&render_buffer(&m, &k, &t, 160, 48));
    let hint = out.lines().last().unwrap();
    assert!(hint.contains("g …"), "{hint}");
    assert!(hint.contains("cancel"), "{hint}");
    key(&mut m, &k, KeyCode::Esc);
    assert!(m.pending.is_empty());
}

#[test]
fn scrolling_stops_at_the_last_row() {
    let (mut m, k, _) = setup(900);
    ch(&mut m, &k, '6');
    assert_eq!(m.focus, PaneId::Timeline);
    for _ in 0..10_000 {
        key(&mut m, &k, KeyCode::Down);
    }
    assert_eq!(m.scroll_of(PaneId::Timeline), m.timeline.len() - 1);
    key(&mut m, &k, KeyCode::Home);
    assert_eq!(m.scroll_of(PaneId::Timeline), 0);
}

#[test]
fn dangerous_verbs_ask_for_a_reason_then_reach_the_engine() {
    use ebb::app::{Cmd, EngineRequest};
    use ebb::engine::Verb;
    let (mut m, k, t) = setup(300);
    ch(&mut m, &k, 'A');
    assert_eq!(m.mode(), ebb::config::keymap::Mode::Confirm);
    insta::assert_snapshot!("confirm_abort", text(&render_buffer(&m, &k, &t, 160, 48)));
    // Enter with no reason is refused and the layer stays.
    let cmds = on_key(
        &mut m,
        &k,
        KeyChord {
            code: KeyCode::Enter,
            mods: KeyModifiers::NONE,
        },
    );
    assert!(cmds.is_empty());
    assert_eq!(m.mode(), ebb::config::keymap::Mode::Confirm);
    for c in "wrong release".chars() {
        ch(&mut m, &k, c);
    }
    // The reason is kept; now the plan's name must be typed out.
    key(&mut m, &k, KeyCode::Enter);
    assert_eq!(m.mode(), ebb::config::keymap::Mode::Confirm);
    insta::assert_snapshot!(
        "confirm_abort_name",
        text(&render_buffer(&m, &k, &t, 160, 48))
    );
    for c in "orders-0042".chars() {
        ch(&mut m, &k, c);
    }
    key(&mut m, &k, KeyCode::Enter);
    assert_eq!(
        m.mode(),
        ebb::config::keymap::Mode::Confirm,
        "a wrong name does not confirm"
    );
    for c in "-rollback".chars() {
        ch(&mut m, &k, c);
    }
    let cmds = on_key(
        &mut m,
        &k,
        KeyChord {
            code: KeyCode::Enter,
            mods: KeyModifiers::NONE,
        },
    );
    assert_eq!(
        cmds,
        vec![Cmd::Engine(EngineRequest::Verb {
            verb: Verb::Abort {
                reason: "wrong release".into()
            },
            by: "oncall".into()
        })]
    );
    assert!(
        m.timeline
            .front()
            .unwrap()
            .text
            .as_str()
            .contains("run.abort: wrong release")
    );
    // Pause needs no reason.
    let cmds = on_key(
        &mut m,
        &k,
        KeyChord {
            code: KeyCode::Char('p'),
            mods: KeyModifiers::NONE,
        },
    );
    assert_eq!(
        cmds,
        vec![Cmd::Engine(EngineRequest::Verb {
            verb: Verb::Pause,
            by: "oncall".into()
        })]
    );
}

/// The loaded plan's step ids, and a view of each as pending.
fn pending_steps(m: &Model) -> (Vec<String>, Vec<ebb::engine::StepView>) {
    let ids: Vec<String> = m
        .plan
        .as_ref()
        .unwrap()
        .steps
        .iter()
        .map(|s| s.id.as_str().to_string())
        .collect();
    let steps = ids
        .iter()
        .map(|id| ebb::engine::StepView {
            id: id.clone(),
            status: ebb::engine::StepStatus::Pending,
            started_at: None,
            finished_at: None,
            stopped_at: None,
            landed: Default::default(),
        })
        .collect();
    (ids, steps)
}

#[test]
fn live_plan_pane_shows_the_run() {
    use ebb::engine::{Direction, EngineEvent, PauseReason, RunView, Status, StepStatus, StepView};
    use ebb::time::Timestamp;
    let (mut m, k, t) = setup(300);
    let at = |s: i64| Some(Timestamp(SCREENSHOT_EPOCH.0 + s * 1000));
    let (_, mut steps) = pending_steps(&m);
    steps[0] = StepView {
        status: StepStatus::Applied,
        started_at: at(200),
        finished_at: at(201),
        ..steps[0].clone()
    };
    steps[1] = StepView {
        status: StepStatus::Applied,
        started_at: at(201),
        finished_at: at(260),
        ..steps[1].clone()
    };
    steps[2] = StepView {
        status: StepStatus::Running { attempt: 1 },
        started_at: at(260),
        finished_at: None,
        ..steps[2].clone()
    };
    let view = RunView {
        run_id: "r-20261124-030000-abcd".into(),
        status: Status::Pausing,
        direction: Direction::Forward,
        step_mode: true,
        pause: Some(PauseReason {
            text: "paused".into(),
            by: "alice".into(),
        }),
        held: None,
        progress: Some("snapshot of pgdata-orders-db-0 pending".into()),
        batch: None,
        steps,
        ask: None,
    };
    update(&mut m, &k, Msg::Engine(EngineEvent::View(view)));
    let area = Rect::new(0, 0, 100, 14);
    let mut buf = Buffer::empty(area);
    panes::plan::render(&m, area, &t, true, &mut buf);
    let out = text(&buf);
    assert!(out.contains("pausing (at the next safe point)"), "{out}");
    assert!(out.contains("step mode"), "{out}");
    assert!(out.contains("running 40s"), "{out}");
    insta::assert_snapshot!("pane_plan_live", out);
    let screen = text(&render_buffer(&m, &k, &t, 160, 48));
    assert!(
        screen
            .lines()
            .next()
            .unwrap()
            .contains("run: pausing · STEP"),
        "{screen}"
    );
}

#[test]
fn plan_pane_shows_what_of_a_stopped_or_failed_step_landed() {
    use ebb::engine::{
        Direction, EngineEvent, Landed, PauseReason, RunView, Status, StepStatus, StepView,
    };
    use ebb::time::Timestamp;
    let (mut m, k, t) = setup(300);
    let at = |s: i64| Some(Timestamp(SCREENSHOT_EPOCH.0 + s * 1000));
    let (_, mut steps) = pending_steps(&m);
    steps[0] = StepView {
        status: StepStatus::Applied,
        started_at: at(200),
        finished_at: at(201),
        landed: Landed::Whole,
        ..steps[0].clone()
    };
    steps[1] = StepView {
        status: StepStatus::Unchecked {
            why: "postcheck inconclusive".into(),
        },
        started_at: at(201),
        finished_at: at(230),
        stopped_at: Some("its postcheck".into()),
        landed: Landed::Unchecked("postcheck inconclusive".into()),
        ..steps[1].clone()
    };
    steps[2] = StepView {
        status: StepStatus::Partial {
            done: "86 batches applied".into(),
        },
        started_at: at(230),
        finished_at: at(290),
        stopped_at: Some("batch 86".into()),
        landed: Landed::Part("86 batches applied".into()),
        ..steps[2].clone()
    };
    steps[3] = StepView {
        status: StepStatus::Failed {
            error: "batch [4000, 5000): deadlock".into(),
            attempts: 1,
        },
        started_at: at(290),
        finished_at: at(295),
        landed: Landed::Part("40 batches applied".into()),
        ..steps[3].clone()
    };
    let view = RunView {
        run_id: "r-20261124-030000-abcd".into(),
        status: Status::Paused,
        direction: Direction::Forward,
        step_mode: false,
        pause: Some(PauseReason {
            text: "inconclusive: postcheck of s2: promql on metrics: connection refused".into(),
            by: "engine".into(),
        }),
        held: None,
        progress: None,
        batch: None,
        steps,
        ask: None,
    };
    update(&mut m, &k, Msg::Engine(EngineEvent::View(view)));
    let area = Rect::new(0, 0, 120, 14);
    let mut buf = Buffer::empty(area);
    panes::plan::render(&m, area, &t, true, &mut buf);
    let out = text(&buf);
    assert!(out.contains("◐"), "{out}");
    assert!(out.contains("applied, postcheck inconclusive"), "{out}");
    assert!(out.contains("partial: 86 batches applied"), "{out}");
    assert!(out.contains("partial: 40 batches applied"), "{out}");
    insta::assert_snapshot!("pane_plan_partial", out);
}

#[test]
fn notes_are_typed_in_an_editor_and_come_out_as_a_command() {
    use ebb::app::Cmd;
    let (mut m, k, t) = setup(300);
    ch(&mut m, &k, 'm');
    assert_eq!(m.mode(), ebb::config::keymap::Mode::Note);
    for c in "replica-1 lag is from the backfill".chars() {
        ch(&mut m, &k, c);
    }
    key(&mut m, &k, KeyCode::Enter);
    for c in "pausing it first".chars() {
        ch(&mut m, &k, c);
    }
    insta::assert_snapshot!("note_editor", text(&render_buffer(&m, &k, &t, 160, 48)));
    let intent = ebb::app::intent::describe(
        &m,
        ebb::action::Action::NoteSave,
        &ebb::app::ActionSource::Key("ctrl-s".into()),
    );
    assert_eq!(
        intent.args["text"],
        "replica-1 lag is from the backfill\npausing it first"
    );
    let cmds = on_key(
        &mut m,
        &k,
        KeyChord {
            code: KeyCode::Char('s'),
            mods: KeyModifiers::CONTROL,
        },
    );
    assert_eq!(
        cmds,
        vec![Cmd::Note(
            "replica-1 lag is from the backfill\npausing it first".into()
        )]
    );
    assert!(m.layers.is_empty());
    assert!(
        m.timeline
            .front()
            .unwrap()
            .text
            .as_str()
            .contains("note: replica-1 lag is from the backfill …")
    );
}

#[tokio::test]
async fn run_control_fails_closed_when_the_audit_log_cannot_be_written() {
    use ebb::action::Action;
    use ebb::app::ActionSource;
    use ebb::control::{Delivery, Recorder, dispatch_recorded};
    let (mut m, k, t) = setup(300);
    let mut rec = Recorder::new(Err("disk full".into()), None);
    let cmds = dispatch_recorded(
        &mut m,
        &mut rec,
        &Delivery::Local,
        Action::RunPause,
        ActionSource::Key("p".into()),
    )
    .await;
    assert!(cmds.is_empty(), "run control refused");
    let flash = &m.flash.as_ref().unwrap().1;
    assert!(
        flash.contains("run.pause refused") && flash.contains("disk full"),
        "{flash}"
    );
    // Viewing keeps working.
    dispatch_recorded(
        &mut m,
        &mut rec,
        &Delivery::Local,
        Action::Zoom,
        ActionSource::Key("z".into()),
    )
    .await;
    assert_eq!(m.zoom, Some(PaneId::Migration));
    let screen = text(&render_buffer(&m, &k, &t, 160, 48));
    assert!(
        screen.lines().next().unwrap().contains("AUDIT DOWN"),
        "{screen}"
    );
}

#[test]
fn a_database_size_without_capacity_is_not_shown_as_full() {
    use ebb::sources::{Observation, Payload, SourceId, StorageSnapshot, VolumeStatus};
    use ebb::text::DisplayText;
    let (mut m, k, t) = setup(300);
    let obs = Observation {
        source: SourceId("pg:orders".into()),
        at: m.now,
        interval: Duration::from_secs(2),
        payload: Payload::Storage(StorageSnapshot {
            volumes: vec![VolumeStatus {
                name: DisplayText::new("orders"),
                owner: DisplayText::new("database"),
                used_bytes: 5 << 30,
                capacity_bytes: 0,
                growth_bytes_per_sec: 1e6,
            }],
            slots: vec![],
            snapshots: vec![],
        }),
    };
    update(&mut m, &k, Msg::Observation(obs));
    let area = Rect::new(0, 0, 100, 6);
    let mut buf = Buffer::empty(area);
    panes::storage::render(&m, area, &t, false, &mut buf);
    let out = text(&buf);
    assert!(out.contains("capacity unknown"), "{out}");
    assert!(!out.contains("FULL"), "{out}");
    assert!(out.contains("5.00 GiB"), "{out}");
}

#[test]
fn a_batched_step_in_flight_shows_in_the_migration_pane_and_leaves_it() {
    use ebb::engine::{BatchFigures, Direction, EngineEvent, RunView, Status};
    let (mut m, k, t) = setup(300);
    let view = |batch: Option<(String, BatchFigures)>| RunView {
        run_id: "r-20261201-000000-abcd".into(),
        status: Status::Running,
        direction: Direction::Forward,
        step_mode: false,
        pause: None,
        held: None,
        progress: None,
        batch,
        steps: Vec::new(),
        ask: None,
    };
    let figures = |holding: Option<&str>| BatchFigures {
        rows_done: 250_000,
        rows_total: 1_000_000,
        rows_per_sec: 50_000.0,
        batch_size: 5000,
        holding: holding.map(str::to_string),
    };
    let pane = |m: &ebb::app::Model| {
        let area = Rect::new(0, 0, 100, 12);
        let mut buf = Buffer::empty(area);
        panes::migration::render(m, area, &t, false, &mut buf);
        text(&buf)
    };
    update(
        &mut m,
        &k,
        Msg::Engine(EngineEvent::View(view(Some((
            "backfill-region".into(),
            figures(None),
        ))))),
    );
    let out = pane(&m);
    assert!(out.contains("step backfill-region"), "{out}");
    assert!(out.contains("25.0%") && out.contains("ETA 15s"), "{out}");
    update(
        &mut m,
        &k,
        Msg::Engine(EngineEvent::View(view(Some((
            "backfill-region".into(),
            figures(Some("standby1 lags 3.1s (max 2s)")),
        ))))),
    );
    let out = pane(&m);
    assert!(out.contains("standby1 lags 3.1s (max 2s)"), "{out}");
    update(&mut m, &k, Msg::Engine(EngineEvent::View(view(None))));
    assert!(!pane(&m).contains("step backfill-region"));
}

#[test]
fn batch_size_keys_reach_the_engine_only_while_a_batched_step_runs() {
    use ebb::app::{Cmd, EngineRequest};
    use ebb::engine::{BatchFigures, Direction, EngineEvent, RunView, Status};
    let (mut m, k, _) = setup(300);
    let press = |m: &mut Model, c: char| {
        on_key(
            m,
            &k,
            KeyChord {
                code: KeyCode::Char(c),
                mods: KeyModifiers::NONE,
            },
        )
    };
    press(&mut m, 'b');
    assert!(press(&mut m, '-').is_empty(), "nothing batched is running");
    assert!(m.flash.as_ref().unwrap().1.contains("no batched step"));
    let figures = BatchFigures {
        rows_done: 10,
        rows_total: 100,
        rows_per_sec: 1.0,
        batch_size: 10,
        holding: None,
    };
    let view = RunView {
        run_id: "r-1".into(),
        status: Status::Running,
        direction: Direction::Forward,
        step_mode: false,
        pause: None,
        held: None,
        progress: None,
        batch: Some(("backfill".into(), figures)),
        steps: Vec::new(),
        ask: None,
    };
    update(&mut m, &k, Msg::Engine(EngineEvent::View(view)));
    press(&mut m, 'b');
    let cmds = press(&mut m, '-');
    assert_eq!(
        cmds,
        vec![Cmd::Engine(EngineRequest::BatchSize {
            larger: false,
            by: m.operator.as_str().to_string()
        })]
    );
    press(&mut m, 'b');
    let cmds = press(&mut m, '+');
    assert!(
        matches!(
            &cmds[..],
            [Cmd::Engine(EngineRequest::BatchSize { larger: true, .. })]
        ),
        "{cmds:?}"
    );
}

#[test]
fn an_interrupted_step_shows_where_it_stopped() {
    use ebb::engine::{Direction, EngineEvent, PauseReason, RunView, Status};
    use ebb::time::Timestamp;
    let (mut m, k, t) = setup(300);
    let at = |s: i64| Some(Timestamp(SCREENSHOT_EPOCH.0 + s * 1000));
    let (ids, mut steps) = pending_steps(&m);
    steps[0].started_at = at(200);
    steps[0].finished_at = at(230);
    steps[0].stopped_at = Some("batch 72".into());
    let view = RunView {
        run_id: "r-20261201-000000-abcd".into(),
        status: Status::Paused,
        direction: Direction::Forward,
        step_mode: false,
        pause: Some(PauseReason {
            text: "paused".into(),
            by: "alice".into(),
        }),
        held: None,
        progress: None,
        batch: None,
        steps,
        ask: None,
    };
    update(&mut m, &k, Msg::Engine(EngineEvent::View(view)));
    let area = Rect::new(0, 0, 120, 14);
    let mut buf = Buffer::empty(area);
    panes::plan::render(&m, area, &t, true, &mut buf);
    let out = text(&buf);
    let line = out
        .lines()
        .find(|l| l.contains(&ids[0]))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(line.contains("◐") && line.contains("stopped 30s"), "{line}");
    assert!(
        line.contains("at batch 72; r continues from there"),
        "{line}"
    );
}
