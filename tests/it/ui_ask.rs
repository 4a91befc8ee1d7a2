//! An actuator's ask on screen: the Plan pane shows it, the confirm key opens a typed
//! confirm layer for it, and only the asked word goes to the engine as the answer.

use crossterm::event::{KeyCode, KeyModifiers};
use ebb::app::on_key;
use ebb::app::{Cmd, EngineRequest, Layer, Model, Msg, update};
use ebb::cli::screenshot::{SCREENSHOT_EPOCH, model_at};
use ebb::config::keymap::{KeyChord, Keymap};
use ebb::config::theme::Theme;
use ebb::config::{keymap_by_name, theme_by_name};
use ebb::engine::{Ask, Direction, EngineEvent, RunView, Status, StepStatus, StepView};
use ebb::plan::PlanOutline;
use ebb::sim::world::Scenario;
use ebb::time::Timestamp;
use ebb::tui::panes;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

fn setup() -> (Model, Keymap, Theme) {
    let keymap = keymap_by_name("default").unwrap();
    let theme = theme_by_name("dark").unwrap();
    let scenario = Scenario::load("crashloop-new-revision").unwrap();
    let plan = PlanOutline::builtin("crashloop-new-revision.toml")
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

fn press(m: &mut Model, k: &Keymap, code: KeyCode) -> Vec<Cmd> {
    on_key(
        m,
        k,
        KeyChord {
            code,
            mods: KeyModifiers::NONE,
        },
    )
}

fn asking(m: &Model) -> RunView {
    let at = |s: i64| Some(Timestamp(SCREENSHOT_EPOCH.0 + s * 1000));
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
                0 => StepStatus::Running { attempt: 1 },
                _ => StepStatus::Pending,
            },
            started_at: if i == 0 { at(200) } else { None },
            finished_at: None,
            stopped_at: None,
            landed: Default::default(),
        })
        .collect();
    RunView {
        run_id: "r-20261201-001500-k8s1".into(),
        status: Status::Running,
        direction: Direction::Forward,
        step_mode: false,
        pause: None,
        held: None,
        progress: Some(
            "ordinal 2: pod orders-app-2 stuck (CrashLoopBackOff, 6 restarts); type its name to delete it"
                .into(),
        ),
        batch: None,
        steps,
        ask: Some(Ask {
            step: 0,
            what: "delete pod orders-app-2 stuck on revision orders-app-7d9f (CrashLoopBackOff, 6 restarts)"
                .into(),
            word: "orders-app-2".into(),
        }),
    }
}

#[test]
fn the_plan_pane_shows_the_ask_and_how_to_answer_it() {
    let (mut m, k, t) = setup();
    let view = asking(&m);
    update(&mut m, &k, Msg::Engine(EngineEvent::View(view)));
    let area = Rect::new(0, 0, 140, 12);
    let mut buf = Buffer::empty(area);
    panes::plan::render(&m, area, &t, true, &mut buf);
    let out = text(&buf);
    assert!(
        out.contains("ASK delete pod orders-app-2 stuck on revision orders-app-7d9f"),
        "{out}"
    );
    assert!(out.contains("c, then type orders-app-2"), "{out}");
    insta::assert_snapshot!("pane_plan_ask", out);
}

#[test]
fn the_confirm_key_asks_for_the_pod_name_and_only_it_answers() {
    let (mut m, k, _) = setup();
    let view = asking(&m);
    update(&mut m, &k, Msg::Engine(EngineEvent::View(view)));
    assert!(press(&mut m, &k, KeyCode::Char('c')).is_empty());
    assert!(matches!(m.layers.last(), Some(Layer::Confirm { .. })));
    for c in "orders-app-1".chars() {
        press(&mut m, &k, KeyCode::Char(c));
    }
    assert!(
        press(&mut m, &k, KeyCode::Enter).is_empty(),
        "a wrong name is no answer"
    );
    assert!(
        m.flash
            .as_ref()
            .unwrap()
            .1
            .contains("type orders-app-2 exactly")
    );
    assert!(matches!(m.layers.last(), Some(Layer::Confirm { .. })));
    press(&mut m, &k, KeyCode::Esc);
    assert!(m.layers.is_empty());
    press(&mut m, &k, KeyCode::Char('c'));
    for c in "orders-app-2".chars() {
        press(&mut m, &k, KeyCode::Char(c));
    }
    let cmds = press(&mut m, &k, KeyCode::Enter);
    assert_eq!(
        cmds,
        vec![Cmd::Engine(EngineRequest::Answer {
            step: 0,
            typed: "orders-app-2".into(),
            by: m.operator.as_str().to_string(),
        })]
    );
    assert!(m.layers.is_empty());
}

#[test]
fn the_audit_intent_of_the_answer_holds_the_typed_name_and_the_ask() {
    let (mut m, k, _) = setup();
    let view = asking(&m);
    update(&mut m, &k, Msg::Engine(EngineEvent::View(view)));
    press(&mut m, &k, KeyCode::Char('c'));
    for c in "orders-app-2".chars() {
        press(&mut m, &k, KeyCode::Char(c));
    }
    let intent = ebb::app::intent::describe(
        &m,
        ebb::action::Action::ConfirmSubmit,
        &ebb::app::ActionSource::Key("enter".into()),
    );
    assert_eq!(intent.action, "run.confirm");
    assert!(intent.run_control);
    assert_eq!(intent.args["typed_name"], "orders-app-2");
    assert!(
        intent.args["ask"]
            .as_str()
            .unwrap()
            .starts_with("delete pod orders-app-2")
    );
}
