//! `http` steps run by the real binary against a local server that records requests:
//! a flag flip and its undo, retries on 5xx, a timeout; secrets stay out of the records.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::support::headless::{Headless, ebb, status_is};

/// One request as the server saw it.
#[derive(Clone, Debug)]
struct Seen {
    method: String,
    path: String,
    headers: BTreeMap<String, String>,
    body: serde_json::Value,
}

/// A loopback HTTP/1.1 server: `/hook` answers 503, `/slow` answers after 3 s, anything
/// else 200. Every request is recorded.
fn server() -> (String, Arc<Mutex<Vec<Seen>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let log = log.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                let mut parts = line.split_whitespace();
                let method = parts.next().unwrap_or_default().to_string();
                let path = parts.next().unwrap_or_default().to_string();
                let mut headers = BTreeMap::new();
                loop {
                    let mut h = String::new();
                    reader.read_line(&mut h).unwrap();
                    let h = h.trim_end();
                    if h.is_empty() {
                        break;
                    }
                    if let Some((k, v)) = h.split_once(':') {
                        headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
                    }
                }
                let len: usize = headers
                    .get("content-length")
                    .and_then(|l| l.parse().ok())
                    .unwrap_or(0);
                let mut body = vec![0; len];
                reader.read_exact(&mut body).unwrap();
                let body = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
                let status = if path.ends_with("/hook") {
                    "503 Service Unavailable"
                } else {
                    "200 OK"
                };
                let slow = path.ends_with("/slow");
                log.lock().unwrap().push(Seen {
                    method,
                    path,
                    headers,
                    body,
                });
                if slow {
                    std::thread::sleep(Duration::from_secs(3));
                }
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                );
            });
        }
    });
    (base, seen)
}

const PLAN: &str = r#"[plan]
name = "flag-flip"
description = "Flip a flag, call a hook"

[targets.flags]
kind = "http"
url = "env:EBB_TEST_FLAGS_URL"

[[step]]
id = "flag-off"
kind = "http"
target = "flags"
request = { method = "PUT", url = "/flags/split", json = { enabled = false }, headers = { Authorization = "env:EBB_TEST_FLAG_TOKEN" } }
undo = { method = "PUT", url = "/flags/split", json = { enabled = true }, headers = { Authorization = "env:EBB_TEST_FLAG_TOKEN" } }
expect_status = 200

[[step]]
id = "notify"
kind = "http"
target = "flags"
request = { method = "POST", url = "/hook", json = { text = "flag off" } }
undo = { method = "POST", url = "/hook", json = { text = "never mind" } }
retries = 1
backoff = "100ms"
on_failure = "rollback"
"#;

#[test]
fn a_flag_flip_is_undone_when_a_later_step_keeps_failing_and_secrets_stay_out() {
    let (base, seen) = server();
    let home = tempfile::tempdir().unwrap();
    let plan = home.path().join("flag.toml");
    std::fs::write(&plan, PLAN).unwrap();
    // The base URL carries a path secret; the token is a header secret.
    let url = format!("{base}/t0ken-in-url");
    let mut c = ebb(home.path());
    c.env("EBB_TEST_FLAGS_URL", &url)
        .env("EBB_TEST_FLAG_TOKEN", "Bearer s3cret")
        .args(["run", "--headless", "--json", "--yes"])
        .arg(&plan);
    let mut h = Headless::start(c);
    let end = h.until(|v| v["View"]["status"]["Finished"].is_string());
    assert_eq!(end["View"]["status"]["Finished"], "RolledBack", "{end}");
    assert!(h.wait_exit(Duration::from_secs(10)));

    let seen = seen.lock().unwrap().clone();
    let summary: Vec<(String, String)> = seen
        .iter()
        .map(|s| (s.method.clone(), s.path.clone()))
        .collect();
    let flag = ("PUT".to_string(), "/t0ken-in-url/flags/split".to_string());
    let hook = ("POST".to_string(), "/t0ken-in-url/hook".to_string());
    assert_eq!(
        summary,
        vec![flag.clone(), hook.clone(), hook, flag],
        "{seen:?}"
    );
    assert_eq!(seen[0].body, serde_json::json!({ "enabled": false }));
    assert_eq!(seen[3].body, serde_json::json!({ "enabled": true }));
    assert_eq!(seen[0].headers["authorization"], "Bearer s3cret");
    let key = |s: &Seen| s.headers["idempotency-key"].clone();
    assert!(key(&seen[0]).ends_with("/flag-off"), "{seen:?}");
    assert!(key(&seen[3]).ends_with("/flag-off/undo"), "{seen:?}");
    assert_eq!(key(&seen[1]), key(&seen[2]), "a retry keeps its key");

    // What ebb recorded (journal, audit) names the path, never the secrets.
    let id = crate::support::headless::runs(home.path())[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let show = ebb(home.path())
        .args(["runs", "show", &id, "--json"])
        .output()
        .unwrap();
    let journal = String::from_utf8_lossy(&show.stdout);
    assert!(journal.contains("flags/hook returned 503"), "{journal}");
    let audit = ebb(home.path()).args(["audit", "export"]).output().unwrap();
    let audit = String::from_utf8_lossy(&audit.stdout);
    for text in [&*journal, &*audit] {
        assert!(
            !text.contains("s3cret") && !text.contains("t0ken-in-url"),
            "{text}"
        );
    }
}

#[test]
fn an_http_step_that_does_not_answer_times_out() {
    let (base, _) = server();
    let home = tempfile::tempdir().unwrap();
    let plan = home.path().join("slow.toml");
    std::fs::write(
        &plan,
        r#"[plan]
name = "slow"
description = "A request that hangs"

[targets.svc]
kind = "http"
url = "env:EBB_TEST_SVC_URL"

[[step]]
id = "call"
kind = "http"
target = "svc"
request = { method = "POST", url = "/slow" }
undo = { method = "POST", url = "/undo" }
timeout = "1s"
on_failure = "abort"
"#,
    )
    .unwrap();
    let mut c = ebb(home.path());
    c.env("EBB_TEST_SVC_URL", &base)
        .args(["run", "--headless", "--json", "--yes"])
        .arg(&plan);
    let mut h = Headless::start(c);
    let note = h.until(|v| {
        v["Note"]["text"]
            .as_str()
            .is_some_and(|t| t.contains("call failed"))
    });
    assert!(
        note["Note"]["text"]
            .as_str()
            .unwrap()
            .contains("timed out after 1"),
        "{note}"
    );
    let end = h.until(|v| status_is(v, "Finished") || v["View"]["status"]["Finished"].is_string());
    assert_eq!(end["View"]["status"]["Finished"], "Aborted", "{end}");
}
