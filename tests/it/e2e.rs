//! End to end: the real `ebb drill` binary in a pseudo-terminal, its output fed through a
//! VT100 emulator. Keys go in as bytes, the screen is read back as text. Only the keys every
//! keymap binds are used: q, ?, tab, z, esc. Nothing here is timed; waits are generous
//! deadlines that only matter when something is broken.

use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use portable_pty::{Child, CommandBuilder, ExitStatus, MasterPty, PtySize, native_pty_system};

const COLS: u16 = 160;
const ROWS: u16 = 48;
/// How long any expected state may take to appear before the test fails.
const TIMEOUT: Duration = Duration::from_secs(10);
const POLL: Duration = Duration::from_millis(20);
/// A lone ESC followed quickly by another byte is read as Alt+key; leave a gap after it.
const ESC_GAP: Duration = Duration::from_millis(150);

const PANES: [&str; 6] = [
    "1 Migration",
    "2 Replication",
    "3 Storage",
    "4 Workload",
    "5 Plan",
    "6 Timeline",
];
const HELP_TITLE: &str = "Keys · keymap";
const TOO_SMALL: &str = "ebb needs a larger terminal";

/// A running `ebb drill` in a PTY. Dropping it kills the child if it is still running, so a
/// failing assertion never leaves a process behind.
pub(crate) struct Console {
    parser: Arc<Mutex<vt100::Parser>>,
    bytes: Arc<AtomicUsize>,
    eof: Arc<AtomicBool>,
    master: Box<dyn MasterPty + Send>,
    writer: Box<dyn Write + Send>,
    child: Box<dyn Child + Send + Sync>,
    _home: tempfile::TempDir,
}

impl Console {
    fn spawn() -> Console {
        Console::spawn_with(&["drill"], &[], |_| {})
    }

    /// `ebb ARGS…` with `env` added, in a fresh HOME (also the working directory) that
    /// `prepare` may put files in first.
    pub(crate) fn spawn_with(
        args: &[&str],
        env: &[(&str, &str)],
        prepare: impl FnOnce(&std::path::Path),
    ) -> Console {
        Console::spawn_command(env!("CARGO_BIN_EXE_ebb"), args, env, prepare)
    }

    /// `PROGRAM ARGS…` (e.g. `runuser -u USER -- ebb …`) with `env` added, from `/`.
    pub(crate) fn spawn_program(program: &str, args: &[&str], env: &[(&str, &str)]) -> Console {
        Console::spawn_command(program, args, env, |_| {})
    }

    fn spawn_command(
        program: &str,
        args: &[&str],
        env: &[(&str, &str)],
        prepare: impl FnOnce(&std::path::Path),
    ) -> Console {
        let home = tempfile::tempdir().expect("temp HOME");
        prepare(home.path());
        let config = home.path().join("config");
        let state = home.path().join("state");
        std::fs::create_dir_all(&config).unwrap();
        std::fs::create_dir_all(&state).unwrap();

        let pair = native_pty_system()
            .openpty(PtySize {
                rows: ROWS,
                cols: COLS,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("openpty");
        let mut cmd = CommandBuilder::new(program);
        cmd.args(args);
        cmd.cwd(if program == env!("CARGO_BIN_EXE_ebb") {
            home.path()
        } else {
            std::path::Path::new("/")
        });
        cmd.env("TERM", "xterm-256color");
        cmd.env("HOME", home.path());
        cmd.env("XDG_CONFIG_HOME", &config);
        cmd.env("XDG_STATE_HOME", &state);
        cmd.env_remove("NO_COLOR");
        cmd.env_remove("RUST_LOG");
        // The caller's environment last: it may share a store or a key between consoles.
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = pair.slave.spawn_command(cmd).expect("spawn ebb");
        // Only the child holds the slave now, so the reader sees EOF when the child is gone.
        drop(pair.slave);

        let parser = Arc::new(Mutex::new(vt100::Parser::new(ROWS, COLS, 0)));
        let bytes = Arc::new(AtomicUsize::new(0));
        let eof = Arc::new(AtomicBool::new(false));
        let mut reader = pair.master.try_clone_reader().expect("pty reader");
        {
            let parser = Arc::clone(&parser);
            let bytes = Arc::clone(&bytes);
            let eof = Arc::clone(&eof);
            thread::spawn(move || {
                let mut buf = [0u8; 8192];
                loop {
                    match reader.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            parser.lock().unwrap().process(&buf[..n]);
                            bytes.fetch_add(n, Ordering::SeqCst);
                        }
                    }
                }
                eof.store(true, Ordering::SeqCst);
            });
        }
        let writer = pair.master.take_writer().expect("pty writer");
        Console {
            parser,
            bytes,
            eof,
            master: pair.master,
            writer,
            child,
            _home: home,
        }
    }

    /// Spawns and waits for the first complete frame.
    fn started() -> Console {
        let c = Console::spawn();
        c.wait_for("the first frame", |s| {
            let t = s.contents();
            t.contains("DRILL") && PANES.iter().all(|p| t.contains(p))
        });
        c
    }

    pub(crate) fn home(&self) -> &std::path::Path {
        self._home.path()
    }

    pub(crate) fn send(&mut self, keys: &[u8]) {
        self.writer.write_all(keys).expect("write to pty");
        self.writer.flush().expect("flush pty");
    }

    /// Sends a lone ESC and leaves a gap so the next key is not read as Alt+key.
    pub(crate) fn send_esc(&mut self) {
        self.send(b"\x1b");
        thread::sleep(ESC_GAP);
    }

    pub(crate) fn pid(&self) -> libc::pid_t {
        self.child.process_id().expect("child pid") as libc::pid_t
    }

    pub(crate) fn signal(&self, sig: libc::c_int) {
        // SAFETY: kill(2) with our own child's pid and a valid signal number.
        let rc = unsafe { libc::kill(self.pid(), sig) };
        assert_eq!(rc, 0, "kill: {}", std::io::Error::last_os_error());
    }

    fn resize(&self, rows: u16, cols: u16) {
        self.parser
            .lock()
            .unwrap()
            .screen_mut()
            .set_size(rows, cols);
        self.master
            .resize(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("resize pty");
    }

    fn with_screen<T>(&self, f: impl FnOnce(&vt100::Screen) -> T) -> T {
        f(self.parser.lock().unwrap().screen())
    }

    /// The screen's text now.
    pub(crate) fn with_screen_text(&self) -> String {
        self.with_screen(|s| s.contents())
    }

    pub(crate) fn describe(&self) -> String {
        let contents = self.with_screen(|s| s.contents());
        format!(
            "--- screen ({} bytes read, eof {}) ---\n{contents}\n--- end of screen ---",
            self.bytes.load(Ordering::SeqCst),
            self.eof.load(Ordering::SeqCst),
        )
    }

    /// Polls every 20 ms until `cond` holds; panics with the screen after `TIMEOUT`.
    pub(crate) fn wait_for(&self, what: &str, cond: impl Fn(&vt100::Screen) -> bool) {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if self.with_screen(&cond) {
                return;
            }
            if Instant::now() >= deadline {
                panic!("timed out waiting for {what}\n{}", self.describe());
            }
            thread::sleep(POLL);
        }
    }

    /// Waits for the child to exit and for all of its output to be read.
    pub(crate) fn wait_exit(&mut self) -> ExitStatus {
        let deadline = Instant::now() + TIMEOUT;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                break status;
            }
            if Instant::now() >= deadline {
                panic!("timed out waiting for ebb to exit\n{}", self.describe());
            }
            thread::sleep(POLL);
        };
        while !self.eof.load(Ordering::SeqCst) {
            if Instant::now() >= deadline {
                panic!("ebb exited but its output never ended\n{}", self.describe());
            }
            thread::sleep(POLL);
        }
        status
    }

    /// The PTY's local mode flags (shared by master and slave on Linux).
    fn lflag(&self) -> libc::tcflag_t {
        let fd = self.master.as_raw_fd().expect("master fd");
        // SAFETY: a zeroed termios is a valid out-parameter for tcgetattr on an open fd.
        let mut t: libc::termios = unsafe { std::mem::zeroed() };
        let rc = unsafe { libc::tcgetattr(fd, &mut t) };
        assert_eq!(rc, 0, "tcgetattr: {}", std::io::Error::last_os_error());
        t.c_lflag
    }

    fn assert_raw(&self) {
        let l = self.lflag();
        assert_eq!(l & libc::ICANON, 0, "ICANON still set while the TUI runs");
        assert_eq!(l & libc::ECHO, 0, "ECHO still set while the TUI runs");
    }

    /// The terminal is handed back: main screen, visible cursor, cooked mode.
    pub(crate) fn assert_restored(&self) {
        let (alt, hidden) = self.with_screen(|s| (s.alternate_screen(), s.hide_cursor()));
        assert!(!alt, "still in the alternate screen\n{}", self.describe());
        assert!(!hidden, "cursor still hidden\n{}", self.describe());
        let l = self.lflag();
        assert_ne!(l & libc::ICANON, 0, "ICANON not restored (still raw)");
        assert_ne!(l & libc::ECHO, 0, "ECHO not restored (still raw)");
    }
}

impl Drop for Console {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// One char per cell, so a char index is a column.
fn grid(s: &vt100::Screen) -> Vec<Vec<char>> {
    let (rows, cols) = s.size();
    (0..rows)
        .map(|r| {
            (0..cols)
                .map(|c| {
                    s.cell(r, c)
                        .and_then(|cell| cell.contents().chars().next())
                        .unwrap_or(' ')
                })
                .collect()
        })
        .collect()
}

fn find(grid: &[Vec<char>], needle: &str) -> Option<(usize, usize)> {
    let n: Vec<char> = needle.chars().collect();
    grid.iter().enumerate().find_map(|(r, row)| {
        row.windows(n.len())
            .position(|w| w == n.as_slice())
            .map(|c| (r, c))
    })
}

/// The top-left corner of the pane titled `title` (" 1 Migration" sits right after it).
fn corner(s: &vt100::Screen, title: &str) -> Option<char> {
    let g = grid(s);
    let (r, c) = find(&g, title)?;
    (c >= 2 && g[r][c - 1] == ' ').then(|| g[r][c - 2])
}

fn visible_panes(s: &vt100::Screen) -> Vec<&'static str> {
    let t = s.contents();
    PANES.iter().copied().filter(|p| t.contains(p)).collect()
}

fn last_row(s: &vt100::Screen) -> String {
    let (rows, cols) = s.size();
    s.contents_between(rows - 1, 0, rows - 1, cols)
}

#[test]
fn first_frame_shows_header_panes_and_hints() {
    let c = Console::started();
    c.with_screen(|s| {
        let g = grid(s);
        let header: String = g[0].iter().collect();
        assert!(header.contains("DRILL"), "header: {header:?}");
        assert_eq!(visible_panes(s), PANES.to_vec());
        let hints = last_row(s);
        for h in ["help", "zoom", "quit"] {
            assert!(hints.contains(h), "hint bar lacks {h:?}: {hints:?}");
        }
        assert!(s.alternate_screen(), "not in the alternate screen");
        assert!(s.hide_cursor(), "cursor not hidden");
        // The first pane has focus: thick corner; the others are rounded.
        assert_eq!(corner(s, "1 Migration"), Some('┏'));
        for p in &PANES[1..] {
            assert_eq!(corner(s, p), Some('╭'), "corner of {p}");
        }
    });
    c.assert_raw();
}

#[test]
fn help_opens_and_esc_closes_it() {
    let mut c = Console::started();
    c.send(b"?");
    c.wait_for("the help overlay", |s| s.contents().contains(HELP_TITLE));
    c.send_esc();
    c.wait_for("the help overlay to close", |s| {
        let t = s.contents();
        !t.contains(HELP_TITLE) && PANES.iter().all(|p| t.contains(p))
    });
    // The key after ESC is read on its own (not as Alt+?): help opens again.
    c.send(b"?");
    c.wait_for("the help overlay again", |s| {
        s.contents().contains(HELP_TITLE)
    });
    c.send_esc();
    c.wait_for("the help overlay to close again", |s| {
        !s.contents().contains(HELP_TITLE)
    });
}

#[test]
fn tab_moves_focus_and_z_zooms() {
    let mut c = Console::started();
    c.send(b"\t");
    c.wait_for("focus on pane 2", |s| {
        corner(s, "2 Replication") == Some('┏') && corner(s, "1 Migration") == Some('╭')
    });
    c.with_screen(|s| {
        for p in PANES.iter().filter(|p| **p != "2 Replication") {
            assert_eq!(corner(s, p), Some('╭'), "corner of {p}");
        }
    });

    c.send(b"z");
    c.wait_for("only the focused pane, zoomed", |s| {
        visible_panes(s) == ["2 Replication"]
    });
    c.with_screen(|s| assert_eq!(corner(s, "2 Replication"), Some('┏')));

    c.send(b"z");
    c.wait_for("all panes again", |s| visible_panes(s) == PANES);
    c.with_screen(|s| assert_eq!(corner(s, "2 Replication"), Some('┏')));
}

#[test]
fn too_small_terminal_shows_a_message_and_recovers() {
    let c = Console::started();
    c.resize(15, 60);
    c.wait_for("the too-small message", |s| {
        let t = s.contents();
        t.contains(TOO_SMALL) && visible_panes(s).is_empty()
    });
    c.resize(ROWS, COLS);
    c.wait_for("the panes after growing back", |s| {
        let t = s.contents();
        !t.contains(TOO_SMALL) && visible_panes(s) == PANES && t.contains("DRILL")
    });
}

#[test]
fn q_quits_cleanly_and_restores_the_terminal() {
    let mut c = Console::started();
    c.assert_raw();
    c.send(b"q");
    let status = c.wait_exit();
    assert!(status.success(), "exit status {status:?}\n{}", c.describe());
    c.assert_restored();
}

fn signal_restores(sig: libc::c_int, name: &str, code: u32) {
    let mut c = Console::started();
    c.assert_raw();
    c.signal(sig);
    let status = c.wait_exit();
    assert!(!status.success(), "{name}: exit status {status:?}");
    assert_eq!(
        status.exit_code(),
        code,
        "{name}: exit status {status:?}\n{}",
        c.describe()
    );
    c.assert_restored();
    let said = c.with_screen(|s| s.contents().contains(&format!("{name} received")));
    assert!(said, "no word about {name}\n{}", c.describe());
}

#[test]
fn sigterm_exits_and_restores_the_terminal() {
    signal_restores(libc::SIGTERM, "SIGTERM", 143);
}

#[test]
fn sighup_exits_and_restores_the_terminal() {
    signal_restores(libc::SIGHUP, "SIGHUP", 129);
}

/// Runs `ebb` with the console's HOME and XDG directories.
fn ebb_in(home: &std::path::Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_ebb"))
        .args(args)
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_STATE_HOME", home.join("state"))
        .env_remove("EBB_STORE")
        .output()
        .expect("run ebb")
}

#[test]
fn every_key_action_is_audited_before_it_takes_effect_with_the_operator() {
    let mut c = Console::started();
    c.send(b"\t");
    c.wait_for("focus on Replication", |s| {
        corner(s, "2 Replication") == Some('┏')
    });
    c.send(b"z");
    c.wait_for("zoom", |s| visible_panes(s).len() == 1);
    c.send(b"z");
    c.wait_for("unzoom", |s| visible_panes(s).len() == 6);
    c.send(b"?");
    c.wait_for("help", |s| s.contents().contains(HELP_TITLE));
    c.send_esc();
    c.wait_for("help closed", |s| !s.contents().contains(HELP_TITLE));
    c.send(b"q");
    assert!(c.wait_exit().success());

    let out = ebb_in(c.home(), &["audit", "export", "--format", "jsonl"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let records: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    let kinds: Vec<&str> = records.iter().filter_map(|r| r["kind"].as_str()).collect();
    assert_eq!(kinds.first(), Some(&"genesis"), "{kinds:?}");
    assert_eq!(kinds.get(1), Some(&"session_start"), "{kinds:?}");
    assert_eq!(
        &kinds[kinds.len() - 2..],
        &["session_end", "checkpoint"],
        "{kinds:?}"
    );
    let intents: Vec<(&str, &str)> = records
        .iter()
        .filter(|r| r["kind"] == "intent")
        .map(|r| {
            (
                r["key"].as_str().unwrap_or("?"),
                r["action"].as_str().unwrap_or("?"),
            )
        })
        .collect();
    assert_eq!(
        intents,
        vec![
            ("tab", "pane.focus_next"),
            ("z", "pane.zoom"),
            ("z", "pane.zoom"),
            ("?", "help.toggle"),
            ("esc", "layer.close"),
            ("q", "app.quit"),
        ]
    );
    // SAFETY: getpwuid returns static storage; the name is copied out at once.
    let me = unsafe {
        let pw = libc::getpwuid(libc::getuid());
        std::ffi::CStr::from_ptr((*pw).pw_name)
            .to_string_lossy()
            .into_owned()
    };
    for r in &records {
        assert_eq!(r["operator"]["user"], me.as_str(), "{r}");
        assert!(
            r["operator"]["host"]
                .as_str()
                .is_some_and(|h| !h.is_empty()),
            "{r}"
        );
    }
    let verify = ebb_in(c.home(), &["audit", "verify"]);
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stdout)
    );
    assert!(String::from_utf8_lossy(&verify.stdout).starts_with("OK: "));
}

/// A store whose disk fills up just as the console leaves: the session's end cannot be
/// written, and the exit status says so (it was 0).
#[test]
fn a_session_that_cannot_be_sealed_exits_non_zero() {
    let mut c = Console::spawn_with(&["drill"], &[], |home| {
        let db = home.join("state/ebb/ebb.db");
        std::fs::create_dir_all(db.parent().unwrap()).unwrap();
        tokio::runtime::Runtime::new().unwrap().block_on(async {
            let s = ebb::store::Store::open(&db.to_string_lossy())
                .await
                .unwrap();
            s.close().await;
            let raw = sqlx::SqlitePool::connect(&format!("sqlite:{}", db.display()))
                .await
                .unwrap();
            sqlx::query(
                "CREATE TRIGGER full_disk BEFORE INSERT ON audit WHEN NEW.kind = 'session_end'
                 BEGIN SELECT RAISE(FAIL, 'database or disk is full'); END",
            )
            .execute(&raw)
            .await
            .unwrap();
            raw.close().await;
        });
    });
    c.wait_for("the first frame", |s| s.contents().contains("DRILL"));
    c.send(b"q");
    let status = c.wait_exit();
    assert_eq!(status.exit_code(), 5, "{status:?}\n{}", c.describe());
    let said = c.with_screen(|s| s.contents().contains("could not seal the audit log"));
    assert!(said, "{}", c.describe());
}
