//! `ebb report` of a one-hour drill.
//!
//! Budget (issue 15): a report of a 1-hour run is written in ≤ 1 s. Measured three ways:
//! `gather+render`: from a SQLite store holding the run, its journal and 3600 published
//! observation batches (a runner-hosted drill), to Markdown + SVGs and HTML in memory;
//! `resimulate+render`: a headless drill with nothing stored, the world re-simulated for an
//! hour of world time; `render`: assembling and writing alone.

use std::time::Duration;

use criterion::{Criterion, criterion_group};
use ebb::report::clock::Clock;
use ebb::report::{self, Inputs, ReportData, resim};
use ebb::runner::bus::Published;
use ebb::sim::world::Scenario;
use ebb::sources::Observation;
use ebb::store::{JournalEntry, JournalRecord, NewRun, RunRow, Store};
use ebb::time::Timestamp;

const START: i64 = 1_795_489_200_000;
const HOUR: u64 = 3600;
const PLAN: &str = include_str!("../examples/plans/backfill-slot-fill.toml");

fn run_row() -> RunRow {
    RunRow {
        id: "r-bench".into(),
        plan_name: "orders-0042-rollback".into(),
        plan_digest: "sha256:bench".into(),
        plan_path: "examples/plans/backfill-slot-fill.toml".into(),
        plan_source: PLAN.into(),
        scenario: Some("backfill-slot-fill".into()),
        seed: Some(7),
        state: "rolled_back".into(),
        created_at: START,
        updated_at: START + HOUR as i64 * 1000,
        operator: "alice".into(),
        kube_context: None,
        kube_namespace: None,
    }
}

/// An hour of the world, observed every second.
fn hour_of_observations() -> Vec<Observation> {
    let scenario = Scenario::load("backfill-slot-fill").expect("scenario");
    resim::simulate(&scenario, 7, Vec::new(), Timestamp(START), HOUR, true)
}

/// A journal of two steps started and applied every two minutes, a pause every ten.
fn journal() -> Vec<JournalEntry> {
    let mut out = Vec::new();
    for i in 0..30_i64 {
        let at = START + i * 120_000;
        let step = (i % 8) as usize;
        out.push(JournalEntry {
            kind: "step.intent".into(),
            step_id: None,
            idempotency_key: Some(format!("k{i}#1")),
            data: serde_json::json!({"kind": "intent", "step": step, "attempt": 1, "key": format!("k{i}")}),
            at,
        });
        out.push(JournalEntry {
            kind: "step.applied".into(),
            step_id: None,
            idempotency_key: None,
            data: serde_json::json!({"kind": "applied", "step": step}),
            at: at + 30_000,
        });
        if i % 5 == 0 {
            out.push(JournalEntry {
                kind: "run.held".into(),
                step_id: None,
                idempotency_key: None,
                data: serde_json::json!({"kind": "held", "reason": "gate failed", "by": "engine"}),
                at: at + 60_000,
            });
        }
    }
    out
}

fn render(d: &ReportData) -> usize {
    let md = report::md::write(d, None);
    let files = report::md::chart_files(d, "r");
    let html = report::html::write(d);
    md.len() + html.len() + files.iter().map(|f| f.1.len()).sum::<usize>()
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("report_1h");
    g.sample_size(10).measurement_time(Duration::from_secs(20));

    // From a store, as `ebb report` reads a runner-hosted drill.
    let dir = tempfile::tempdir().expect("temp dir");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let path = dir.path().join("bench.db");
    let store = rt
        .block_on(Store::open(path.to_str().expect("utf-8 path")))
        .expect("store");
    let row = run_row();
    rt.block_on(async {
        store
            .create_run(&NewRun {
                id: row.id.clone(),
                plan_name: row.plan_name.clone(),
                plan_digest: row.plan_digest.clone(),
                plan_path: row.plan_path.clone(),
                plan_source: row.plan_source.clone(),
                scenario: row.scenario.clone(),
                seed: row.seed,
                operator: row.operator.clone(),
                kube_context: None,
                kube_namespace: None,
                at: START,
            })
            .await
            .expect("run");
        for e in journal() {
            store.append(&row.id, &e).await.expect("journal");
        }
        let obs = hour_of_observations();
        let mut batch: Vec<Observation> = Vec::new();
        for o in obs {
            if batch.first().is_some_and(|b| b.at != o.at) {
                let at = batch[0].at.0;
                let body =
                    serde_json::to_value(Published::Observations(std::mem::take(&mut batch)))
                        .expect("encode");
                store
                    .push_run_event(&row.id, at, &body)
                    .await
                    .expect("event");
            }
            batch.push(o);
        }
        store
            .set_run_state(&row.id, "rolled_back", row.updated_at)
            .await
            .expect("state");
    });
    g.bench_function("gather+render", |b| {
        b.iter(|| {
            let d = rt
                .block_on(report::gather(&store, "r-bench"))
                .expect("gather");
            assert!(!d.charts[0].series.is_empty());
            render(&d)
        })
    });

    // A headless drill: nothing stored, an hour re-simulated.
    let records: Vec<JournalRecord> = rt.block_on(store.journal("r-bench")).expect("journal");
    g.bench_function("resimulate+render", |b| {
        b.iter(|| {
            let until = Timestamp(START + HOUR as i64 * 1000);
            let r = resim::resimulate(&row, &records, until)
                .expect("resimulate")
                .expect("a drill");
            let d = report::assemble(Inputs {
                run: row.clone(),
                journal: records.clone(),
                audit: Vec::new(),
                observations: r.observations,
                clock: r.clock,
                notes: Vec::new(),
            });
            render(&d)
        })
    });

    let obs = hour_of_observations();
    g.bench_function("render", |b| {
        b.iter(|| {
            let d = report::assemble(Inputs {
                run: row.clone(),
                journal: records.clone(),
                audit: Vec::new(),
                observations: obs.clone(),
                clock: Clock::Wall {
                    start: Timestamp(START),
                },
                notes: Vec::new(),
            });
            render(&d)
        })
    });
    g.finish();
}

criterion_group!(benches, bench);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
