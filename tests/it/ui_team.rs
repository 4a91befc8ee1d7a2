//! A console attached to a run a runner drives, on TestBackend: the header lists who is
//! attached and says when the runner is gone or this console only watches; `q` asks first.

use crossterm::event::{KeyCode, KeyModifiers};
use ebb::action::Action;
use ebb::app::{
    Attached, Cmd, EngineRequest, Layer, Model, Msg, Role, RunnerSeen, Team, TeamSeen, on_key,
    update,
};
use ebb::cli::screenshot::model_at;
use ebb::config::keymap::{KeyChord, Keymap};
use ebb::config::theme::Theme;
use ebb::config::{keymap_by_name, theme_by_name};
use ebb::engine::Verb;
use ebb::plan::PlanOutline;
use ebb::sim::world::Scenario;
use ebb::tui::view;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn setup(role: Role) -> (Model, Keymap, Theme) {
    let keymap = keymap_by_name("default").unwrap();
    let theme = theme_by_name("dark").unwrap();
    let scenario = Scenario::load("backfill-slot-fill").unwrap();
    let plan = PlanOutline::builtin("backfill-slot-fill.toml")
        .unwrap()
        .unwrap();
    let mut model = model_at(&scenario, Some(plan), 42, 300, "oncall", &keymap);
    model.team = Some(Team::new(role, "pause"));
    (model, keymap, theme)
}

fn seen(alive: bool) -> TeamSeen {
    TeamSeen {
        consoles: vec![
            Attached {
                operator: "root as \"bob\"".into(),
                host: "bastion-b".into(),
                role: Role::Driver,
                me: false,
            },
            Attached {
                operator: "root as \"alice\"".into(),
                host: "bastion-a".into(),
                role: Role::Driver,
                me: true,
            },
        ],
        runner: Some(RunnerSeen {
            holder: "root@bastion-a:4242".into(),
            alive,
        }),
    }
}

fn screen(m: &Model, k: &Keymap, t: &Theme) -> TestBackend {
    let mut term = Terminal::new(TestBackend::new(160, 48)).unwrap();
    term.draw(|f| view::render(m, k, t, f.area(), f.buffer_mut()))
        .unwrap();
    term.backend().clone()
}

fn header(m: &Model, k: &Keymap, t: &Theme) -> String {
    let b = screen(m, k, t);
    let buf = b.buffer();
    (0..buf.area.width)
        .map(|x| buf[(x, 0)].symbol().to_string())
        .collect()
}

fn press(m: &mut Model, k: &Keymap, c: char) -> Vec<Cmd> {
    on_key(
        m,
        k,
        KeyChord {
            code: KeyCode::Char(c),
            mods: KeyModifiers::NONE,
        },
    )
}

#[test]
fn the_header_lists_who_is_attached_this_console_first() {
    let (mut m, k, t) = setup(Role::Driver);
    update(&mut m, &k, Msg::Team(seen(true)));
    let h = header(&m, &k, &t);
    assert!(
        h.contains(
            "2 attached: root as \"alice\"@bastion-a (driver), root as \"bob\"@bastion-b (driver)"
        ),
        "{h}"
    );
    assert!(!h.contains("RUNNER GONE"), "{h}");
}

#[test]
fn a_gone_runner_is_said_in_the_header() {
    let (mut m, k, t) = setup(Role::Driver);
    update(&mut m, &k, Msg::Team(seen(false)));
    let h = header(&m, &k, &t);
    assert!(h.contains("RUNNER GONE: ebb resume"), "{h}");
    update(&mut m, &k, Msg::Team(seen(true)));
    assert!(!header(&m, &k, &t).contains("RUNNER GONE"));
}

#[test]
fn a_watcher_says_so_and_quits_without_asking() {
    let (mut m, k, t) = setup(Role::Watcher);
    assert!(header(&m, &k, &t).contains("WATCHING"));
    let cmds = press(&mut m, &k, 'q');
    assert_eq!(cmds, vec![Cmd::Quit]);
}

#[test]
fn q_on_a_driven_run_asks_detach_or_pause_and_detach() {
    let (mut m, k, t) = setup(Role::Driver);
    assert!(press(&mut m, &k, 'q').is_empty(), "q only asks");
    assert_eq!(m.layers.last(), Some(&Layer::Leave));
    insta::assert_snapshot!(screen(&m, &k, &t));
    // esc stays.
    on_key(
        &mut m,
        &k,
        KeyChord {
            code: KeyCode::Esc,
            mods: KeyModifiers::NONE,
        },
    );
    assert!(m.layers.is_empty() && !m.quit);
    // d detaches: the console quits, nothing is asked of the run.
    press(&mut m, &k, 'q');
    assert_eq!(press(&mut m, &k, 'd'), vec![Cmd::Quit]);
    // p pauses the run, then detaches.
    let (mut m, k, _) = setup(Role::Driver);
    press(&mut m, &k, 'q');
    let cmds = press(&mut m, &k, 'p');
    assert!(
        matches!(
            &cmds[..],
            [
                Cmd::Engine(EngineRequest::Verb {
                    verb: Verb::Pause,
                    ..
                }),
                Cmd::Quit
            ]
        ),
        "{cmds:?}"
    );
    assert_eq!(Action::RunPauseDetach.name(), "run.pause_detach");
}

#[test]
fn without_a_runner_q_quits_as_before() {
    let (mut m, k, _) = setup(Role::Driver);
    m.team = None;
    assert_eq!(press(&mut m, &k, 'q'), vec![Cmd::Quit]);
}
