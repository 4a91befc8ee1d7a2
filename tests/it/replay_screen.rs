//! The `ebb replay` screen on ratatui's TestBackend: the recorded screen (drawn by the live
//! console's view) inside the REPLAY banner, scrub bar and replay hints, over a synthetic
//! player made of a seeded drill's models.

use std::time::Duration;

use ebb::action::Action;
use ebb::cli::replay::render_screen;
use ebb::cli::screenshot::{SCREENSHOT_EPOCH, model_at, render_buffer};
use ebb::config::keymap::Keymap;
use ebb::config::theme::Theme;
use ebb::config::{keymap_by_name, theme_by_name};
use ebb::plan::PlanOutline;
use ebb::replay::playback::{Playback, on_key};
use ebb::replay::player::{ConsoleInfo, Frame, Player};
use ebb::sim::world::Scenario;
use ebb::time::Timestamp;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

fn at(secs: u64) -> Timestamp {
    SCREENSHOT_EPOCH.plus(Duration::from_secs(secs))
}

/// Ten minutes of a seeded drill, a frame every 60 s at `size`; the operator resumed at
/// 2:00, paused at 5:00 and rolled back at 7:00.
fn player(size: (u16, u16), keymap: &Keymap) -> Player {
    let scenario = Scenario::load("backfill-slot-fill").unwrap();
    let plan = PlanOutline::builtin("backfill-slot-fill.toml")
        .unwrap()
        .unwrap();
    let frames = (0..=10)
        .map(|i| Frame {
            at: at(i * 60),
            model: model_at(&scenario, Some(plan.clone()), 42, i * 60, "oncall", keymap),
            size,
        })
        .collect();
    let actions = vec![
        (at(120), "run.resume".to_string()),
        (at(300), "run.pause".to_string()),
        (at(420), "run.rollback".to_string()),
    ];
    let console = ConsoleInfo {
        of: 1,
        id: "c-7f3a".into(),
        user: "alice".into(),
        run_id: "r-0042".into(),
    };
    Player::from_frames(console, frames, actions).unwrap()
}

fn playback(p: &Player) -> Playback {
    let actions: Vec<Timestamp> = p.actions().iter().map(|(t, _)| *t).collect();
    Playback::new(p.span(), p.times(), &actions, 4.0)
}

fn setup() -> (Keymap, Theme) {
    (
        keymap_by_name("default").unwrap(),
        theme_by_name("dark").unwrap(),
    )
}

fn screen(p: &mut Player, pb: &Playback, k: &Keymap, t: &Theme, w: u16, h: u16) -> TestBackend {
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    term.draw(|f| render_screen(p, pb, k, t, f.area(), f.buffer_mut()))
        .unwrap();
    term.backend().clone()
}

fn row(buf: &Buffer, y: u16) -> String {
    (0..buf.area.width)
        .map(|x| buf[(x, y)].symbol().to_string())
        .collect()
}

/// At 5:12, paused: the banner, the scrub bar with its three action marks, and the hints.
#[test]
fn replay_screen_160x48() {
    let (k, t) = setup();
    let mut p = player((160, 48), &k);
    let mut pb = playback(&p);
    on_key(&mut pb, Action::ReplayPlayPause);
    pb.seek(at(312));
    let out = screen(&mut p, &pb, &k, &t, 160, 48);
    let buf = out.buffer();
    let banner = row(buf, 0);
    assert!(
        banner.contains(
            "REPLAY · run r-0042 · console c-7f3a (alice) · 03:05:12 UTC · T+05:12 / 10:00 · ‖ paused ×4 · 160×48 clipped to 160×45"
        ),
        "{banner}"
    );
    let bar = row(buf, 46);
    assert_eq!(bar.matches('▲').count(), 3, "{bar}");
    assert_eq!(bar.matches('●').count(), 1, "{bar}");
    // The position (5:12 of 10:00) is past the mark of 5:00 and before the one of 7:00.
    let pos = bar.chars().position(|c| c == '●').unwrap();
    let marks: Vec<usize> = bar
        .chars()
        .enumerate()
        .filter(|(_, c)| *c == '▲')
        .map(|(i, _)| i)
        .collect();
    assert!(marks[1] < pos && pos < marks[2], "{bar}");
    let hints = row(buf, 47);
    assert!(hints.contains(" space  play/pause"), "{hints}");
    assert!(hints.contains(" ← →  step"), "{hints}");
    assert!(hints.contains(" [ ]  action"), "{hints}");
    insta::assert_snapshot!(out);
}

#[test]
fn replay_screen_80x24() {
    let (k, t) = setup();
    let mut p = player((80, 24), &k);
    let mut pb = playback(&p);
    on_key(&mut pb, Action::ReplayNextAction);
    on_key(&mut pb, Action::ReplayNextAction);
    let out = screen(&mut p, &pb, &k, &t, 80, 24);
    let banner = row(out.buffer(), 0);
    // Narrow: the least important parts (console, clock) are left out; the run, the
    // position, the state and the size are kept.
    assert!(banner.contains("REPLAY · run r-0042 ·"), "{banner}");
    assert!(banner.contains("80×24 clipped to 80×21"), "{banner}");
    assert!(!banner.contains("alice"), "{banner}");
    assert!(banner.contains("T+05:00 / 10:00"), "{banner}");
    assert!(banner.contains("▶ ×4"), "{banner}");
    insta::assert_snapshot!(out);
}

/// A recording smaller than the terminal is shown whole, centred, and the banner says so.
#[test]
fn a_smaller_recording_is_centred() {
    let (k, t) = setup();
    let mut p = player((80, 24), &k);
    let mut pb = playback(&p);
    pb.seek(at(300));
    let out = screen(&mut p, &pb, &k, &t, 160, 48);
    let buf = out.buffer();
    assert!(row(buf, 0).contains("80×24 centred"), "{}", row(buf, 0));
    let recorded = render_buffer(p.seek(at(300)), &k, &t, 80, 24);
    let (x0, y0) = ((160 - 80) / 2, 1 + (45 - 24) / 2);
    for y in 0..24 {
        for x in 0..80 {
            assert_eq!(buf[(x0 + x, y0 + y)], recorded[(x, y)], "cell {x},{y}");
        }
    }
}

/// With room for the whole recording, the screen between the bars is, cell for cell, what
/// the live console's view draws for the recorded model.
#[test]
fn the_recorded_screen_is_the_live_view() {
    let (k, t) = setup();
    let mut p = player((160, 48), &k);
    let mut pb = playback(&p);
    pb.seek(at(420));
    let area = Rect::new(0, 0, 160, 51);
    let mut buf = Buffer::empty(area);
    render_screen(&mut p, &pb, &k, &t, area, &mut buf);
    let recorded = render_buffer(p.seek(at(420)), &k, &t, 160, 48);
    for y in 0..48 {
        for x in 0..160 {
            assert_eq!(buf[(x, y + 1)], recorded[(x, y)], "cell {x},{y}");
        }
    }
    assert!(!row(&buf, 0).contains("clipped") && !row(&buf, 0).contains("centred"));
}

#[test]
fn help_shows_the_replay_keys() {
    let (k, t) = setup();
    let mut p = player((160, 48), &k);
    let mut pb = playback(&p);
    on_key(&mut pb, Action::HelpToggle);
    let out = screen(&mut p, &pb, &k, &t, 160, 48);
    let text: String = (0..48).map(|y| row(out.buffer(), y) + "\n").collect();
    assert!(text.contains("Replay (read-only)"), "{text}");
    assert!(text.contains("replay.play_pause"), "{text}");
    assert!(!text.contains("run.rollback"), "{text}");
    on_key(&mut pb, Action::LayerClose);
    let out = screen(&mut p, &pb, &k, &t, 160, 48);
    let text: String = (0..48).map(|y| row(out.buffer(), y) + "\n").collect();
    assert!(!text.contains("Replay (read-only)"), "{text}");
}
