//! The drill's Prometheus on the built-in scenario: the real plan's queries answer with
//! plausible figures, unsupported ones and outages are inconclusive, and seeds are repeatable.

use std::sync::{Arc, Mutex};

use super::*;
use crate::diag::SourceFile;
use crate::plan::{CompareOp, Plan, StepKind};
use crate::sim::series::{SCRAPE_INTERVAL, names};
use crate::sim::world::Scenario;

const PLAN: &str = include_str!("../../../examples/plans/orders-backfill-postgres.toml");
const SCENARIO: &str = include_str!("../../../examples/scenarios/backfill-slot-fill.toml");

fn world_with(extra: &str, seed: u64, secs: u64) -> World {
    let text = format!("{SCENARIO}\n{extra}");
    let sc = Scenario::parse(&SourceFile::new("backfill-slot-fill.toml", text))
        .unwrap_or_else(|e| panic!("{e}"));
    let mut w = World::new(&sc, seed);
    for _ in 0..secs {
        w.step(Duration::from_secs(1));
    }
    w
}

fn shared(w: World) -> SharedWorld {
    Arc::new(Mutex::new(w))
}

fn eval(world: &SharedWorld, kind: &CheckKind) -> CheckOutcome {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(evaluate(world, "prom", kind))
}

/// The `promql` check of the real plan's `verify-orders` step.
fn plan_promql() -> CheckKind {
    let plan = Plan::parse(&SourceFile::new("orders-backfill-postgres.toml", PLAN))
        .unwrap_or_else(|e| panic!("{e:?}"));
    plan.steps
        .iter()
        .find_map(|s| match &s.kind {
            StepKind::Verify { checks } => checks
                .iter()
                .find(|c| matches!(c.kind, CheckKind::Promql { .. }))
                .map(|c| c.kind.clone()),
            _ => None,
        })
        .expect("the plan has a promql check")
}

fn value(w: &World, query: &str) -> f64 {
    let got = promql::instant(w.series(), query, w.now_secs()).unwrap();
    assert_eq!(got.len(), 1, "{query}: {got:?}");
    got[0].value
}

#[test]
fn the_real_plans_queries_answer_from_the_world_with_plausible_figures() {
    let w = world_with("", 7, 60);
    let CheckKind::Promql { query, .. } = plan_promql() else {
        unreachable!()
    };
    // The scenario's app fails ~0.2% of requests before anything goes wrong.
    let error_ratio = value(&w, &query);
    assert!((0.001..0.004).contains(&error_ratio), "{error_ratio}");
    let requests = value(&w, "sum(rate(orders_api_requests_total[5m]))");
    assert!(
        (requests - 4.0 * 50.0).abs() < 1e-6,
        "4 Ready pods at 50/s: {requests}"
    );
    // The conventional form, as the statefulset rollback plan asks it, agrees.
    let http = value(
        &w,
        r#"sum(rate(http_requests_total{app="orders-app",code=~"5.."}[5m])) / sum(rate(http_requests_total{app="orders-app"}[5m]))"#,
    );
    assert!((http - error_ratio).abs() < 1e-9, "{http} vs {error_ratio}");
    // The volume the backfill fills: 70% at the start, a little more a minute later.
    let used = value(&w, &real::volume_usage_query("pgdata-orders-db-0"));
    assert!((0.70..0.72).contains(&used), "{used}");
    // replica-1 cannot keep up (8 MiB/s for ~21 MiB/s of WAL); replica-2 can.
    let lag1 = value(&w, r#"pg_replication_lag{instance="replica-1"}"#);
    let lag2 = value(&w, r#"pg_replication_lag{instance="replica-2"}"#);
    assert!(lag1 > 20.0 && lag1 < 60.0, "{lag1}");
    assert!(lag2 < 5.0, "{lag2}");
    assert_eq!(
        value(&w, "max(pg_replication_lag)"),
        lag1,
        "max by picks the lagging one"
    );
}

#[test]
fn the_real_checks_judge_the_drill_series() {
    let world = shared(world_with("", 7, 60));
    // The plan's `for = "2m"` window: the seeded history covers it from world time 0.
    assert_eq!(eval(&world, &plan_promql()), CheckOutcome::Pass);
    let CheckKind::Promql { query, .. } = plan_promql() else {
        unreachable!()
    };
    let strict = CheckKind::Promql {
        query,
        op: CompareOp::Lt,
        threshold: 0.0001,
        for_: Some(Duration::from_secs(120)),
    };
    assert!(
        matches!(eval(&world, &strict), CheckOutcome::Fail(m) if m.contains("broken for the whole 2m")),
    );
    let volume = |max| CheckKind::VolumeUsage {
        volume: "pgdata-orders-db-0".into(),
        max,
    };
    assert_eq!(eval(&world, &volume(0.9)), CheckOutcome::Pass);
    assert!(matches!(
        eval(&world, &volume(0.5)),
        CheckOutcome::Fail(m) if m.starts_with("volume pgdata-orders-db-0 is 70.")
    ));
    assert!(matches!(
        eval(&world, &CheckKind::VolumeUsage { volume: "nope".into(), max: 0.9 }),
        CheckOutcome::Inconclusive(m) if m.contains("no kubelet volume stats for nope")
    ));
    // As on a real server: error_rate needs the query that defines errors.
    assert!(matches!(
        eval(&world, &CheckKind::ErrorRate { max: 0.02 }),
        CheckOutcome::Inconclusive(m) if m.contains("use a `promql` check")
    ));
}

#[test]
fn a_query_outside_the_subset_is_inconclusive_and_says_so() {
    let world = shared(world_with("", 7, 10));
    let kind = |query: &str| CheckKind::Promql {
        query: query.into(),
        op: CompareOp::Lt,
        threshold: 1.0,
        for_: None,
    };
    assert_eq!(
        eval(&world, &kind("histogram_quantile(0.99, x)")),
        CheckOutcome::Inconclusive(
            "the drill world does not evaluate `histogram_quantile(0.99, x)`: the function \
             `histogram_quantile` is outside the drill's PromQL subset; the facilitator decides"
                .into()
        )
    );
    assert!(matches!(
        eval(&world, &kind("sum(")),
        CheckOutcome::Inconclusive(m) if m.contains("bad_data") && m.contains("parse error")
    ));
    assert!(matches!(
        eval(&world, &kind("no_such_metric")),
        CheckOutcome::Inconclusive(m) if m.contains("returned no data")
    ));
}

#[test]
fn an_app_source_outage_is_a_prometheus_that_does_not_answer() {
    let outage =
        "[[fault]]\nat = \"20s\"\nkind = \"source_outage\"\nsource = \"app\"\nduration = \"30s\"\n";
    let world = shared(world_with(outage, 7, 30));
    assert!(matches!(
        eval(&world, &plan_promql()),
        CheckOutcome::Inconclusive(m) if m.contains("cannot connect") && m.contains("sim:app is down")
    ));
    let mut w = world.lock().unwrap().clone();
    for _ in 0..40 {
        w.step(Duration::from_secs(1));
    }
    // Back after 50 s, with a gap where it was down.
    let (_, samples) = w.series().named(names::VOLUME_USED).next().unwrap();
    let gap = samples
        .iter()
        .zip(samples.iter().skip(1))
        .map(|(a, b)| b.0 - a.0)
        .fold(0.0, f64::max);
    assert!((30.0..=30.0 + SCRAPE_INTERVAL).contains(&gap), "{gap}");
    assert_eq!(eval(&shared(w), &plan_promql()), CheckOutcome::Pass);
}

#[test]
fn same_seed_same_series_and_counters_only_grow() {
    let a = world_with("", 11, 120);
    let b = world_with("", 11, 120);
    assert_eq!(a.series(), b.series());
    let c = world_with("", 12, 120);
    assert_ne!(
        a.series(),
        c.series(),
        "the error rate's jitter follows the seed"
    );
    let mut counters = 0;
    for (key, samples) in a.series().iter() {
        if key.name.ends_with("_total") {
            counters += 1;
            assert!(
                samples
                    .iter()
                    .zip(samples.iter().skip(1))
                    .all(|(x, y)| y.1 >= x.1),
                "{key:?}"
            );
        }
        // One sample per scrape, from the seeded history on.
        assert!(samples.front().unwrap().0 <= -299.0, "{key:?}");
        assert_eq!(samples.back().unwrap().0, 120.0, "{key:?}");
    }
    assert_eq!(
        counters, 16,
        "requests and errors for 4 pods, and as http codes 200/500"
    );
}

#[test]
fn the_metric_prefix_defaults_to_the_statefulset_and_only_ready_pods_serve() {
    let text = SCENARIO.replace("metrics = \"orders_api\"", "");
    let crash = "[[fault]]\nat = \"10s\"\nkind = \"crashloop\"\npod = 0\n";
    let sc = Scenario::parse(&SourceFile::new("t.toml", format!("{text}\n{crash}")))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(sc.app.metrics, "orders_app");
    let mut w = World::new(&sc, 3);
    w.step(Duration::from_secs(90));
    assert_eq!(w.series().named("orders_api_requests_total").count(), 0);
    let per_pod = |pod: &str| {
        value(
            &w,
            &format!("rate(orders_app_requests_total{{pod=\"{pod}\"}}[1m])"),
        )
    };
    assert_eq!(per_pod("orders-app-0"), 0.0, "crashlooping since 10 s");
    assert!((per_pod("orders-app-1") - 50.0).abs() < 1e-9);
}
