//! Drills of the shipped plans, bound to the drill world: each runs to the end with none of
//! its secrets set; with them set to live servers, a drill reaches none of them (a real run
//! does); and the PostgreSQL plan also runs, unchanged, on a real primary and standby.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::headless::{Headless, ebb, root};
use crate::support::kube_api::KubeApi;
use crate::support::pg::{PgCluster, rt};
use crate::support::prom::PromStack;

/// A drill at speed 100 ends well within this.
const LIMIT: Duration = Duration::from_secs(90);

fn plan_path(scenario: &str) -> PathBuf {
    root().join(format!("examples/plans/{scenario}.toml"))
}

/// The variables a plan reads its secrets from: every `env:NAME` in its text.
fn secret_vars(plan: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(plan).unwrap();
    let mut vars: Vec<String> = text
        .split("env:")
        .skip(1)
        .map(|rest| {
            rest.chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect()
        })
        .collect();
    vars.sort();
    vars.dedup();
    vars
}

fn finished(v: &Value) -> Option<&str> {
    v["View"]["status"]["Finished"].as_str()
}

/// Ends a run that is still going after `LIMIT` (SIGTERM: it pauses, prints and exits), so
/// a drill stuck without printing fails with what it printed instead of hanging the test.
struct Watchdog(Arc<AtomicBool>);

impl Watchdog {
    fn new(pid: u32) -> Watchdog {
        let done = Arc::new(AtomicBool::new(false));
        let seen = done.clone();
        std::thread::spawn(move || {
            let start = Instant::now();
            while start.elapsed() < LIMIT {
                if seen.load(Ordering::SeqCst) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            if !seen.load(Ordering::SeqCst) {
                let _ = std::process::Command::new("kill")
                    .arg(pid.to_string())
                    .status();
            }
        });
        Watchdog(done)
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// How a driven run ended: its last view, and the words of the asks it answered.
struct Ended {
    view: Value,
    answered: Vec<String>,
}

/// Drives a headless run to its end as a facilitator would: answers each ask with the
/// word it names, and goes on (`run`) after a pause for an inconclusive check. Any other
/// pause fails the test.
fn drive_to_end(h: &mut Headless) -> Ended {
    let _watchdog = Watchdog::new(h.pid());
    let start = Instant::now();
    let mut goes_on = 0;
    let mut answered = Vec::new();
    loop {
        let left = LIMIT.saturating_sub(start.elapsed());
        let v = h.until_within(left, |v| {
            v["Ask"].is_object() || finished(v).is_some() || v["View"]["status"] == "Paused"
        });
        if finished(&v).is_some() {
            return Ended { view: v, answered };
        }
        if let Some(word) = v["Ask"]["word"].as_str() {
            h.send(&format!("confirm {word}"));
            answered.push(word.to_string());
            continue;
        }
        let why = v["View"]["pause"]["text"].as_str().unwrap_or_default();
        assert!(why.starts_with("inconclusive"), "the run paused: {v}");
        goes_on += 1;
        assert!(goes_on <= 5, "paused again and again: {v}");
        h.send("run");
    }
}

/// `ebb run PLAN --drill --scenario S --headless --yes --speed 100` with `env` set and
/// every other secret variable of the plan unset, driven to its end.
fn drill(home: &Path, scenario: &str, env: &[(&str, String)]) -> Ended {
    let plan = plan_path(scenario);
    let mut c = ebb(home);
    for var in secret_vars(&plan) {
        c.env_remove(var);
    }
    for (k, v) in env {
        c.env(k, v);
    }
    c.args(["run"])
        .arg(&plan)
        .args(["--drill", "--scenario", scenario])
        .args(["--headless", "--json", "--yes", "--speed", "100"]);
    let mut h = Headless::start(c);
    drive_to_end(&mut h)
}

/// Drills `scenario`'s plan to the end; every step applied. Returns the asks answered.
fn assert_completed(scenario: &str) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let Ended { view, answered } = drill(dir.path(), scenario, &[]);
    assert_eq!(finished(&view), Some("Completed"), "{scenario}: {view}");
    let steps = view["View"]["steps"].as_array().unwrap();
    assert!(!steps.is_empty());
    for s in steps {
        assert_eq!(s["status"], "Applied", "{scenario}: {s}");
    }
    answered
}

#[test]
fn each_shipped_plan_passes_plan_check() {
    for scenario in ebb::sim::world::Scenario::builtin_names() {
        let plan = plan_path(scenario);
        let out = ebb(Path::new("/tmp"))
            .args(["plan", "check"])
            .arg(&plan)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{scenario}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            !secret_vars(&plan).is_empty(),
            "{scenario}: its targets read their URLs from the environment"
        );
    }
}

#[test]
fn the_backfill_slot_fill_plan_drills_to_the_end() {
    assert_completed("backfill-slot-fill");
}

#[test]
fn the_abandoned_cdc_slot_plan_drills_to_the_end() {
    assert_completed("abandoned-cdc-slot");
}

/// The scenario's stuck pod may hold the rollback with an ask (when the world has ticked
/// once before the rollback lowers the partition); it is the only ask there can be.
#[test]
fn the_crashloop_plan_drills_to_the_end() {
    let answered = assert_completed("crashloop-new-revision");
    assert!(answered.iter().all(|w| w == "orders-app-3"), "{answered:?}");
}

#[test]
fn the_migration_batch_failure_plan_drills_to_the_end() {
    assert_completed("migration-batch-failure");
}

#[test]
fn the_network_partition_plan_drills_to_the_end() {
    assert_completed("network-partition-replica2");
}

/// A plain HTTP server that answers 200 to anything and counts the connections it took.
struct Webhooks {
    port: u16,
    accepted: Arc<AtomicUsize>,
}

impl Webhooks {
    fn start() -> Webhooks {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = accepted.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { continue };
                count.fetch_add(1, Ordering::SeqCst);
                let _ = conn.set_read_timeout(Some(Duration::from_millis(500)));
                let mut buf = [0u8; 4096];
                let _ = conn.read(&mut buf);
                let _ = conn.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
                );
            }
        });
        Webhooks { port, accepted }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

/// Lines of the server log after byte `mark` that record a client connection.
fn connections_after(pg: &PgCluster, mark: usize) -> Vec<String> {
    let log = pg.primary_log();
    log.get(mark..)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains("connection received") || l.contains("connection authorized"))
        .map(str::to_string)
        .collect()
}

/// The backfill-slot-fill plan reaches all four kinds of target. With its variables set
/// to a live PostgreSQL (logging every connection), a real Prometheus, the loopback
/// Kubernetes API server and a webhook server, a drill of it runs to the end and none of
/// them hears from ebb; a real run of the same file does reach them.
#[test]
fn a_drill_with_its_secrets_set_to_live_servers_reaches_none_of_them() {
    let pg = PgCluster::start_configured("log_connections = on\n", 0);
    let prom = PromStack::start(&[], &[]);
    let kube = KubeApi::start();
    let flags = Webhooks::start();
    let dir = tempfile::tempdir().unwrap();
    // The plan's context, pointing at the loopback server.
    let kubeconfig = kube.kubeconfig(dir.path(), "orders");
    let text = std::fs::read_to_string(&kubeconfig).unwrap();
    std::fs::write(&kubeconfig, text.replace("loopback", "prod-eu-1")).unwrap();
    let env = [
        ("ORDERS_DB_URL", pg.primary_url("postgres")),
        ("PROM_URL", prom.url()),
        ("KUBECONFIG", kubeconfig.display().to_string()),
        ("FLAGS_URL", flags.url()),
        ("FLAGS_TOKEN", "Bearer drill-must-not-send-this".to_string()),
    ];
    let plan = plan_path("backfill-slot-fill");
    let mut vars: Vec<String> = env.iter().map(|(k, _)| k.to_string()).collect();
    vars.sort();
    assert_eq!(vars, secret_vars(&plan), "every secret of the plan is set");

    let pg_mark = pg.primary_log().len();
    let prom_before = prom.queries_answered();
    let kube_before = kube.requests().len();

    let end = drill(dir.path(), "backfill-slot-fill", &env).view;
    assert_eq!(finished(&end), Some("Completed"), "{end}");

    assert_eq!(
        connections_after(&pg, pg_mark),
        Vec::<String>::new(),
        "the drill connected to PostgreSQL"
    );
    assert_eq!(
        prom.queries_answered(),
        prom_before,
        "the drill queried Prometheus"
    );
    let kube_after = kube.requests();
    assert_eq!(
        kube_after.len(),
        kube_before,
        "the drill called the Kubernetes API: {:?}",
        kube_after.last()
    );
    assert_eq!(flags.accepted(), 0, "the drill called the flag service");

    // The same file, run for real (no --drill), reaches them: the checks above can fail.
    let pg_mark = pg.primary_log().len();
    let mut c = ebb(dir.path());
    for (k, v) in &env {
        c.env(k, v);
    }
    c.args(["run"])
        .arg(&plan)
        .args(["--headless", "--json", "--yes"]);
    let h = Headless::start(c);
    let start = Instant::now();
    while connections_after(&pg, pg_mark).is_empty() || prom.queries_answered() == prom_before {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "a real run never reached PostgreSQL and Prometheus; PostgreSQL log:\n{}",
            pg.primary_log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(h);
}

/// The abandoned-cdc-slot plan, the same file the drill rehearses, on a real primary and
/// streaming standby: it drops the slot and leaves orders as they were.
#[test]
fn the_abandoned_cdc_slot_plan_runs_unchanged_on_a_real_primary_and_standby() {
    let pg = PgCluster::start_configured("wal_level = logical\n", 1);
    let count = |sql: &str| -> i64 {
        rt().block_on(async {
            let mut c = pg.connect(&pg.primary_url("orders")).await;
            sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql.to_string()))
                .fetch_one(&mut c)
                .await
                .unwrap()
        })
    };
    rt().block_on(async {
        pg.create_database("orders").await;
        pg.execute(
            "orders",
            "CREATE TABLE orders (id bigint PRIMARY KEY, address text);
             INSERT INTO orders SELECT g, 'x' FROM generate_series(1, 1000) g;",
        )
        .await;
        // Its own statement: a logical slot is not created in a transaction that wrote.
        pg.execute(
            "orders",
            "SELECT pg_create_logical_replication_slot('debezium_orders', 'pgoutput')",
        )
        .await;
        pg.wait_standby_caught_up().await;
    });
    let slots = "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'debezium_orders'";
    assert_eq!(count(slots), 1);

    let dir = tempfile::tempdir().unwrap();
    let mut c = ebb(dir.path());
    c.env("ORDERS_DB_URL", pg.primary_url("orders"))
        .args(["run"])
        .arg(plan_path("abandoned-cdc-slot"))
        .args(["--headless", "--json", "--yes"]);
    let mut h = Headless::start(c);
    let end = drive_to_end(&mut h).view;
    assert_eq!(finished(&end), Some("Completed"), "{end}");
    assert_eq!(count(slots), 0, "the slot is gone");
    assert_eq!(count("SELECT count(*) FROM orders"), 1000);
}
