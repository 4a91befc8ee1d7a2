//! Render and update costs, measured on the same view code the TUI draws with.
//!
//! Budget: a full 160x48 render (`render_buffer`, fresh buffer included) takes at most 1 ms
//! median in a release build. The loop draws at most 30 frames a second, so that keeps
//! drawing under 3% of one core even when every frame is dirty.
//!
//! A `/`-filtered Timeline holding its cap of 500 entries stays within the same budget.
//!
//! Run: `cargo bench --bench render` (quick check: `-- --quick`).

use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};

use ebb::app::{Msg, update};
use ebb::cli::screenshot::{SCREENSHOT_EPOCH, model_at, render_buffer};
use ebb::config::{keymap_by_name, theme_by_name};
use ebb::plan::PlanOutline;
use ebb::sim::world::Scenario;
use ebb::sources::{
    Observation, Payload, ReplicaState, ReplicaStatus, ReplicationSnapshot, SourceId,
};
use ebb::text::DisplayText;

/// World seconds replayed before rendering: the middle of the incident.
const AT: u64 = 300;

/// The drill's default scenario and the plan it names, as `ebb drill` shows them.
fn scenario_and_plan() -> (Scenario, Option<PlanOutline>) {
    let scenario = Scenario::load("backfill-slot-fill").expect("scenario");
    let plan = scenario
        .plan
        .as_deref()
        .and_then(PlanOutline::builtin)
        .map(|r| r.expect("the scenario's plan"));
    (scenario, plan)
}

fn render(c: &mut Criterion) {
    let theme = theme_by_name("dark").expect("dark theme");
    let keymap = keymap_by_name("default").expect("default keymap");
    let (scenario, plan) = scenario_and_plan();
    let model = model_at(&scenario, plan, 42, AT, "oncall", &keymap);

    let mut g = c.benchmark_group("render");
    for (w, h) in [(160u16, 48u16), (80, 24)] {
        g.bench_function(format!("full_{w}x{h}_at_{AT}s"), |b| {
            b.iter(|| render_buffer(black_box(&model), &keymap, &theme, w, h))
        });
    }
    g.finish();
}

/// A replication reading like the sim sends every second.
fn replication_observation(seconds: u64) -> Observation {
    let replica = |name: &str, lag_ms: Option<u64>, state| ReplicaStatus {
        name: DisplayText::new(name),
        state,
        time_lag: lag_ms.map(Duration::from_millis),
        byte_lag: lag_ms.unwrap_or(0) * 48_000,
        replay_paused: false,
    };
    Observation {
        source: SourceId("sim:db".into()),
        at: SCREENSHOT_EPOCH.plus(Duration::from_secs(seconds)),
        interval: Duration::from_secs(1),
        payload: Payload::Replication(ReplicationSnapshot {
            primary: DisplayText::new("orders-0"),
            wal_bytes_per_sec: 48e6,
            replicas: vec![
                replica("orders-1", Some(120), ReplicaState::Streaming),
                replica("orders-2", Some(95_000), ReplicaState::Catchup),
                replica("orders-analytics", None, ReplicaState::Stalled),
            ],
        }),
    }
}

fn update_observation(c: &mut Criterion) {
    let keymap = keymap_by_name("default").expect("default keymap");
    let (scenario, plan) = scenario_and_plan();
    let model = model_at(&scenario, plan, 42, AT, "oncall", &keymap);
    let obs = replication_observation(AT + 1);
    c.bench_function("update/observation_replication", |b| {
        b.iter_batched(
            || (model.clone(), obs.clone()),
            |(mut m, o)| {
                update(&mut m, &keymap, Msg::Observation(o));
                m
            },
            BatchSize::SmallInput,
        )
    });
}

/// The Timeline full (500 entries), focused and filtered with `/lag`: the rows are matched
/// on every frame, so this is the filter's whole cost.
fn render_filtered(c: &mut Criterion) {
    use crossterm::event::{KeyCode, KeyModifiers};
    use ebb::app::{PaneId, TimelineKind, on_key};
    use ebb::config::keymap::KeyChord;
    let theme = theme_by_name("dark").expect("dark theme");
    let keymap = keymap_by_name("default").expect("default keymap");
    let (scenario, plan) = scenario_and_plan();
    let mut model = model_at(&scenario, plan, 42, AT, "oncall", &keymap);
    for i in 0..500u64 {
        let text = if i % 10 == 0 {
            format!("replica-1 lag {i}s over the gate")
        } else {
            format!("step {i} applied in {i}ms")
        };
        model.push_timeline(
            SCREENSHOT_EPOCH.plus(Duration::from_secs(i)),
            TimelineKind::System,
            DisplayText::new(&text),
        );
    }
    model.focus = PaneId::Timeline;
    for c in "/lag".chars().map(KeyCode::Char).chain([KeyCode::Enter]) {
        let _ = on_key(
            &mut model,
            &keymap,
            KeyChord {
                code: c,
                mods: KeyModifiers::NONE,
            },
        );
    }
    c.bench_function("render/timeline_500_filtered_160x48", |b| {
        b.iter(|| render_buffer(black_box(&model), &keymap, &theme, 160, 48))
    });
}

criterion_group!(benches, render, update_observation, render_filtered);
criterion_main!(benches);
