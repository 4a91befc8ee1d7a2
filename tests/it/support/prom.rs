//! A throwaway Prometheus for tests, scraping real postgres_exporters (one per PostgreSQL
//! node) and optional static metrics, on free 127.0.0.1 ports; killed and waited on Drop.
//! Or Prometheus alone serving HTTPS with basic auth (its `--web.config.file`).
//!
//! Binaries are Debian's `prometheus` and `prometheus-postgres-exporter` (PATH or
//! /usr/bin). Missing binaries fail the test, as `support::pg` does: `scripts/test`
//! installs them.

#![allow(dead_code)] // each test module uses part of the harness

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The classic `pg_replication` query of postgres_exporter's example queries.yaml (lag in
/// seconds behind the primary, 0 on a primary), with whether the server is a standby.
const QUERIES: &str = r#"pg_replication:
  query: "SELECT CASE WHEN NOT pg_is_in_recovery() THEN 0 ELSE GREATEST (0, EXTRACT(EPOCH FROM (now() - pg_last_xact_replay_timestamp()))) END AS lag, CASE WHEN pg_is_in_recovery() THEN 1 ELSE 0 END AS is_replica"
  master: true
  metrics:
    - lag:
        usage: "GAUGE"
        description: "Replication lag behind master in seconds"
    - is_replica:
        usage: "GAUGE"
        description: "Indicates if the server is a replica"
"#;

/// A running Prometheus and the exporters it scrapes. Dropping it stops them all.
pub struct PromStack {
    dir: tempfile::TempDir,
    prometheus: Option<Child>,
    exporters: Vec<Child>,
    port: u16,
}

/// A `/metrics` endpoint serving whatever text a test sets (e.g. kubelet volume stats).
pub struct StaticMetrics {
    pub port: u16,
    body: Arc<Mutex<String>>,
}

impl StaticMetrics {
    pub fn start(body: &str) -> StaticMetrics {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind static metrics");
        let port = listener.local_addr().expect("addr").port();
        let body = Arc::new(Mutex::new(body.to_string()));
        let shared = body.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { continue };
                let _ = conn.set_read_timeout(Some(Duration::from_secs(2)));
                // Read the request head, then answer with the current text.
                let mut reader = BufReader::new(&conn);
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                    line.clear();
                }
                let text = shared.lock().map(|b| b.clone()).unwrap_or_default();
                let _ = write!(
                    conn,
                    "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
                    text.len()
                );
            }
        });
        StaticMetrics { port, body }
    }

    pub fn set(&self, text: &str) {
        *self.body.lock().expect("body") = text.to_string();
    }

    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

impl PromStack {
    /// Whether both binaries can be found.
    pub fn available() -> bool {
        find("prometheus").is_some() && find("prometheus-postgres-exporter").is_some()
    }

    /// A postgres_exporter per DSN (job `pg`) and Prometheus scraping them and `extra`
    /// addresses (job `static`) every second; waits until Prometheus is ready and has
    /// scraped every exporter once.
    pub fn start(dsns: &[String], extra: &[String]) -> PromStack {
        let dir = tempfile::Builder::new()
            .prefix("ebb-prom-")
            .tempdir()
            .expect("temp dir for Prometheus");
        let queries = dir.path().join("queries.yaml");
        std::fs::write(&queries, QUERIES).expect("write queries.yaml");
        let mut exporters = Vec::new();
        let mut addresses = Vec::new();
        for (i, dsn) in dsns.iter().enumerate() {
            let (child, port) = start_exporter(dir.path(), i, dsn, &queries);
            exporters.push(child);
            addresses.push(format!("127.0.0.1:{port}"));
        }
        let mut stack = PromStack {
            dir,
            prometheus: None,
            exporters,
            port: 0,
        };
        let config = format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n  scrape_timeout: 900ms\n\
             scrape_configs:\n  - job_name: pg\n    static_configs:\n      - targets: {addresses:?}\n  \
             - job_name: static\n    static_configs:\n      - targets: {extra:?}\n"
        );
        let config_path = stack.dir.path().join("prometheus.yml");
        std::fs::write(&config_path, config).expect("write prometheus.yml");
        let (child, port) = start_prometheus(stack.dir.path(), &config_path, None);
        stack.prometheus = Some(child);
        stack.port = port;
        let want = dsns.len();
        if want > 0 {
            stack.wait_for(
                &format!("count(up{{job=\"pg\"}} == 1) == {want} and count(pg_up == 1) == {want}"),
                Duration::from_secs(60),
            );
        }
        stack
    }

    /// Prometheus alone (no scrape targets) serving HTTPS with `cert` and `key`, and basic
    /// auth for `user` with bcrypt hash `hash`: its `--web.config.file`. Returns once it
    /// listens; it may still answer 503 for a moment.
    pub fn start_tls(cert: &Path, key: &Path, user: &str, hash: &str) -> PromStack {
        let dir = tempfile::Builder::new()
            .prefix("ebb-prom-tls-")
            .tempdir()
            .expect("temp dir for Prometheus");
        let config_path = dir.path().join("prometheus.yml");
        std::fs::write(&config_path, "global:\n  scrape_interval: 1s\n")
            .expect("write prometheus.yml");
        let web = dir.path().join("web.yml");
        std::fs::write(
            &web,
            format!(
                "tls_server_config:\n  cert_file: {}\n  key_file: {}\nbasic_auth_users:\n  {user}: '{hash}'\n",
                cert.display(),
                key.display()
            ),
        )
        .expect("write web.yml");
        let (child, port) = start_prometheus(dir.path(), &config_path, Some(&web));
        PromStack {
            dir,
            prometheus: Some(child),
            exporters: Vec::new(),
            port,
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Kills Prometheus (the exporters stay up).
    pub fn stop_prometheus(&mut self) {
        if let Some(mut c) = self.prometheus.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Waits until `query` returns at least one series (an instant query, polled).
    pub fn wait_for(&self, query: &str, limit: Duration) {
        let start = Instant::now();
        loop {
            let body = http_get(self.port, &format!("/api/v1/query?query={}", encode(query)));
            if body.as_deref().is_some_and(|b| b.contains("\"result\":[{")) {
                return;
            }
            assert!(
                start.elapsed() < limit,
                "Prometheus never answered `{query}` with data; last answer: {body:?}\nlog: {}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Queries Prometheus has answered so far (`/api/v1/query` and `/api/v1/query_range`),
    /// by its own `prometheus_http_requests_total`, read from `/metrics` (which is not one).
    pub fn queries_answered(&self) -> f64 {
        let body = http_get(self.port, "/metrics").expect("Prometheus /metrics");
        body.lines()
            .filter(|l| l.starts_with("prometheus_http_requests_total{"))
            .filter(|l| {
                l.contains("handler=\"/api/v1/query\"")
                    || l.contains("handler=\"/api/v1/query_range\"")
            })
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("prometheus.log")).unwrap_or_default()
    }
}

impl Drop for PromStack {
    fn drop(&mut self) {
        self.stop_prometheus();
        for c in &mut self.exporters {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn start_exporter(dir: &Path, i: usize, dsn: &str, queries: &Path) -> (Child, u16) {
    let bin = bin("prometheus-postgres-exporter");
    let mut last = String::new();
    for attempt in 0..5 {
        let port = free_port();
        let log = dir.join(format!("exporter{i}-{attempt}.log"));
        let mut child = Command::new(&bin)
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--disable-settings-metrics")
            .arg(format!("--extend.query-path={}", queries.display()))
            .env("DATA_SOURCE_NAME", dsn)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log_file(&log))
            .spawn()
            .unwrap_or_else(|e| panic!("run {}: {e}", bin.display()));
        if wait_listening(&mut child, port) {
            return (child, port);
        }
        let _ = child.kill();
        let _ = child.wait();
        last = std::fs::read_to_string(&log).unwrap_or_default();
    }
    panic!("postgres_exporter did not start:\n{last}");
}

fn start_prometheus(dir: &Path, config: &Path, web_config: Option<&Path>) -> (Child, u16) {
    let bin = bin("prometheus");
    let mut last = String::new();
    for attempt in 0..5 {
        let port = free_port();
        let log = dir.join("prometheus.log");
        let mut command = Command::new(&bin);
        if let Some(web) = web_config {
            command.arg(format!("--web.config.file={}", web.display()));
        }
        let mut child = command
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join(format!("data{attempt}")).display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log_file(&log))
            .spawn()
            .unwrap_or_else(|e| panic!("run {}: {e}", bin.display()));
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(60) {
            if let Ok(Some(_)) = child.try_wait() {
                break;
            }
            let up = match web_config {
                // HTTPS with basic auth: listening is all a plain client can tell.
                Some(_) => TcpStream::connect(("127.0.0.1", port)).is_ok(),
                None => http_get(port, "/-/ready").is_some(),
            };
            if up {
                return (child, port);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = child.kill();
        let _ = child.wait();
        last = std::fs::read_to_string(&log).unwrap_or_default();
    }
    panic!("Prometheus did not become ready:\n{last}");
}

/// Waits (30 s at most) until something answers on `port`; false if the child exited.
fn wait_listening(child: &mut Child, port: u16) -> bool {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(30) {
        if let Ok(Some(_)) = child.try_wait() {
            return false;
        }
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// The body of a 200 answer to `GET path`, else `None`.
fn http_get(port: u16, path: &str) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    let (head, body) = text.split_once("\r\n\r\n")?;
    // Go answers an HTTP/1.0 request with an HTTP/1.0 status line.
    (head.split_whitespace().nth(1) == Some("200")).then(|| body.to_string())
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn log_file(path: &Path) -> Stdio {
    std::fs::File::create(path).map_or(Stdio::null(), Stdio::from)
}

fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().expect("local addr").port()
}

fn find(name: &str) -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(name))
            .find(|p| p.is_file())
    });
    on_path.or_else(|| {
        let p = PathBuf::from("/usr/bin").join(name);
        p.is_file().then_some(p)
    })
}

fn bin(name: &str) -> PathBuf {
    find(name).unwrap_or_else(|| {
        panic!(
            "{name} is not installed. Run scripts/test (it installs the `prometheus` and \
             `prometheus-postgres-exporter` packages) or apt-get install them."
        )
    })
}

/// A postgres_exporter DSN for a `postgres://` URL of the test cluster.
pub fn dsn(url: &str) -> String {
    if url.contains('?') {
        format!("{url}&sslmode=disable")
    } else {
        format!("{url}?sslmode=disable")
    }
}
