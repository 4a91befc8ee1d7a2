//! The drill's PromQL: each gate query of the shipped plans evaluated on the simulated series
//! of the built-in scenario after 15 world minutes. Budget (issue 12): ≤ 1 ms per gate.
//! Measured (2 shared cores, other builds running): instant queries 0.6–74 µs (the regex
//! matcher's compile dominates), range queries over a 2m/5m `for` window 81/202 µs, the
//! whole drill check (lock, range query, judge) 73 µs.

use std::hint::black_box;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use ebb::backends::prometheus::check::{step_for, volume_usage_query};
use ebb::plan::{CheckKind, CompareOp};
use ebb::sim::world::{Scenario, World};
use ebb::sim::{prom, promql};

/// The `promql` check of examples/plans/orders-backfill-postgres.toml.
const ERROR_RATIO: &str =
    "sum(rate(orders_api_errors_total[5m])) / sum(rate(orders_api_requests_total[5m]))";
/// The `promql` check of examples/plans/orders-app-statefulset-rollback.toml.
const HTTP_5XX: &str = "sum(rate(http_requests_total{app=\"orders-app\",code=~\"5..\"}[1m])) \
                        / sum(rate(http_requests_total{app=\"orders-app\"}[1m]))";
const MAX_LAG: &str = "max(pg_replication_lag)";

fn world() -> World {
    let sc = match Scenario::builtin(Scenario::default_name()) {
        Some(Ok(sc)) => sc,
        _ => panic!("the default scenario"),
    };
    let mut w = World::new(&sc, 1);
    for _ in 0..15 * 60 {
        w.step(Duration::from_secs(1));
    }
    w
}

fn bench(c: &mut Criterion) {
    let w = world();
    let (store, now) = (w.series(), w.now_secs());
    let volume = volume_usage_query("pgdata-orders-db-0");
    let mut g = c.benchmark_group("promql gate");
    for (name, q) in [
        ("error ratio", ERROR_RATIO),
        ("http 5xx ratio", HTTP_5XX),
        ("max lag", MAX_LAG),
        ("volume usage", volume.as_str()),
    ] {
        g.bench_function(format!("instant {name}"), |b| {
            b.iter(|| promql::instant(black_box(store), black_box(q), now))
        });
    }
    for (name, q, window) in [
        ("error ratio for 2m", ERROR_RATIO, 120),
        ("http 5xx ratio for 5m", HTTP_5XX, 300),
    ] {
        let window = Duration::from_secs(window);
        let step = step_for(window).as_secs_f64();
        let start = now - window.as_secs_f64();
        g.bench_function(format!("range {name}"), |b| {
            b.iter(|| promql::range(black_box(store), black_box(q), start, now, step))
        });
    }
    // The whole check as a drill runs it: lock, range query, judge.
    let shared = Arc::new(Mutex::new(w.clone()));
    let check = CheckKind::Promql {
        query: ERROR_RATIO.to_string(),
        op: CompareOp::Lt,
        threshold: 0.01,
        for_: Some(Duration::from_secs(120)),
    };
    g.bench_function("check error ratio for 2m", |b| {
        b.iter(|| futures::executor::block_on(prom::evaluate(&shared, "prom", black_box(&check))))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
