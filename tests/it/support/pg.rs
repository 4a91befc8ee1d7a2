//! A throwaway PostgreSQL cluster for tests: a primary (and optionally streaming
//! standbys) on free 127.0.0.1 ports in a temp dir, stopped and removed on Drop; with TLS
//! (`ssl = on`, a CA and certificates made by the test) when asked.
//!
//! Binaries come from PATH or `/usr/lib/postgresql/*/bin` (highest version); as root they
//! run through `runuser -u postgres --`. Missing binaries fail the test: `scripts/test`
//! installs them. Durability settings are PostgreSQL's defaults (`fsync` stays on).

#![allow(dead_code)] // each test module uses part of the harness

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use sqlx::Connection;

use super::certs::TestPki;

/// Databases that only take TLS with a client certificate (pg_hba `cert`, and `trust`
/// with `clientcert=verify-full`), on a cluster started with TLS.
pub const CERT_DB: &str = "certdb";
pub const CLIENTCERT_DB: &str = "clientfull";

/// A running primary, and standbys when asked for. Dropping it stops them all.
pub struct PgCluster {
    bin: PathBuf,
    dir: tempfile::TempDir,
    primary: Node,
    standbys: Vec<Node>,
    pki: Option<TestPki>,
}

struct Node {
    data: PathBuf,
    port: u16,
}

impl PgCluster {
    /// Whether PostgreSQL's server binaries (initdb, pg_ctl) can be found.
    pub fn available() -> bool {
        find_bin_dir().is_some()
    }

    /// initdb + start a primary. Panics (fails the test) when PostgreSQL is missing.
    pub fn start() -> PgCluster {
        PgCluster::start_primary_node(false, "")
    }

    /// A primary with `conf` added to its postgresql.conf (later lines win, e.g.
    /// `log_connections = on` or `wal_level = logical`), and `standbys` standbys.
    pub fn start_configured(conf: &str, standbys: usize) -> PgCluster {
        let mut c = PgCluster::start_primary_node(false, conf);
        c.add_standbys(standbys);
        c
    }

    /// A primary serving TLS (`ssl = on`) with a server certificate for `localhost` from
    /// a CA the test made (see `pki()`), and `standbys` standbys (which serve the same).
    /// Plain connections still work, except to `CERT_DB` and `CLIENTCERT_DB`, which take
    /// only TLS with a client certificate the CA signed.
    pub fn start_tls(standbys: usize) -> PgCluster {
        let mut c = PgCluster::start_primary_node(true, "");
        c.add_standbys(standbys);
        c
    }

    /// The CA, certificates and keys of a cluster started with `start_tls`.
    pub fn pki(&self) -> &TestPki {
        self.pki.as_ref().expect("cluster started without TLS")
    }

    fn start_primary_node(tls: bool, extra: &str) -> PgCluster {
        let bin = bin_dir();
        let dir = tempfile::Builder::new()
            .prefix("ebb-pg-")
            .tempdir()
            .expect("temp dir for PostgreSQL");
        as_postgres_owner(dir.path());
        let data = dir.path().join("primary");
        run(
            &bin,
            "initdb",
            &[
                "-D",
                path_str(&data),
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                // Only initdb's own final fsync of the fresh files is skipped; the server
                // runs with default durability (fsync, synchronous_commit on).
                "--no-sync",
                "--no-instructions",
            ],
        );
        let mut conf = String::from(
            "\n# ebb tests\nlisten_addresses = '127.0.0.1'\nwal_level = replica\n\
             max_wal_senders = 4\nhot_standby = on\nshared_buffers = 16MB\n",
        );
        conf.push_str(&format!(
            "unix_socket_directories = '{}'\n",
            path_str(dir.path())
        ));
        let pki = tls.then(|| {
            let certs = dir.path().join("tls");
            let pki = TestPki::generate(&certs);
            as_postgres_owner_all(&certs);
            conf.push_str(&format!(
                "ssl = on\nssl_cert_file = '{}'\nssl_key_file = '{}'\nssl_ca_file = '{}'\n",
                path_str(&pki.server_cert),
                path_str(&pki.server_key),
                path_str(&pki.ca)
            ));
            // First match wins: these go before initdb's `trust` lines.
            let hba = data.join("pg_hba.conf");
            let rest = std::fs::read_to_string(&hba).expect("read pg_hba.conf");
            let rules = format!(
                "hostssl {CERT_DB} all 127.0.0.1/32 cert\n\
                 hostnossl {CERT_DB} all 127.0.0.1/32 reject\n\
                 hostssl {CLIENTCERT_DB} all 127.0.0.1/32 trust clientcert=verify-full\n\
                 hostnossl {CLIENTCERT_DB} all 127.0.0.1/32 reject\n"
            );
            std::fs::write(&hba, format!("{rules}{rest}")).expect("write pg_hba.conf");
            pki
        });
        conf.push_str(extra);
        append(&data.join("postgresql.conf"), &conf);
        let port = start_node(&bin, &data, dir.path());
        PgCluster {
            bin,
            dir,
            primary: Node { data, port },
            standbys: Vec::new(),
            pki,
        }
    }

    /// A primary plus a standby streaming from it (`pg_basebackup -R`), already streaming.
    /// The standby's `application_name` on the primary is `standby1`.
    pub fn start_with_standby() -> PgCluster {
        PgCluster::start_with_standbys(1)
    }

    /// A primary plus `n` standbys streaming from it, named `standby1`..`standbyN`
    /// (their `cluster_name`, hence their `application_name` on the primary).
    pub fn start_with_standbys(n: usize) -> PgCluster {
        let mut c = PgCluster::start();
        c.add_standbys(n);
        c
    }

    fn add_standbys(&mut self, n: usize) {
        if n == 0 {
            return;
        }
        let c = self;
        for i in 1..=n {
            let name = format!("standby{i}");
            let data = c.dir.path().join(&name);
            run(
                &c.bin,
                "pg_basebackup",
                &[
                    "-D",
                    path_str(&data),
                    "-h",
                    "127.0.0.1",
                    "-p",
                    &c.primary.port.to_string(),
                    "-U",
                    "postgres",
                    "-R",
                    "-X",
                    "stream",
                    "--no-sync",
                ],
            );
            append(
                &data.join("postgresql.conf"),
                &format!("cluster_name = '{name}'\n"),
            );
            let port = start_node(&c.bin, &data, c.dir.path());
            c.standbys.push(Node { data, port });
        }
        c.wait_streaming(n);
    }

    pub fn primary_port(&self) -> u16 {
        self.primary.port
    }

    /// The first standby's port.
    pub fn standby_port(&self) -> Option<u16> {
        self.standbys.first().map(|s| s.port)
    }

    /// `postgres://postgres@127.0.0.1:PORT/db` on the primary.
    pub fn primary_url(&self, db: &str) -> String {
        url(self.primary.port, db)
    }

    /// The same on the first standby; panics if the cluster has none.
    pub fn standby_url(&self, db: &str) -> String {
        self.standby_url_n(0, db)
    }

    /// The same on standby `i` (0-based: `standby{i+1}`); panics if there is none.
    pub fn standby_url_n(&self, i: usize, db: &str) -> String {
        let node = self
            .standbys
            .get(i)
            .unwrap_or_else(|| panic!("cluster started without standby {i}"));
        url(node.port, db)
    }

    /// `CREATE DATABASE name` on the primary.
    pub async fn create_database(&self, name: &str) {
        self.execute("postgres", &format!("CREATE DATABASE \"{name}\""))
            .await;
    }

    /// Runs SQL (one or more statements, no parameters) on the primary's `db`.
    pub async fn execute(&self, db: &str, sql: &str) {
        let mut conn = self.connect(&self.primary_url(db)).await;
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("SQL failed on {db}: {e}\n{sql}"));
        let _ = conn.close().await;
    }

    /// A connection to `url` (primary or standby).
    pub async fn connect(&self, url: &str) -> sqlx::PgConnection {
        sqlx::PgConnection::connect(url)
            .await
            .unwrap_or_else(|e| panic!("connect {url}: {e}"))
    }

    /// Waits until every standby has replayed everything the primary wrote so far
    /// (10 s each).
    pub async fn wait_standby_caught_up(&self) {
        let mut primary = self.connect(&self.primary_url("postgres")).await;
        let target: String = sqlx::query_scalar("SELECT pg_current_wal_lsn()::text")
            .fetch_one(&mut primary)
            .await
            .expect("primary WAL position");
        for i in 0..self.standbys.len() {
            let mut standby = self.connect(&self.standby_url_n(i, "postgres")).await;
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                let behind: bool = sqlx::query_scalar(
                    "SELECT coalesce(pg_last_wal_replay_lsn() < $1::pg_lsn, true)",
                )
                .bind(&target)
                .fetch_one(&mut standby)
                .await
                .expect("standby replay position");
                if !behind {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "standby {i} did not reach {target}"
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }

    /// Waits until the primary reports `n` standbys streaming (10 s at most).
    fn wait_streaming(&self, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let out = Command::new(self.bin.join("psql"))
                .args(["-h", "127.0.0.1", "-p", &self.primary.port.to_string()])
                .args(["-U", "postgres", "-d", "postgres", "-tAc"])
                .arg("SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'")
                .output()
                .expect("run psql");
            if String::from_utf8_lossy(&out.stdout).trim() == n.to_string() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{n} standbys did not start streaming: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops the primary (fast shutdown); the standby stays up, without its upstream.
    pub fn stop_primary(&self) {
        stop_node(&self.bin, &self.primary.data);
    }

    /// Starts the stopped primary again on its port (its postgresql.conf keeps it).
    pub fn start_primary(&self) {
        let out = pg_ctl_start(&self.bin, &self.primary.data, self.dir.path());
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// The directory of the PostgreSQL programs (psql, pg_ctl) this cluster runs.
    pub fn bin_dir(&self) -> &Path {
        &self.bin
    }

    /// The server log of the primary (for failure messages).
    pub fn primary_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("primary.log")).unwrap_or_default()
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        for s in &self.standbys {
            stop_node(&self.bin, &s.data);
        }
        stop_node(&self.bin, &self.primary.data);
        // TempDir removes the directory.
    }
}

fn url(port: u16, db: &str) -> String {
    format!("postgres://postgres@127.0.0.1:{port}/{db}")
}

/// Starts the node at `data` on a free port, retrying with another port if one is
/// taken between choosing it and the server binding it (tests run in parallel).
fn start_node(bin: &Path, data: &Path, dir: &Path) -> u16 {
    let name = data.file_name().and_then(|n| n.to_str()).unwrap_or("pg");
    let log = dir.join(format!("{name}.log"));
    let mut last = String::new();
    for _ in 0..5 {
        let port = free_port();
        append(&data.join("postgresql.conf"), &format!("port = {port}\n"));
        let out = pg_ctl_start(bin, data, dir);
        if out.status.success() {
            return port;
        }
        last = format!(
            "{}{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(&log).unwrap_or_default()
        );
    }
    panic!("PostgreSQL did not start in {}:\n{last}", data.display());
}

/// `pg_ctl start` of the node at `data`, waiting for it, logging to `DIR/NAME.log`.
fn pg_ctl_start(bin: &Path, data: &Path, dir: &Path) -> Output {
    let name = data.file_name().and_then(|n| n.to_str()).unwrap_or("pg");
    let log = dir.join(format!("{name}.log"));
    command(
        bin,
        "pg_ctl",
        &[
            "start",
            "-w",
            "-t",
            "60",
            "-D",
            path_str(data),
            "-l",
            path_str(&log),
        ],
    )
}

fn stop_node(bin: &Path, data: &Path) {
    let _ = command(
        bin,
        "pg_ctl",
        &["stop", "-m", "fast", "-w", "-D", path_str(data)],
    );
}

fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().expect("local addr").port()
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// As root, hands `dir` to the postgres user (the server refuses to run as root).
fn as_postgres_owner(dir: &Path) {
    if !is_root() {
        return;
    }
    let out = Command::new("chown")
        .args(["postgres:postgres", path_str(dir)])
        .output()
        .expect("run chown");
    assert!(
        out.status.success(),
        "chown postgres {}: {} (is there a postgres user? scripts/test installs PostgreSQL)",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// As root, hands `dir` and everything in it to the postgres user (TLS keys).
fn as_postgres_owner_all(dir: &Path) {
    if !is_root() {
        return;
    }
    let out = Command::new("chown")
        .args(["-R", "postgres:postgres", path_str(dir)])
        .output()
        .expect("run chown");
    assert!(out.status.success(), "chown -R postgres {}", dir.display());
}

/// Runs a PostgreSQL program (as the postgres user when root) and returns its output.
fn command(bin: &Path, program: &str, args: &[&str]) -> Output {
    let exe = bin.join(program);
    let mut cmd = if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(&exe);
        c
    } else {
        Command::new(&exe)
    };
    cmd.args(args)
        .env("LC_ALL", "C")
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", exe.display()))
}

fn run(bin: &Path, program: &str, args: &[&str]) {
    let out = command(bin, program, args);
    assert!(
        out.status.success(),
        "{program} {args:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The directory of initdb, pg_ctl, pg_basebackup, psql: initdb's on PATH (resolved
/// through symlinks), else the highest `/usr/lib/postgresql/N/bin`.
fn bin_dir() -> PathBuf {
    match find_bin_dir() {
        Some(bin) => bin,
        None => panic!(
            "PostgreSQL is not installed: no initdb on PATH or in /usr/lib/postgresql/*/bin. \
             Run scripts/test (it installs the `postgresql` package) or `apt-get install postgresql`."
        ),
    }
}

fn find_bin_dir() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join("initdb"))
            .find(|p| p.is_file())
    });
    if let Some(initdb) = on_path {
        let real = std::fs::canonicalize(&initdb).unwrap_or(initdb);
        if let Some(dir) = real.parent().filter(|d| d.join("pg_ctl").is_file()) {
            return Some(dir.to_path_buf());
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((v, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("temp paths are UTF-8")
}

fn append(file: &Path, text: &str) {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(file)
        .unwrap_or_else(|e| panic!("open {}: {e}", file.display()));
    f.write_all(text.as_bytes())
        .unwrap_or_else(|e| panic!("write {}: {e}", file.display()));
}

/// A current-thread runtime for the synchronous tests that drive a cluster.
pub fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// One integer from `sql` in the primary's database `app`; -1 when the query fails (a
/// table not there yet, say).
pub fn app_scalar(pg: &PgCluster, sql: &str) -> i64 {
    rt().block_on(async {
        let mut c = pg.connect(&pg.primary_url("app")).await;
        sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql.to_string()))
            .fetch_one(&mut c)
            .await
            .unwrap_or(-1)
    })
}

/// A database `app` with `t(id, v)` of `rows` rows (ids from 1), all `v = 0`.
pub fn make_app_table(pg: &PgCluster, rows: i64) {
    rt().block_on(async {
        pg.create_database("app").await;
        pg.execute(
            "app",
            &format!(
                "CREATE TABLE t (id bigint PRIMARY KEY, v int NOT NULL DEFAULT 0);
                 INSERT INTO t (id) SELECT generate_series(1, {rows});"
            ),
        )
        .await;
    });
}
