//! Replay costs: a seek anywhere in a one-hour console recording, and what a recording
//! costs the store per second.
//!
//! Budgets: a seek (model at T, then its frame drawn at 160x48) anywhere in a one-hour
//! recording shows its frame in at most 100 ms; a console records at most 2 KB/s of
//! compressed store writes averaged over a busy drill. The recording here is synthetic but
//! built like a console's: a seeded drill's observations at 1/s with their ticks, a view
//! key every 20 s (the key and the door's effect), and a frame digest every second.
//! The bytes per second of this recording are printed once (`recorded bytes per second`).
//!
//! Run: `cargo bench --bench replay` (quick check: `-- --quick`).

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use rand::{Rng, SeedableRng};

use ebb::action::Action;
use ebb::app::{ActionSource, Dispatched, DoorEffect, Msg};
use ebb::cli::drill::{SIM_INTERVAL, drill_model};
use ebb::cli::screenshot::SCREENSHOT_EPOCH;
use ebb::config::keymap::KeyChord;
use ebb::config::{keymap_by_name, theme_by_name};
use ebb::plan::PlanOutline;
use ebb::replay::Player;
use ebb::replay::entry::{Entry, compress, encode_line};
use ebb::sim::world::{Scenario, World};
use ebb::time::Timestamp;
use ebb::tui::replayed::render_at;

const HOUR: u64 = 3_600;

fn one_hour() -> Vec<(Timestamp, Entry)> {
    let scenario = Scenario::load("backfill-slot-fill").expect("scenario");
    let plan = scenario
        .plan
        .as_deref()
        .and_then(PlanOutline::builtin)
        .map(|r| r.expect("the scenario's plan"));
    let model = drill_model(&scenario, plan, "oncall", 42, 1.0, SCREENSHOT_EPOCH);
    let mut world = World::new(&scenario, 42);
    let mut out = vec![(
        SCREENSHOT_EPOCH,
        Entry::Start {
            model: Box::new(model),
            width: 160,
            height: 48,
            keymap: "default".into(),
        },
    )];
    let tab = KeyChord::parse("tab").expect("tab");
    let obs = ebb::sim::source::replay(&mut world, SCREENSHOT_EPOCH, HOUR, SIM_INTERVAL);
    let mut last_second = -1;
    for o in obs {
        let t = o.at;
        let second = (t.0 - SCREENSHOT_EPOCH.0) / 1000;
        out.push((t, Entry::Msg(Msg::Observation(o))));
        if second != last_second {
            last_second = second;
            out.push((t, Entry::Msg(Msg::Tick(t))));
            if second % 20 == 0 {
                out.push((t, Entry::Key(tab)));
                out.push((
                    t,
                    Entry::Msg(Msg::Door(DoorEffect::Dispatched(Dispatched {
                        action: Action::FocusNext,
                        source: ActionSource::Key("tab".into()),
                    }))),
                ));
            }
            out.push((
                t,
                Entry::Frame {
                    digest: format!("sha256:{:064x}", second),
                },
            ));
        }
    }
    out
}

fn seek(c: &mut Criterion) {
    let entries = one_hour();
    let mut lines = Vec::new();
    for (at, e) in &entries {
        encode_line(&mut lines, *at, e).expect("encode");
    }
    let packed = compress(&lines);
    println!(
        "one-hour recording: {} entries, {} bytes of JSON, {} compressed: recorded bytes per second {:.0}",
        entries.len(),
        lines.len(),
        packed.len(),
        packed.len() as f64 / HOUR as f64
    );
    let keymap = keymap_by_name("default").expect("keymap");
    let theme = theme_by_name("dark").expect("theme");
    let start = entries[0].0;
    let load = std::time::Instant::now();
    let mut player = Player::from_entries(entries, keymap.clone()).expect("player");
    println!("loading (folding) one hour: {:?}", load.elapsed());
    let end = player.span().1;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);

    let mut g = c.benchmark_group("replay");
    g.measurement_time(Duration::from_secs(5));
    g.bench_function("seek_and_draw_anywhere_in_1h_160x48", |b| {
        b.iter(|| {
            let t = Timestamp(rng.random_range(start.0..=end.0));
            black_box(render_at(&mut player, t, &keymap, &theme))
        })
    });
    g.bench_function("seek_anywhere_in_1h_model_only", |b| {
        b.iter(|| {
            let t = Timestamp(rng.random_range(start.0..=end.0));
            black_box(player.seek(t).now)
        })
    });
    g.finish();
}

criterion_group!(benches, seek);
criterion_main!(benches);
