//! PostgreSQL budgets on throwaway local servers: `sql_batches` throughput against psql,
//! how fast the lag throttle holds, the client CPU of one source poll, and what TLS adds to it.
//!
//! Starts its own primary with two streaming standbys (and, for TLS, a primary with one
//! standby serving `ssl = on`) through the integration-test harness; skips (exit 0) when no
//! PostgreSQL binaries are installed. `cargo bench --bench pg -- tls` runs the TLS part alone.

#[path = "../tests/it/support/certs.rs"]
mod certs;
#[path = "../tests/it/support/pg.rs"]
mod pg;

use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ebb::backends::postgres::source::{PgMemory, observe};
use ebb::backends::postgres::{
    BatchControl, BatchSpec, BatchesDone, PgBaseline, ensure_schema, evaluate, run_batches,
};
use ebb::engine::{CheckOutcome, Progress};
use ebb::plan::{Check, CheckKind};
use ebb::time::Timestamp;
use pg::PgCluster;
use sqlx::Connection;
use sqlx::postgres::{PgPool, PgPoolOptions};
use tokio::sync::watch;

const ROWS: i64 = 1_000_000;
const BATCH: u64 = 5_000;
const STMT: &str = "UPDATE t SET v = v + 1 WHERE id >= $1 AND id < $2";
/// Rounds of each contestant in the throughput race, in ABBA order.
const ROUNDS: usize = 2;
/// The throttle's byte limit in the reaction measurement.
const MAX_BYTES: u64 = 16 * 1024 * 1024;
/// How often the side task looks at the lag and the progress line.
const SIDE_POLL: Duration = Duration::from_millis(5);
/// Source polls measured for CPU time.
const POLLS: u32 = 300;
/// Polls over each session for the TLS overhead (interleaved, ABBA).
const TLS_POLLS: u32 = 1_000;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

fn main() -> Res<()> {
    if !PgCluster::available() {
        println!(
            "pg bench skipped: no PostgreSQL binaries (initdb on PATH or in \
             /usr/lib/postgresql/*/bin); scripts/test installs them"
        );
        return Ok(());
    }
    // `cargo bench` passes --bench; a filter that is not ours skips the run.
    let filter = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    if let Some(f) = &filter
        && !"pg".contains(f.as_str())
        && f != "tls"
    {
        return Ok(());
    }
    let mut table = Vec::new();
    {
        let ct = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let o = ct.block_on(tls_overhead())?;
        table.push((
            "one poll, primary + standby: TLS vs plain",
            format!(
                "wall {:.3} / {:.3} ms = +{:.1}%, CPU {:.3} / {:.3} ms = +{:.1}%",
                o.tls_wall,
                o.plain_wall,
                (o.tls_wall / o.plain_wall - 1.0) * 100.0,
                o.tls_cpu,
                o.plain_cpu,
                (o.tls_cpu / o.plain_cpu - 1.0) * 100.0
            ),
            "<= +10% wall".to_string(),
        ));
    }
    if filter.as_deref() == Some("tls") {
        print_table(&table);
        return Ok(());
    }
    let cluster = PgCluster::start_with_standbys(2);
    let mt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;

    let (ebb_rps, psql_rps) = mt.block_on(throughput(&cluster))?;
    table.push((
        "sql_batches throughput (ebb / psql)",
        format!(
            "{:.0} / {:.0} rows/s = {:.1}%",
            ebb_rps,
            psql_rps,
            ebb_rps * 100.0 / psql_rps
        ),
        ">= 90%".to_string(),
    ));

    let (capture_ms, check_ms) = mt.block_on(checksum(&cluster))?;
    table.push((
        "table_checksum of 1,000,000 rows",
        format!("capture {capture_ms:.0} ms, evaluate {check_ms:.0} ms"),
        "~1 s".to_string(),
    ));

    let reaction = mt.block_on(throttle_reaction(&cluster))?;
    table.push((
        "throttle reaction (after crossing)",
        format!(
            "{} batch(es), {:.0} ms (batch ~{:.0} ms, side poll {} ms)",
            reaction.batches_after,
            reaction.elapsed.as_secs_f64() * 1000.0,
            reaction.batch_ms,
            SIDE_POLL.as_millis()
        ),
        "<= 1 batch + 1 poll".to_string(),
    ));
    drop(mt);

    let ct = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (cpu_ms, wall_ms) = ct.block_on(poll_cpu(&cluster))?;
    table.push((
        "one poll, primary + 2 standbys",
        format!("{cpu_ms:.3} ms CPU ({wall_ms:.2} ms wall)"),
        "<= 5 ms CPU".to_string(),
    ));

    print_table(&table);
    Ok(())
}

fn print_table(table: &[(&str, String, String)]) {
    println!();
    println!("{:<42} {:<62} budget", "measure", "result");
    for (what, result, budget) in table {
        println!("{what:<42} {result:<62} {budget}");
    }
    println!(
        "(local servers on 127.0.0.1 sharing this machine's CPUs and disk with the client; \
         fsync on)"
    );
}

/// Per-poll means (ms) of the same poll over a plain and a TLS session.
struct TlsOverhead {
    plain_wall: f64,
    plain_cpu: f64,
    tls_wall: f64,
    tls_cpu: f64,
}

/// One console poll of a primary with a standby, after connect, over a plain session and
/// over a verify-full TLS session to the same server, interleaved poll by poll (ABBA):
/// mean wall and CPU time per poll of each.
async fn tls_overhead() -> Res<TlsOverhead> {
    let cluster = PgCluster::start_tls(1);
    let port = cluster.primary_port();
    let plain_url = format!("postgres://postgres@127.0.0.1:{port}/postgres?sslmode=disable");
    let tls_url = format!(
        "postgres://postgres@{}:{port}/postgres?sslmode=verify-full&sslrootcert={}",
        certs::SERVER_NAME,
        cluster.pki().ca.display()
    );
    let mut plain =
        sqlx::PgConnection::connect_with(&ebb::pg_options::from_url(&plain_url)?).await?;
    let mut tls = sqlx::PgConnection::connect_with(&ebb::pg_options::from_url(&tls_url)?).await?;
    let ssl: bool = sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        .fetch_one(&mut tls)
        .await?;
    if !ssl {
        return Err("the TLS session is not encrypted".into());
    }
    let (mut plain_memory, mut tls_memory) = (PgMemory::new(), PgMemory::new());
    let interval = Duration::from_secs(1);
    for _ in 0..20 {
        observe(
            &mut plain,
            "db",
            &mut plain_memory,
            Timestamp::now(),
            interval,
        )
        .await?;
        observe(&mut tls, "db", &mut tls_memory, Timestamp::now(), interval).await?;
    }
    // Poll by poll, in ABBA order, so that load from elsewhere falls on both alike.
    let (mut plain_sum, mut tls_sum) = (
        (Duration::ZERO, Duration::ZERO),
        (Duration::ZERO, Duration::ZERO),
    );
    for i in 0..TLS_POLLS * 4 {
        let tls_turn = matches!(i % 4, 1 | 2);
        let (conn, memory, sum) = if tls_turn {
            (&mut tls, &mut tls_memory, &mut tls_sum)
        } else {
            (&mut plain, &mut plain_memory, &mut plain_sum)
        };
        let cpu0 = thread_cpu();
        let wall0 = Instant::now();
        observe(conn, "db", memory, Timestamp::now(), interval).await?;
        sum.0 += wall0.elapsed();
        sum.1 += thread_cpu() - cpu0;
    }
    let per = |d: Duration| d.as_secs_f64() * 1000.0 / (TLS_POLLS * 2) as f64;
    let o = TlsOverhead {
        plain_wall: per(plain_sum.0),
        plain_cpu: per(plain_sum.1),
        tls_wall: per(tls_sum.0),
        tls_cpu: per(tls_sum.1),
    };
    Ok(o)
}

async fn pool(cluster: &PgCluster) -> Res<PgPool> {
    Ok(PgPoolOptions::new()
        .max_connections(4)
        .connect(&cluster.primary_url("postgres"))
        .await?)
}

async fn sql(pool: &PgPool, q: &str) -> Res<()> {
    sqlx::raw_sql(sqlx::AssertSqlSafe(q.to_string()))
        .execute(pool)
        .await?;
    Ok(())
}

fn control() -> (watch::Sender<bool>, Progress, BatchControl) {
    let (pause, pause_rx) = watch::channel(false);
    let (_size, size_rx) = watch::channel(0);
    let progress: Progress = Arc::new(Mutex::new(None));
    let control = BatchControl::new(pause_rx, size_rx, progress.clone());
    (pause, progress, control)
}

/// `run_batches` and psql over the same table, alternating (ebb, psql, psql, ebb, ...)
/// with a VACUUM before each run; returns the mean rows/s of each.
async fn throughput(cluster: &PgCluster) -> Res<(f64, f64)> {
    let pool = pool(cluster).await?;
    ensure_schema(&pool).await?;
    sql(
        &pool,
        &format!(
            "CREATE TABLE t (id bigint PRIMARY KEY, v int NOT NULL);
             INSERT INTO t SELECT g, g % 1000 FROM generate_series(1, {ROWS}) g;"
        ),
    )
    .await?;
    let mut statements = String::new();
    let mut lo = 1;
    while lo <= ROWS {
        let hi = lo + BATCH as i64;
        statements.push_str(&format!(
            "UPDATE t SET v = v + 1 WHERE id >= {lo} AND id < {hi};\n"
        ));
        lo = hi;
    }
    let file = tempfile::NamedTempFile::new()?;
    std::fs::write(file.path(), statements)?;
    let psql = cluster.bin_dir().join("psql");
    let port = cluster.primary_port().to_string();

    let (mut ebb_secs, mut psql_secs) = (Vec::new(), Vec::new());
    for round in 0..ROUNDS * 2 {
        let ebb_turn = matches!(round % 4, 0 | 3);
        sql(&pool, "VACUUM t").await?;
        sql(&pool, "CHECKPOINT").await?;
        let started = Instant::now();
        if ebb_turn {
            let (_pause, _progress, control) = control();
            let spec = BatchSpec::new("t", "id", BATCH, STMT);
            let done = run_batches(&pool, &format!("bench/{round}"), &spec, &control).await?;
            let secs = started.elapsed().as_secs_f64();
            match done {
                BatchesDone::Finished { rows, .. } if rows == ROWS as u64 => {}
                other => return Err(format!("ebb run {round}: {other:?}").into()),
            }
            ebb_secs.push(secs);
            println!("round {round}: ebb  {secs:.2}s");
        } else {
            // One statement per batch, autocommit, one session: psql -f.
            let out = Command::new(&psql)
                .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1"])
                .args(["-p", &port, "-U", "postgres", "-d", "postgres", "-f"])
                .arg(file.path())
                .output()?;
            let secs = started.elapsed().as_secs_f64();
            if !out.status.success() {
                return Err(format!("psql: {}", String::from_utf8_lossy(&out.stderr)).into());
            }
            psql_secs.push(secs);
            println!("round {round}: psql {secs:.2}s");
        }
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    Ok((
        ROWS as f64 / mean(&ebb_secs),
        ROWS as f64 / mean(&psql_secs),
    ))
}

/// Captures a checksum baseline of `t` (after the throughput runs) and evaluates it.
async fn checksum(cluster: &PgCluster) -> Res<(f64, f64)> {
    let pool = pool(cluster).await?;
    let kind = CheckKind::TableChecksum { table: "t".into() };
    let checks = [Check {
        target: "db".into(),
        kind: kind.clone(),
    }];
    // Warm the cache the way a run would have: the table was just updated.
    PgBaseline::capture(&pool, &checks).await?;
    let started = Instant::now();
    let base = PgBaseline::capture(&pool, &checks).await?;
    let capture = started.elapsed();
    let started = Instant::now();
    let out = evaluate(&pool, &kind, &base).await;
    let check = started.elapsed();
    if out != CheckOutcome::Pass {
        return Err(format!("checksum of an unchanged table: {out:?}").into());
    }
    Ok((capture.as_secs_f64() * 1000.0, check.as_secs_f64() * 1000.0))
}

struct Reaction {
    batches_after: i64,
    elapsed: Duration,
    batch_ms: f64,
}

/// Pauses replay on the second standby while a throttled run goes on; a side task sees
/// when the byte lag crosses the limit and when the step reports it holds.
async fn throttle_reaction(cluster: &PgCluster) -> Res<Reaction> {
    let pool = pool(cluster).await?;
    cluster.wait_standby_caught_up().await;
    let mut standby = sqlx::PgConnection::connect(&cluster.standby_url_n(1, "postgres")).await?;
    sqlx::raw_sql("SELECT pg_wal_replay_pause()")
        .execute(&mut standby)
        .await?;
    sql(&pool, "VACUUM t").await?;
    sql(&pool, "CHECKPOINT").await?;

    let (pause, progress, control) = control();
    let mut spec = BatchSpec::new("t", "id", BATCH, STMT);
    spec.max_replication_bytes = Some(MAX_BYTES);
    let key = "bench/throttle";
    let run = {
        let (pool, spec, control) = (pool.clone(), spec.clone(), control.clone());
        tokio::spawn(async move { run_batches(&pool, key, &spec, &control).await })
    };

    let mut side = sqlx::PgConnection::connect(&cluster.primary_url("postgres")).await?;
    let started = Instant::now();
    let count =
        "SELECT count(*) FROM ebb.applied_steps WHERE starts_with(key, 'bench/throttle/batch/')";
    let mut crossed: Option<(Instant, i64)> = None;
    let held: (Instant, i64) = loop {
        if started.elapsed() > Duration::from_secs(120) {
            return Err("the throttle never held".into());
        }
        let holding = progress
            .lock()
            .map(|p| p.as_deref().is_some_and(|t| t.contains("replica byte lag")))
            .unwrap_or(false);
        let now = Instant::now();
        if crossed.is_none() {
            let (bytes, batches): (i64, i64) = sqlx::query_as(
                "SELECT coalesce(max(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)), 0)::bigint,
                        (SELECT count(*) FROM ebb.applied_steps
                         WHERE starts_with(key, 'bench/throttle/batch/'))
                 FROM pg_stat_replication",
            )
            .fetch_one(&mut side)
            .await?;
            if bytes as u64 > MAX_BYTES {
                crossed = Some((now, batches));
            }
        }
        if holding {
            let batches: i64 = sqlx::query_scalar(count).fetch_one(&mut side).await?;
            break (now, batches);
        }
        tokio::time::sleep(SIDE_POLL).await;
    };
    let Some(crossed) = crossed else {
        return Err("held before the side task saw the limit crossed".into());
    };
    // Nothing commits while it holds.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let later: i64 = sqlx::query_scalar(count).fetch_one(&mut side).await?;
    if later != held.1 {
        return Err(format!("batches went on while holding: {} then {later}", held.1).into());
    }
    let batch_ms =
        crossed.0.duration_since(started).as_secs_f64() * 1000.0 / crossed.1.max(1) as f64;
    pause.send(true)?;
    let done = tokio::time::timeout(Duration::from_secs(10), run).await???;
    if !matches!(done, BatchesDone::Paused { .. }) {
        return Err(format!("expected a pause, got {done:?}").into());
    }
    sqlx::raw_sql("SELECT pg_wal_replay_resume()")
        .execute(&mut standby)
        .await?;
    cluster.wait_standby_caught_up().await;
    println!(
        "throttle: crossed {} bytes after {} batches, held after {} ({:.0} ms later)",
        MAX_BYTES,
        crossed.1,
        held.1,
        held.0.duration_since(crossed.0).as_secs_f64() * 1000.0
    );
    Ok(Reaction {
        batches_after: held.1 - crossed.1,
        elapsed: held.0.duration_since(crossed.0),
        batch_ms,
    })
}

/// Per-poll CPU time of this thread (user + system) and wall time, over `POLLS` polls.
async fn poll_cpu(cluster: &PgCluster) -> Res<(f64, f64)> {
    let mut conn = sqlx::PgConnection::connect(&cluster.primary_url("postgres")).await?;
    let mut memory = PgMemory::new();
    let interval = Duration::from_secs(1);
    for _ in 0..10 {
        observe(&mut conn, "db", &mut memory, Timestamp::now(), interval).await?;
    }
    let replicas = observe(&mut conn, "db", &mut memory, Timestamp::now(), interval)
        .await?
        .iter()
        .find_map(|o| match &o.payload {
            ebb::sources::Payload::Replication(r) => Some(r.replicas.len()),
            _ => None,
        })
        .unwrap_or(0);
    if replicas != 2 {
        return Err(format!("expected 2 replicas, the poll saw {replicas}").into());
    }
    let cpu0 = thread_cpu();
    let wall0 = Instant::now();
    for _ in 0..POLLS {
        observe(&mut conn, "db", &mut memory, Timestamp::now(), interval).await?;
    }
    let wall = wall0.elapsed();
    let cpu = thread_cpu() - cpu0;
    Ok((
        cpu.as_secs_f64() * 1000.0 / POLLS as f64,
        wall.as_secs_f64() * 1000.0 / POLLS as f64,
    ))
}

/// User + system CPU time of the calling thread.
fn thread_cpu() -> Duration {
    // SAFETY: getrusage writes into the zeroed struct we pass and has no other effect.
    let usage = unsafe {
        let mut u: libc::rusage = std::mem::zeroed();
        if libc::getrusage(libc::RUSAGE_THREAD, &mut u) != 0 {
            return Duration::ZERO;
        }
        u
    };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}
