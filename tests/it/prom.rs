//! Prometheus targets against a real Prometheus scraping real postgres_exporters on a real
//! primary and standby: PromQL gates close while lag is induced and open when it clears.

use std::time::{Duration, Instant};

use ebb::backends::prometheus::check::evaluate;
use ebb::backends::prometheus::client::PromClient;
use ebb::backends::prometheus::source::{PromTarget, spawn};
use ebb::engine::CheckOutcome;
use ebb::plan::{CheckKind, CompareOp};
use ebb::sources::{Observation, Payload};
use sqlx::Connection;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::support::headless::{Headless, ebb as ebb_cmd, status_is};
use crate::support::pg::PgCluster;
use crate::support::prom::{PromStack, StaticMetrics, dsn};

/// Seconds of standby lag above which the gates of these tests close.
const MAX_LAG: f64 = 4.0;
const LAG_QUERY: &str = "max(pg_replication_lag)";
/// Generous: the machine may be loaded; nothing here is timed, only waited for.
const DEADLINE: Duration = Duration::from_secs(120);

const KUBELET: &str = "kubelet_volume_stats_used_bytes{namespace=\"shop\",persistentvolumeclaim=\"data-orders-0\"} 50\n\
kubelet_volume_stats_capacity_bytes{namespace=\"shop\",persistentvolumeclaim=\"data-orders-0\"} 100\n";

/// A primary with a streaming standby, an exporter on each, Prometheus scraping both
/// (and `extra`), and a writer committing on the primary every 200 ms so that the
/// standby's lag (time since its last replayed commit) stays small while it replays.
struct Lab {
    pg: PgCluster,
    prom: PromStack,
    writer: JoinHandle<()>,
}

impl Lab {
    async fn start(extra: &[String]) -> Lab {
        let pg = PgCluster::start_with_standby();
        pg.execute(
            "postgres",
            "CREATE TABLE ticks (at timestamptz DEFAULT now())",
        )
        .await;
        let prom = PromStack::start(
            &[
                dsn(&pg.primary_url("postgres")),
                dsn(&pg.standby_url("postgres")),
            ],
            extra,
        );
        let url = pg.primary_url("postgres");
        let writer = tokio::spawn(async move {
            loop {
                if let Ok(mut c) = sqlx::PgConnection::connect(&url).await {
                    while sqlx::query("INSERT INTO ticks DEFAULT VALUES")
                        .execute(&mut c)
                        .await
                        .is_ok()
                    {
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        });
        Lab { pg, prom, writer }
    }

    fn client(&self) -> PromClient {
        PromClient::new(&self.prom.url(), Duration::from_secs(10)).unwrap()
    }

    async fn replay(&self, on: bool) {
        let mut c = self.pg.connect(&self.pg.standby_url("postgres")).await;
        let sql = if on {
            "SELECT pg_wal_replay_resume()"
        } else {
            "SELECT pg_wal_replay_pause()"
        };
        sqlx::query(sql).execute(&mut c).await.unwrap();
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        self.writer.abort();
    }
}

fn lag_check(for_: Option<Duration>) -> CheckKind {
    CheckKind::Promql {
        query: LAG_QUERY.to_string(),
        op: CompareOp::Lt,
        threshold: MAX_LAG,
        for_,
    }
}

/// Evaluates `kind` until `want` says yes; panics with the last outcome at the deadline.
async fn until(
    client: &PromClient,
    kind: &CheckKind,
    what: &str,
    want: impl Fn(&CheckOutcome) -> bool,
) -> CheckOutcome {
    let start = Instant::now();
    loop {
        let got = evaluate(client, "metrics", kind).await;
        if want(&got) {
            return got;
        }
        assert!(start.elapsed() < DEADLINE, "never {what}; last: {got:?}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn is_fail(o: &CheckOutcome) -> bool {
    matches!(o, CheckOutcome::Fail(_))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_promql_gate_closes_while_lag_is_induced_and_opens_when_it_clears() {
    let lab = Lab::start(&[]).await;
    let client = lab.client();
    let gate = lag_check(None);
    until(&client, &gate, "open before any lag", |o| {
        *o == CheckOutcome::Pass
    })
    .await;
    lab.replay(false).await;
    let closed = until(&client, &gate, "closed while replay is paused", is_fail).await;
    let CheckOutcome::Fail(why) = closed else {
        unreachable!()
    };
    assert!(why.contains("expected < 4"), "{why}");
    lab.replay(true).await;
    until(&client, &gate, "open once the standby caught up", |o| {
        *o == CheckOutcome::Pass
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_for_window_ignores_a_short_blip_and_fails_a_breach_that_lasts() {
    let lab = Lab::start(&[]).await;
    let client = lab.client();
    let window = Duration::from_secs(30);
    let instant = lag_check(None);
    let held = lag_check(Some(window));
    until(&client, &instant, "open before any lag", |o| {
        *o == CheckOutcome::Pass
    })
    .await;
    lab.replay(false).await;
    // The blip: the instant gate has closed, the one with `for` has not, because the lag
    // was below the threshold earlier in its window.
    until(&client, &instant, "the instant gate closed", is_fail).await;
    let during_blip = evaluate(&client, "metrics", &held).await;
    let low = client
        .query("min_over_time(max(pg_replication_lag)[30s:1s])")
        .await
        .unwrap();
    assert!(
        low.first().is_some_and(|s| s.value < MAX_LAG),
        "the window holds good points: {low:?}"
    );
    assert_eq!(during_blip, CheckOutcome::Pass, "a blip shorter than `for`");
    // Kept up for longer than the window: now it fails, saying so.
    let broken = until(&client, &held, "the `for` gate closed", is_fail).await;
    let CheckOutcome::Fail(why) = broken else {
        unreachable!()
    };
    assert!(why.contains("for the whole 30s"), "{why}");
    lab.replay(true).await;
    until(&client, &held, "the `for` gate open again", |o| {
        *o == CheckOutcome::Pass
    })
    .await;
}

#[tokio::test]
async fn an_unreachable_or_silent_prometheus_is_inconclusive_naming_the_target() {
    // Nothing listens on a port we bound and released.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let down = PromClient::new(
        &format!("http://ebb:hunter2@127.0.0.1:{port}"),
        Duration::from_secs(2),
    )
    .unwrap();
    for kind in [lag_check(None), lag_check(Some(Duration::from_secs(30)))] {
        let CheckOutcome::Inconclusive(why) = evaluate(&down, "metrics", &kind).await else {
            panic!("a server that is down is inconclusive");
        };
        assert!(why.starts_with("metrics: "), "{why}");
        assert!(why.contains("cannot connect"), "{why}");
        assert!(!why.contains("hunter2"), "{why}");
    }
    // A server that accepts and never answers: the timeout, not a hang.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = silent.local_addr().unwrap();
    let keep = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = silent.accept().await {
            held.push(s);
        }
    });
    let slow = PromClient::new(&format!("http://{addr}"), Duration::from_millis(500)).unwrap();
    let CheckOutcome::Inconclusive(why) = evaluate(&slow, "metrics", &lag_check(None)).await else {
        panic!("a silent server is inconclusive");
    };
    assert!(why.contains("no answer within 0.5s"), "{why}");
    let error_rate = CheckKind::ErrorRate { max: 0.01 };
    let CheckOutcome::Inconclusive(why) = evaluate(&slow, "metrics", &error_rate).await else {
        panic!("error_rate has no query on a prometheus target");
    };
    assert!(why.contains("use a `promql` check"), "{why}");
    keep.abort();
}

/// The next observation with a payload `f` accepts (60 s at most).
async fn next_matching(
    rx: &mut mpsc::Receiver<Observation>,
    what: &str,
    f: impl Fn(&Payload) -> bool,
) -> Observation {
    let start = Instant::now();
    loop {
        let left = DEADLINE.saturating_sub(start.elapsed());
        match tokio::time::timeout(left, rx.recv()).await {
            Ok(Some(o)) if f(&o.payload) => return o,
            Ok(Some(_)) => {}
            _ => panic!("never saw {what}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_prom_source_sends_lag_and_volumes_then_an_error_when_prometheus_is_down() {
    let kubelet = StaticMetrics::start(KUBELET);
    let mut lab = Lab::start(&[kubelet.address()]).await;
    lab.prom
        .wait_for("kubelet_volume_stats_used_bytes", Duration::from_secs(60));
    let client = lab.client();

    // volume_usage on the same figures, and Prometheus's own error for bad PromQL.
    let usage = |max| CheckKind::VolumeUsage {
        volume: "shop/data-orders-0".into(),
        max,
    };
    assert_eq!(
        evaluate(&client, "metrics", &usage(0.9)).await,
        CheckOutcome::Pass
    );
    let CheckOutcome::Fail(why) = evaluate(&client, "metrics", &usage(0.4)).await else {
        panic!("50% used is above 40%");
    };
    assert_eq!(why, "volume shop/data-orders-0 is 50.0% used (max 40.0%)");
    let missing = CheckKind::VolumeUsage {
        volume: "nope".into(),
        max: 0.9,
    };
    assert!(matches!(
        evaluate(&client, "metrics", &missing).await,
        CheckOutcome::Inconclusive(m) if m.contains("no kubelet volume stats for nope")
    ));
    let bad = CheckKind::Promql {
        query: "max(pg_replication_lag".into(),
        op: CompareOp::Lt,
        threshold: 1.0,
        for_: None,
    };
    let CheckOutcome::Inconclusive(why) = evaluate(&client, "metrics", &bad).await else {
        panic!("a PromQL syntax error is inconclusive");
    };
    assert!(why.contains("Prometheus says bad_data"), "{why}");

    let target = PromTarget::from_url(
        "metrics",
        &lab.prom.url(),
        None,
        Duration::from_millis(500),
        Duration::from_secs(2),
    )
    .unwrap();
    let (tx, mut rx) = mpsc::channel(64);
    let task = spawn(target, tx);
    let rep = next_matching(
        &mut rx,
        "the standby's lag",
        |p| matches!(p, Payload::Replication(r) if r.replicas.len() == 1),
    )
    .await;
    assert_eq!(rep.source.0, "prom:metrics");
    let Payload::Replication(r) = &rep.payload else {
        unreachable!()
    };
    let standby = lab.pg.standby_port().unwrap().to_string();
    assert!(
        r.replicas[0].name.as_str().ends_with(&standby),
        "the standby, not the primary: {r:?}"
    );
    let storage = next_matching(&mut rx, "the volume", |p| matches!(p, Payload::Storage(_))).await;
    let Payload::Storage(s) = &storage.payload else {
        unreachable!()
    };
    assert_eq!(s.volumes.len(), 1);
    assert_eq!(s.volumes[0].name.as_str(), "data-orders-0");
    assert_eq!(
        (s.volumes[0].used_bytes, s.volumes[0].capacity_bytes),
        (50, 100)
    );

    lab.prom.stop_prometheus();
    let err = next_matching(&mut rx, "an error", |p| matches!(p, Payload::Error(_))).await;
    let Payload::Error(text) = &err.payload else {
        unreachable!()
    };
    assert!(
        text.as_str().contains("cannot connect"),
        "{}",
        text.as_str()
    );
    task.abort();
}

#[test]
fn ebb_run_holds_a_step_on_a_promql_gate_until_the_standby_catches_up() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let lab = rt.block_on(Lab::start(&[]));
    let client = lab.client();
    let gate = lag_check(None);
    rt.block_on(async {
        lab.replay(false).await;
        until(&client, &gate, "lag seen by Prometheus", is_fail).await;
    });

    let home = tempfile::tempdir().unwrap();
    let plan = home.path().join("gated.toml");
    std::fs::write(
        &plan,
        format!(
            r#"[plan]
name = "prom-gated"
description = "A step held by a PromQL gate until the standby has caught up"

[targets.db]
kind = "postgres"
url = "env:EBB_TEST_DB_URL"

[targets.metrics]
kind = "prometheus"
url = "env:EBB_TEST_PROM_URL"

[[gate]]
name = "standbys caught up"
check = {{ kind = "promql", target = "metrics", query = "{LAG_QUERY}", op = "<", threshold = {MAX_LAG} }}

[[step]]
id = "mark"
kind = "sql"
target = "db"
statement = "CREATE TABLE gated_done (at timestamptz DEFAULT now())"
undo = {{ statement = "DROP TABLE gated_done" }}
"#
        ),
    )
    .unwrap();
    let mut run = ebb_cmd(home.path());
    run.env("EBB_TEST_DB_URL", lab.pg.primary_url("postgres"))
        .env("EBB_TEST_PROM_URL", lab.prom.url())
        .args(["run", "--headless", "--json", "--yes"])
        .arg(&plan);
    let mut h = Headless::start(run);
    let held = h.until_within(DEADLINE, |v| {
        v["View"]["held"]
            .as_str()
            .is_some_and(|t| t.contains("gate \"standbys caught up\""))
    });
    assert!(
        held["View"]["held"]
            .as_str()
            .is_some_and(|t| t.contains("expected < 4")),
        "{held}"
    );
    let done = || {
        rt.block_on(async {
            let mut c = lab.pg.connect(&lab.pg.primary_url("postgres")).await;
            sqlx::query_scalar::<_, bool>("SELECT to_regclass('gated_done') IS NOT NULL")
                .fetch_one(&mut c)
                .await
                .unwrap()
        })
    };
    assert!(!done(), "the step waits behind its gate");
    rt.block_on(lab.replay(true));
    h.until_within(DEADLINE, |v| {
        status_is(v, "Finished") || v["View"]["status"]["Finished"] == "Completed"
    });
    assert!(done(), "the step ran once the gate opened");
}

#[test]
fn the_prometheus_examples_are_valid() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/prometheus");
    let plan = ebb::plan::Plan::load(&root.join("gated-backfill-revert.toml")).unwrap();
    let CheckKind::Promql { for_, .. } = &plan.gates[0].check.kind else {
        panic!("the first gate is a promql check");
    };
    assert_eq!(*for_, Some(Duration::from_secs(30)));
    let file = ebb::diag::SourceFile::read(&root.join("console.toml")).unwrap();
    let targets = ebb::config::targets::parse(&file).unwrap();
    let kinds: Vec<_> = targets.targets.iter().map(|t| t.kind).collect();
    assert_eq!(
        kinds,
        [
            ebb::plan::TargetKind::Prometheus,
            ebb::plan::TargetKind::Postgres
        ]
    );
}

#[test]
fn ebb_console_names_a_bad_prometheus_url_without_showing_it() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("console.toml");
    std::fs::write(
        &config,
        "[targets.metrics]\nkind = \"prometheus\"\nurl = \"env:EBB_TEST_PROM_URL\"\n",
    )
    .unwrap();
    let out = ebb_cmd(dir.path())
        .args(["console", "--config"])
        .arg(&config)
        .env("EBB_TEST_PROM_URL", "ftp://ebb:hunter2@prom.internal:9090")
        .output()
        .unwrap();
    let stderr = crate::support::headless::flat(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("target metrics: bad Prometheus URL"),
        "{stderr}"
    );
    assert!(!stderr.contains("hunter2"), "{stderr}");
    assert!(out.stdout.is_empty(), "the terminal was not touched");
}

#[test]
fn ebb_console_shows_a_prometheus_target_beside_its_postgres_primary() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let lab = rt.block_on(Lab::start(&[]));
    let config = "[console]\ninterval = \"500ms\"\ntimeout = \"2s\"\n\n\
                  [targets.db]\nkind = \"postgres\"\nurl = \"env:EBB_TEST_DB_URL\"\n\n\
                  [targets.metrics]\nkind = \"prometheus\"\nurl = \"env:EBB_TEST_PROM_URL\"\n";
    let db = lab.pg.primary_url("postgres");
    let prom_url = lab.prom.url();
    let mut console = crate::e2e::Console::spawn_with(
        &["console", "--config", "console.toml"],
        &[("EBB_TEST_DB_URL", &db), ("EBB_TEST_PROM_URL", &prom_url)],
        |home| std::fs::write(home.join("console.toml"), config).unwrap(),
    );
    console.wait_for("the prometheus target's heading and its standby row", |s| {
        let t = s.contents();
        t.contains("▸ db · primary")
            && t.contains("▸ metrics · via Prometheus")
            // The standby as its exporter names it (`server`: 127.0.0.1:PORT); the
            // primary's own rows name it `standby1`.
            && t.lines()
                .any(|l| l.contains("127.0.0.1") && l.contains("streaming"))
    });
    console.send(b"q");
    let status = console.wait_exit();
    assert!(status.success(), "{status:?}\n{}", console.describe());
    console.assert_restored();
}
