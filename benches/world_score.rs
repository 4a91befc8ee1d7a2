//! The cost of scoring a drill's objectives: one world minute (600 sub-steps) of the default
//! scenario with its five objectives against the same world with none, and one `objectives()`.
//! Measured (2 shared cores, other builds running): a world minute 918 µs scored (five
//! objectives) against 872 µs unscored, i.e. ~75 ns of scoring per 100 ms sub-step;
//! `objectives()` 430 ns. Budget: scoring stays under 10 % of a sub-step.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use ebb::sim::world::{Scenario, World};

fn scenario(with_objectives: bool) -> Scenario {
    let mut sc = match Scenario::builtin(Scenario::default_name()) {
        Some(Ok(sc)) => sc,
        _ => panic!("the default scenario"),
    };
    if !with_objectives {
        sc.objectives.clear();
    }
    sc
}

fn bench(c: &mut Criterion) {
    for (name, with) in [
        ("world_minute_scored", true),
        ("world_minute_unscored", false),
    ] {
        let sc = scenario(with);
        let start = World::new(&sc, 1);
        c.bench_function(name, |b| {
            b.iter_batched(
                || start.clone(),
                |mut w| {
                    w.step(Duration::from_secs(60));
                    black_box(w)
                },
                criterion::BatchSize::LargeInput,
            )
        });
    }
    let mut w = World::new(&scenario(true), 1);
    w.step(Duration::from_secs(600));
    c.bench_function("objectives_statuses", |b| {
        b.iter(|| black_box(w.objectives()))
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(Duration::from_secs(5));
    targets = bench
}
criterion_main!(benches);
