//! `/` filters and `y` copy in the real `ebb drill` in a pseudo-terminal: the screen through
//! a VT100 emulator, and the raw output bytes for the OSC 52 clipboard sequence (which a
//! screen never shows). Waits are generous deadlines that only matter when something is broken.

use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use portable_pty::{Child, CommandBuilder, MasterPty, PtySize, native_pty_system};

const COLS: u16 = 160;
const ROWS: u16 = 48;
const TIMEOUT: Duration = Duration::from_secs(15);
const POLL: Duration = Duration::from_millis(20);
/// A lone ESC followed quickly by another byte is read as Alt+key; leave a gap after it.
const ESC_GAP: Duration = Duration::from_millis(150);
const OSC52: &[u8] = b"\x1b]52;c;";

/// `ebb drill` in a PTY, keeping both the parsed screen and every byte it wrote.
struct Drill {
    parser: Arc<Mutex<vt100::Parser>>,
    raw: Arc<Mutex<Vec<u8>>>,
    _master: Box<dyn MasterPty + Send>,
    writer: Box<dyn Write + Send>,
    child: Box<dyn Child + Send + Sync>,
    _home: tempfile::TempDir,
}

impl Drill {
    /// `ebb drill --seed 42` in a fresh HOME; `keymap` becomes the user's keymap overlay.
    fn start(keymap: Option<&str>) -> Drill {
        let home = tempfile::tempdir().unwrap();
        let config = home.path().join("config");
        let state = home.path().join("state");
        std::fs::create_dir_all(config.join("ebb")).unwrap();
        std::fs::create_dir_all(&state).unwrap();
        if let Some(text) = keymap {
            std::fs::write(config.join("ebb").join("keymap.toml"), text).unwrap();
        }
        let pair = native_pty_system()
            .openpty(PtySize {
                rows: ROWS,
                cols: COLS,
                pixel_width: 0,
                pixel_height: 0,
            })
            .unwrap();
        let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_ebb"));
        cmd.args(["drill", "--seed", "42"]);
        cmd.cwd(home.path());
        cmd.env("TERM", "xterm-256color");
        cmd.env("HOME", home.path());
        cmd.env("XDG_CONFIG_HOME", &config);
        cmd.env("XDG_STATE_HOME", &state);
        cmd.env_remove("NO_COLOR");
        cmd.env_remove("RUST_LOG");
        cmd.env_remove("EBB_STORE");
        let child = pair.slave.spawn_command(cmd).unwrap();
        drop(pair.slave);
        let parser = Arc::new(Mutex::new(vt100::Parser::new(ROWS, COLS, 0)));
        let raw = Arc::new(Mutex::new(Vec::new()));
        let mut reader = pair.master.try_clone_reader().unwrap();
        {
            let (parser, raw) = (Arc::clone(&parser), Arc::clone(&raw));
            thread::spawn(move || {
                let mut buf = [0u8; 8192];
                while let Ok(n) = reader.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    parser.lock().unwrap().process(&buf[..n]);
                    raw.lock().unwrap().extend_from_slice(&buf[..n]);
                }
            });
        }
        let writer = pair.master.take_writer().unwrap();
        let d = Drill {
            parser,
            raw,
            _master: pair.master,
            writer,
            child,
            _home: home,
        };
        d.wait_for("the first frame", |t| {
            t.contains("DRILL") && t.contains("6 Timeline")
        });
        d
    }

    fn send(&mut self, keys: &[u8]) {
        self.writer.write_all(keys).unwrap();
        self.writer.flush().unwrap();
    }

    fn send_esc(&mut self) {
        self.send(b"\x1b");
        thread::sleep(ESC_GAP);
    }

    fn screen(&self) -> String {
        self.parser.lock().unwrap().screen().contents()
    }

    fn wait_for(&self, what: &str, cond: impl Fn(&str) -> bool) {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let s = self.screen();
            if cond(&s) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}\n{s}"
            );
            thread::sleep(POLL);
        }
    }

    /// The payloads of every OSC 52 sequence written so far, decoded.
    fn copies(&self) -> Vec<String> {
        let raw = self.raw.lock().unwrap();
        let mut out = Vec::new();
        let mut rest: &[u8] = &raw;
        while let Some(i) = rest.windows(OSC52.len()).position(|w| w == OSC52) {
            rest = &rest[i + OSC52.len()..];
            let end = rest
                .iter()
                .position(|b| *b == 0x07)
                .expect("OSC 52 ends with BEL");
            out.push(String::from_utf8(decode(&rest[..end])).unwrap());
            rest = &rest[end..];
        }
        out
    }

    fn wait_for_copies(&self, n: usize) -> Vec<String> {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let c = self.copies();
            if c.len() >= n {
                return c;
            }
            assert!(
                Instant::now() < deadline,
                "no OSC 52 written\n{}",
                self.screen()
            );
            thread::sleep(POLL);
        }
    }
}

impl Drop for Drill {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Base64 decoding, for the test only (the binary only encodes).
fn decode(text: &[u8]) -> Vec<u8> {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bits = 0u32;
    let mut n = 0;
    let mut out = Vec::new();
    for c in text.iter().filter(|c| **c != b'=') {
        let v = A.iter().position(|a| a == c).expect("base64 character") as u32;
        bits = (bits << 6) | v;
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
            bits &= (1 << n) - 1;
        }
    }
    out
}

/// The Timeline pane's rows as text (right column, below its title, above its border).
fn timeline_rows(screen: &str) -> Vec<String> {
    let lines: Vec<&str> = screen.lines().collect();
    let Some(top) = lines.iter().position(|l| l.contains("6 Timeline")) else {
        return Vec::new();
    };
    lines[top + 1..]
        .iter()
        .take_while(|l| !l.contains('╰') && !l.contains('┗'))
        .map(|l| l.chars().skip(91).collect::<String>())
        .map(|l| {
            l.trim_matches(|c| c == '│' || c == '┃' || c == ' ')
                .to_string()
        })
        .filter(|l| !l.is_empty())
        .collect()
}

#[test]
fn slash_filters_the_timeline_esc_clears_and_y_copies_over_osc_52() {
    let mut d = Drill::start(None);
    // Something in the Timeline that the filter will hide: the freeze action.
    d.send(b"F");
    d.wait_for("the freeze in the Timeline", |s| s.contains("drill.freeze"));
    d.send(b"6/started\r");
    d.wait_for("the filtered Timeline", |s| {
        s.contains("6 Timeline /started")
    });
    let rows = timeline_rows(&d.screen());
    assert!(!rows.is_empty(), "{}", d.screen());
    assert!(
        rows.iter().all(|r| r.to_lowercase().contains("started")),
        "{rows:?}\n{}",
        d.screen()
    );
    assert!(!d.screen().contains("drill.freeze"), "{}", d.screen());

    // y: the selected row of the filtered pane, as the terminal's clipboard gets it.
    d.send(b"y");
    let copies = d.wait_for_copies(1);
    assert!(copies[0].contains("drill started"), "{copies:?}");
    d.wait_for("the copy's flash", |s| s.contains("copied 1 row"));

    // esc clears the filter: every row is back.
    d.send_esc();
    d.wait_for("the unfiltered Timeline", |s| {
        !s.contains("/started") && s.contains("drill.freeze")
    });

    // Without a filter, y copies the run id once a run exists.
    d.send(b"F");
    d.send(b"r");
    // The Plan pane's title, not the Timeline's "run r-… created" (which comes first).
    d.wait_for("a run id in the Plan pane", |s| {
        s.lines()
            .any(|l| l.contains("5 Plan") && l.contains(" run r-"))
    });
    d.send(b"y");
    let copies = d.wait_for_copies(2);
    let id = &copies[1];
    assert!(id.starts_with("r-") && !id.contains(' '), "{copies:?}");
    d.wait_for("the run id on screen", |s| {
        s.contains(&format!("run {id}")) && s.contains("copied run id")
    });
}

#[test]
fn y_unbound_in_the_user_keymap_writes_no_osc_52() {
    let mut d = Drill::start(Some("[main]\n\"y\" = \"none\"\n"));
    d.send(b"6/started\r");
    d.wait_for("the filtered Timeline", |s| {
        s.contains("6 Timeline /started")
    });
    d.send(b"y");
    d.wait_for("y said to be unbound", |s| s.contains("y is not bound"));
    // Keys are handled in order: once help is drawn, y has long been handled.
    d.send(b"?");
    d.wait_for("the help", |s| s.contains("Keys · keymap"));
    assert!(!d.screen().contains("clip.copy"), "{}", d.screen());
    assert!(d.copies().is_empty(), "{:?}", d.copies());
    let raw = d.raw.lock().unwrap();
    assert!(!raw.windows(4).any(|w| w == b"]52;"));
}
