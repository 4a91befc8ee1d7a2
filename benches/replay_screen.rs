//! The replay screen's cost per frame: the recorded model drawn by the live view at its
//! recorded size, copied inside the banner, scrub bar and hints (`render_screen`).
//!
//! Budget: at most 2 ms median for a 160x48 frame in a release build (the live render's
//! 1 ms plus the copy and the chrome), so playing at 30 frames a second stays under 6% of
//! one core. The synthetic player's seek is a lookup; the real player's seek is its own.
//!
//! Measured (2026-12-06, `-- --quick`, 2 shared cores at load ~8): 1.00 ms for 160x48,
//! 0.36 ms for 80x24.
//!
//! Run: `cargo bench --bench replay_screen` (quick check: `-- --quick`).

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

use ebb::cli::replay::render_screen;
use ebb::cli::screenshot::{SCREENSHOT_EPOCH, model_at};
use ebb::config::{keymap_by_name, theme_by_name};
use ebb::plan::PlanOutline;
use ebb::replay::playback::Playback;
use ebb::replay::player::{ConsoleInfo, Frame, Player};
use ebb::sim::world::Scenario;

fn replay_screen(c: &mut Criterion) {
    let theme = theme_by_name("dark").expect("dark theme");
    let keymap = keymap_by_name("default").expect("default keymap");
    let scenario = Scenario::load("backfill-slot-fill").expect("scenario");
    let plan = PlanOutline::builtin("backfill-slot-fill.toml").map(|r| r.expect("plan"));
    let at = |s: u64| SCREENSHOT_EPOCH.plus(Duration::from_secs(s));
    let mut g = c.benchmark_group("replay_screen");
    for (w, h) in [(160u16, 48u16), (80, 24)] {
        let frames = [0, 300, 600]
            .into_iter()
            .map(|s| Frame {
                at: at(s),
                model: model_at(&scenario, plan.clone(), 42, s, "oncall", &keymap),
                size: (w, h),
            })
            .collect();
        let actions = vec![(at(120), "run.resume".to_string())];
        let console = ConsoleInfo {
            of: 1,
            id: "c-1".into(),
            user: "oncall".into(),
            run_id: "r-1".into(),
        };
        let mut player = Player::from_frames(console, frames, actions).expect("player");
        let mut playback = Playback::new(player.span(), player.times(), &[at(120)], 4.0);
        playback.seek(at(300));
        let area = Rect::new(0, 0, w, h);
        g.bench_function(format!("frame_{w}x{h}"), |b| {
            b.iter(|| {
                let mut buf = Buffer::empty(area);
                render_screen(
                    &mut player,
                    black_box(&playback),
                    &keymap,
                    &theme,
                    area,
                    &mut buf,
                );
                buf
            })
        });
    }
    g.finish();
}

criterion_group!(benches, replay_screen);
criterion_main!(benches);
