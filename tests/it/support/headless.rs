//! The real binary driven headless: a command with a private home and store, JSON lines
//! read until one matches, control lines written to its stdin.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn ebb(home: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ebb"));
    c.current_dir(root())
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_STATE_HOME", home.join("state"))
        .env("EBB_STORE", home.join("ebb.db"))
        .env_remove("NO_COLOR");
    c
}

pub struct Headless {
    pub child: Child,
    pub stdin: Option<ChildStdin>,
    lines: std::io::Lines<BufReader<ChildStdout>>,
}

impl Headless {
    pub fn start(mut c: Command) -> Headless {
        c.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut child = c.spawn().expect("spawn");
        let stdin = child.stdin.take();
        let lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        Headless {
            child,
            stdin,
            lines,
        }
    }

    /// Reads JSON lines until one satisfies `f`; panics with what was seen after 20 s.
    pub fn until(&mut self, f: impl Fn(&Value) -> bool) -> Value {
        self.until_within(Duration::from_secs(20), f)
    }

    /// Reads JSON lines until one satisfies `f`; panics with what was seen after `limit`
    /// (checked between lines).
    pub fn until_within(&mut self, limit: Duration, f: impl Fn(&Value) -> bool) -> Value {
        let start = Instant::now();
        let mut seen = Vec::new();
        while start.elapsed() < limit {
            match self.lines.next() {
                Some(Ok(l)) => {
                    let v: Value = serde_json::from_str(&l)
                        .unwrap_or_else(|e| panic!("not a JSON line: {l} ({e})"));
                    if f(&v) {
                        return v;
                    }
                    seen.push(l);
                }
                _ => break,
            }
        }
        let tail = seen.len().saturating_sub(40);
        panic!(
            "never saw the line; saw (last 40):\n{}",
            seen[tail..].join("\n")
        );
    }

    pub fn send(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        writeln!(stdin, "{line}").expect("write");
        stdin.flush().expect("flush");
    }
}

impl Headless {
    /// Closes its stdin: no more control lines.
    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for it to exit (at most `limit`), returning whether it did.
    pub fn wait_exit(&mut self, limit: Duration) -> bool {
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Ok(Some(_)) = self.child.try_wait() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }
}

impl Drop for Headless {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A miette report as one line of words (it wraps and draws borders).
pub fn flat(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes)
        .split_whitespace()
        .filter(|w| *w != "│" && *w != "×")
        .collect::<Vec<_>>()
        .join(" ")
}

pub fn status_is(v: &Value, s: &str) -> bool {
    v["View"]["status"] == s
}

pub fn runs(home: &Path) -> Vec<Value> {
    let out = ebb(home)
        .args(["runs", "list", "--json"])
        .output()
        .expect("runs");
    serde_json::from_slice(&out.stdout).expect("json")
}
