//! Starting a fresh run on real targets asks first: `r` (or `s`) opens a layer naming the
//! plan and its targets, enter starts the run, esc cancels. Drills keep `r` as one key.

use crossterm::event::{KeyCode, KeyModifiers};
use ebb::app::on_key;
use ebb::app::{Cmd, EngineRequest, Layer, Model, Msg, update};
use ebb::config::keymap::{KeyChord, Keymap};
use ebb::config::{keymap_by_name, theme_by_name};
use ebb::engine::Verb;
use ebb::plan::PlanOutline;
use ebb::text::DisplayText;
use ebb::time::Timestamp;
use ebb::tui::view;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

fn real_model() -> (Model, Keymap) {
    let keymap = keymap_by_name("default").unwrap();
    let plan = PlanOutline::load(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/postgres/backfill-region.toml"
    )))
    .unwrap();
    let mut m = Model::new(
        DisplayText::new("run: backfill-region"),
        DisplayText::new("oncall"),
        Timestamp(1_700_000_000_000),
    );
    m.plan = Some(plan);
    m.runnable = true;
    (m, keymap)
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

fn verbs(cmds: &[Cmd]) -> Vec<Verb> {
    cmds.iter()
        .filter_map(|c| match c {
            Cmd::Engine(EngineRequest::Verb { verb, .. }) => Some(verb.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn r_on_a_fresh_real_run_asks_and_enter_starts_it() {
    let (mut m, k) = real_model();
    let cmds = press(&mut m, &k, KeyCode::Char('r'));
    assert!(
        verbs(&cmds).is_empty(),
        "nothing is sent before the go-ahead"
    );
    assert!(matches!(m.layers.last(), Some(Layer::Confirm { .. })));
    // A paste in the layer is only text: it never starts the run.
    update(&mut m, &k, Msg::Paste("\r\n".into()));
    assert_eq!(m.layers.len(), 1);
    let cmds = press(&mut m, &k, KeyCode::Enter);
    assert_eq!(verbs(&cmds), vec![Verb::Run]);
    assert!(m.layers.is_empty());
}

#[test]
fn s_on_a_fresh_real_run_asks_too_and_esc_cancels() {
    let (mut m, k) = real_model();
    assert!(verbs(&press(&mut m, &k, KeyCode::Char('s'))).is_empty());
    assert!(verbs(&press(&mut m, &k, KeyCode::Esc)).is_empty());
    assert!(m.layers.is_empty());
    assert!(verbs(&press(&mut m, &k, KeyCode::Char('s'))).is_empty());
    assert_eq!(verbs(&press(&mut m, &k, KeyCode::Enter)), vec![Verb::Step]);
}

#[test]
fn a_drill_keeps_r_as_one_key() {
    let (mut m, k) = real_model();
    m.drill = Some(ebb::app::DrillState {
        scenario: DisplayText::new("backfill-slot-fill"),
        title: DisplayText::new("drill"),
        speed: 1.0,
        frozen: false,
    });
    assert_eq!(
        verbs(&press(&mut m, &k, KeyCode::Char('r'))),
        vec![Verb::Run]
    );
    assert!(m.layers.is_empty());
}

#[test]
fn the_go_ahead_layer_names_the_plan_and_its_targets() {
    let (mut m, k) = real_model();
    let theme = theme_by_name("dark").unwrap();
    press(&mut m, &k, KeyCode::Char('r'));
    let area = Rect::new(0, 0, 100, 30);
    let mut buf = Buffer::empty(area);
    view::render(&m, &k, &theme, area, &mut buf);
    let mut s = String::new();
    for y in 0..area.height {
        for x in 0..area.width {
            s.push_str(buf[(x, y)].symbol());
        }
        s.push('\n');
    }
    assert!(s.contains("Start the run on real targets?"), "{s}");
    insta::assert_snapshot!(s);
}
