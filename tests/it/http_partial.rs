//! `http` steps with postchecks on a Prometheus API, run by the real binary: a postcheck
//! failing after the request landed is undone by the rollback; an inconclusive postcheck or
//! `verify` pauses for a human (no retry, no rollback) and going on evaluates it again.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

use crate::support::headless::{Headless, ebb, status_is};

/// What the server answers queries naming one of these words with: `0` when healthy,
/// `5` when failing; any other query gets a 503 (the check cannot be evaluated).
#[derive(Default)]
struct Metrics {
    healthy: BTreeSet<String>,
    failing: BTreeSet<String>,
}

/// Requests other than queries, as `METHOD path body`.
type Seen = Arc<Mutex<Vec<String>>>;

/// A loopback server: `/api/v1/query` answers from `Metrics`, anything else 200. The
/// other requests are recorded as `METHOD path body`.
fn server() -> (String, Seen, Arc<Mutex<Metrics>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let metrics = Arc::new(Mutex::new(Metrics::default()));
    let (log, m) = (seen.clone(), metrics.clone());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let (log, m) = (log.clone(), m.clone());
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                let mut parts = line.split_whitespace();
                let method = parts.next().unwrap_or_default().to_string();
                let path = parts.next().unwrap_or_default().to_string();
                let mut len = 0;
                loop {
                    let mut h = String::new();
                    reader.read_line(&mut h).unwrap();
                    let h = h.trim_end().to_ascii_lowercase();
                    if h.is_empty() {
                        break;
                    }
                    if let Some(v) = h.strip_prefix("content-length:") {
                        len = v.trim().parse().unwrap_or(0);
                    }
                }
                let mut body = vec![0; len];
                reader.read_exact(&mut body).unwrap();
                let body = String::from_utf8_lossy(&body).to_string();
                let (status, answer) = if path.ends_with("/api/v1/query") {
                    let m = m.lock().unwrap();
                    let value = if m.healthy.iter().any(|w| body.contains(w.as_str())) {
                        Some("0")
                    } else if m.failing.iter().any(|w| body.contains(w.as_str())) {
                        Some("5")
                    } else {
                        None
                    };
                    match value {
                        Some(v) => (
                            "200 OK",
                            format!(
                                r#"{{"status":"success","data":{{"resultType":"vector","result":[{{"metric":{{}},"value":[1700000000,"{v}"]}}]}}}}"#
                            ),
                        ),
                        None => ("503 Service Unavailable", String::new()),
                    }
                } else {
                    log.lock().unwrap().push(format!("{method} {path} {body}"));
                    ("200 OK", String::new())
                };
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
                    answer.len()
                );
            });
        }
    });
    (base, seen, metrics)
}

/// A flag flip checked by `flag_errors`, then a `verify` of `verify_errors`; both with
/// retries and `on_failure = "rollback"`.
const PLAN: &str = r#"[plan]
name = "flag-flip"
description = "Flip a flag and check the error rate"

[targets.flags]
kind = "http"
url = "env:EBB_TEST_URL"

[targets.metrics]
kind = "prometheus"
url = "env:EBB_TEST_URL"

[[step]]
id = "flag-off"
kind = "http"
target = "flags"
request = { method = "PUT", url = "/flags/split", json = { enabled = false } }
undo = { method = "PUT", url = "/flags/split", json = { enabled = true } }
postcheck = [{ kind = "promql", target = "metrics", query = "sum(flag_errors)", op = "<", threshold = 1 }]
retries = 2
backoff = "100ms"
on_failure = "rollback"

[[step]]
id = "verify-errors"
kind = "verify"
checks = [{ kind = "promql", target = "metrics", query = "sum(verify_errors)", op = "<", threshold = 1 }]
retries = 2
backoff = "100ms"
on_failure = "rollback"
"#;

fn run(home: &Path, base: &str) -> Headless {
    let plan: PathBuf = home.join("flag.toml");
    std::fs::write(&plan, PLAN).unwrap();
    let mut c = ebb(home);
    c.env("EBB_TEST_URL", base)
        .args(["run", "--headless", "--json", "--yes"])
        .arg(&plan);
    Headless::start(c)
}

fn puts(seen: &Mutex<Vec<String>>) -> Vec<String> {
    seen.lock()
        .unwrap()
        .iter()
        .filter(|s| s.starts_with("PUT"))
        .cloned()
        .collect()
}

#[test]
fn an_http_step_whose_postcheck_fails_after_it_landed_is_undone() {
    let (base, seen, metrics) = server();
    metrics.lock().unwrap().failing.insert("flag_errors".into());
    let home = tempfile::tempdir().unwrap();
    let mut h = run(home.path(), &base);
    let end = h.until(|v| v["View"]["status"]["Finished"].is_string());
    assert_eq!(end["View"]["status"]["Finished"], "RolledBack", "{end}");
    assert_eq!(end["View"]["steps"][0]["status"], "Compensated", "{end}");
    let puts = puts(&seen);
    assert_eq!(puts.len(), 2, "{puts:?}");
    assert!(puts[0].contains(r#""enabled":false"#), "{puts:?}");
    assert!(
        puts[1].contains(r#""enabled":true"#),
        "the undo ran: {puts:?}"
    );
}

/// Whether the engine said a step attempt failed (a retry) or a rollback began.
fn retried_or_rolled_back(v: &Value) -> bool {
    let said = |t: &str| {
        ["flag-off", "verify-errors"].iter().any(|id| {
            t.starts_with(&format!("{id} attempt")) || t.starts_with(&format!("{id} failed"))
        }) || t.starts_with("undo of")
    };
    v["Note"]["text"].as_str().is_some_and(said) || v["View"]["direction"] == "Rollback"
}

#[test]
fn an_inconclusive_postcheck_or_verify_pauses_for_a_human_without_retry_or_rollback() {
    let (base, seen, metrics) = server();
    let home = tempfile::tempdir().unwrap();
    let mut h = run(home.path(), &base);
    let paused = h.until(|v| {
        assert!(!retried_or_rolled_back(v), "{v}");
        status_is(v, "Paused")
    });
    let why = paused["View"]["pause"]["text"].as_str().unwrap();
    assert!(
        why.contains("postcheck of flag-off") && why.contains("promql on metrics"),
        "{paused}"
    );
    assert_eq!(
        paused["View"]["steps"][0]["status"]["Unchecked"]["why"], "postcheck inconclusive",
        "{paused}"
    );
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        puts(&seen).len(),
        1,
        "applied once, never retried or undone"
    );

    // Going on evaluates the postcheck again; it passes, and the verify cannot be evaluated.
    metrics.lock().unwrap().healthy.insert("flag_errors".into());
    h.send("run");
    let paused = h.until(|v| {
        assert!(!retried_or_rolled_back(v), "{v}");
        status_is(v, "Paused") && v["View"]["steps"][0]["status"] == "Applied"
    });
    let why = paused["View"]["pause"]["text"].as_str().unwrap();
    assert!(
        why.contains("verify-errors") && why.contains("promql on metrics"),
        "{paused}"
    );
    assert_eq!(paused["View"]["steps"][1]["status"], "Pending", "{paused}");
    assert_eq!(puts(&seen).len(), 1, "{:?}", puts(&seen));

    metrics
        .lock()
        .unwrap()
        .healthy
        .insert("verify_errors".into());
    h.send("run");
    let end = h.until(|v| v["View"]["status"]["Finished"].is_string());
    assert_eq!(end["View"]["status"]["Finished"], "Completed", "{end}");
    assert_eq!(puts(&seen).len(), 1);
}
