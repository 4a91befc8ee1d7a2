//! Console recording and replay: the real `ebb drill` in a pseudo-terminal records what
//! drives its screen; its recording replays every frame it drew, digest for digest, and the
//! screen it showed last. Also the store's recordings on SQLite and PostgreSQL.

use std::thread;
use std::time::{Duration, Instant};

use ebb::replay::Player;
use ebb::replay::entry::{Entry, compress, decode_chunk, encode_line};
use ebb::store::{NewChunk, Store};
use ebb::time::Timestamp;
use ebb::tui::replayed::{render_at, verify_frames};
use ratatui::buffer::Buffer;

use crate::e2e::Console;
use crate::support::pg::PgCluster;

/// The screen's text as a terminal shows it: the cell after a wide character is not text,
/// trailing blanks and blank last lines are not kept.
fn buffer_text(buf: &Buffer) -> String {
    let (w, h) = (buf.area.width as usize, buf.area.height as usize);
    let mut lines = Vec::with_capacity(h);
    for y in 0..h {
        let mut line = String::new();
        let mut skip = 0;
        for x in 0..w {
            let sym = buf.content[y * w + x].symbol();
            if skip > 0 {
                skip -= 1;
                continue;
            }
            line.push_str(sym);
            skip = unicode_width::UnicodeWidthStr::width(sym).saturating_sub(1);
        }
        lines.push(line.trim_end().to_string());
    }
    normalize(&lines.join("\n"))
}

fn normalize(text: &str) -> String {
    let lines: Vec<&str> = text.lines().map(str::trim_end).collect();
    let keep = lines
        .iter()
        .rposition(|l| !l.is_empty())
        .map_or(0, |i| i + 1);
    lines[..keep].join("\n")
}

fn state_store(home: &std::path::Path) -> String {
    home.join("state/ebb/ebb.db").to_string_lossy().into_owned()
}

/// A seeded drill at 100× (ten minutes of world time in six seconds) in process, driven
/// with run control and view keys, then quit: every recorded frame replays to the same
/// digest, and the last screen the terminal showed is a replayed screen of its last moments.
#[test]
fn a_replayed_drill_draws_every_frame_the_console_drew() {
    let c = Console::spawn_with(&["drill", "--seed", "7", "--speed", "100"], &[], |_| {});
    drive_and_verify(c, b"q", &[]);
}

/// The same for a console attached to a runner's run (`ebb run --drill`), which follows
/// the run through the store; it leaves with `q d` (detach).
#[test]
fn a_replayed_attached_console_draws_every_frame_it_drew() {
    let plan = format!(
        "{}/examples/plans/backfill-slot-fill.toml",
        env!("CARGO_MANIFEST_DIR")
    );
    let c = Console::spawn_with(
        &["run", &plan, "--drill", "--seed", "7", "--speed", "100"],
        &[],
        |_| {},
    );
    drive_and_verify(c, b"q", b"d");
}

fn drive_and_verify(mut c: Console, quit: &[u8], then: &[u8]) {
    c.wait_for("the first frame", |s| s.contents().contains("DRILL"));
    let began = Instant::now();
    let keys: &[(&[u8], u64)] = &[
        (b"r", 800),
        (b"\t", 300),
        (b"z", 600),
        (b"p", 900),
        (b"z", 300),
        (b"g", 50),
        (b"g", 400),
        (b"r", 900),
        (b"?", 500),
    ];
    for (k, ms) in keys {
        c.send(k);
        thread::sleep(Duration::from_millis(*ms));
    }
    c.send_esc();
    c.send(b"6");
    // Ten minutes of world time at 100×.
    while began.elapsed() < Duration::from_secs(6) {
        thread::sleep(Duration::from_millis(100));
    }
    // A screen read while a frame is still arriving is no frame at all: read it until two
    // reads a moment apart agree (the screen changes about once a second here).
    let mut last_screen = c.with_screen_text();
    for _ in 0..20 {
        thread::sleep(Duration::from_millis(150));
        let again = c.with_screen_text();
        if again == last_screen {
            break;
        }
        last_screen = again;
    }
    c.send(quit);
    if !then.is_empty() {
        thread::sleep(Duration::from_millis(300));
        c.send(then);
    }
    let status = c.wait_exit();
    assert!(status.success(), "{status:?}\n{}", c.describe());

    let spec = state_store(c.home());
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (mut player, consoles, run_id) = rt.block_on(async {
        let store = Store::open(&spec).await.unwrap();
        let run = store.runs().await.unwrap().remove(0);
        let consoles = store.recorded_consoles(&run.id).await.unwrap();
        let p = Player::load(&store, &run.id, None).await.unwrap();
        (p, consoles, run.id)
    });
    assert_eq!(consoles.len(), 1, "{consoles:?}");
    let secs = (consoles[0].last_ms - consoles[0].first_ms) as f64 / 1000.0;
    println!(
        "recorded {} entries, {} bytes compressed in {secs:.1} s: {:.0} bytes/s",
        consoles[0].entries,
        consoles[0].bytes,
        consoles[0].bytes as f64 / secs
    );
    let theme = ebb::config::theme_by_name("dark").unwrap();
    let (frames, bad) = verify_frames(&player, &theme);
    assert!(frames >= 8, "only {frames} frames were recorded");
    assert!(
        bad.is_empty(),
        "{} of {frames} frames differ: {bad:?}",
        bad.len()
    );

    // The terminal's last screen, before leaving, is the replayed screen at one of the
    // last moments recorded before it.
    let actions: Vec<&str> = player.actions().iter().map(|(_, a)| a.as_str()).collect();
    for a in [
        "run.resume",
        "run.pause",
        "pane.zoom",
        "help.toggle",
        "app.quit",
    ] {
        assert!(actions.contains(&a), "{a} not among {actions:?}");
    }
    let quit_at = player
        .actions()
        .iter()
        .find(|(_, a)| a == "app.quit")
        .map(|(t, _)| *t)
        .unwrap();
    let candidates: Vec<Timestamp> = player
        .times()
        .iter()
        .copied()
        .filter(|t| *t < quit_at && quit_at.0 - t.0 <= 3_000)
        .collect();
    let keymap = player.keymap().clone();
    let want = normalize(&last_screen);
    let shown: Vec<String> = candidates
        .iter()
        .map(|t| buffer_text(&render_at(&mut player, *t, &keymap, &theme)))
        .collect();
    assert!(
        shown.contains(&want),
        "the terminal's last screen is no replayed screen of the last 3 s\n--- terminal ---\n{want}\n--- last replayed ---\n{}",
        shown.last().cloned().unwrap_or_default()
    );
    assert_eq!(player.size_at(quit_at), (160, 48));

    // `ebb screenshot --replay` draws the same screen to SVG, at an offset or a time.
    let svg = c.home().join("at.svg");
    let at_time = player.span().0.plus(Duration::from_secs(3)).rfc3339();
    for at in ["3s", at_time.as_str()] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_ebb"))
            .args(["screenshot", "--replay", &run_id, "--at", at, "-o"])
            .arg(&svg)
            .env("HOME", c.home())
            .env("XDG_STATE_HOME", c.home().join("state"))
            .env_remove("EBB_STORE")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = std::fs::read_to_string(&svg).unwrap();
        assert!(text.contains("DRILL") && text.contains("<svg"), "{at}");
    }
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ebb"))
        .args(["screenshot", "--replay", &run_id, "--at", "2h", "-o"])
        .arg(&svg)
        .env("HOME", c.home())
        .env("XDG_STATE_HOME", c.home().join("state"))
        .env_remove("EBB_STORE")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("outside the recording"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The run's report charts what was observed: an in-process drill's from this
    // console's recording, a runner's from the batches it published; neither re-simulated.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ebb"))
        .args(["report", &run_id, "--format", "html"])
        .env("HOME", c.home())
        .env("XDG_STATE_HOME", c.home().join("state"))
        .env_remove("EBB_STORE")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let html = String::from_utf8_lossy(&out.stdout);
    assert!(!html.contains("re-simulated"), "observed, not re-simulated");
    assert_eq!(
        html.contains("from its recording"),
        then.is_empty(),
        "only the in-process drill's charts come from its console's recording"
    );
    assert!(html.contains("<polyline"), "the lag chart has a line");

    // `ebb replay` in a terminal: the banner, paused, a jump to the next action, and out.
    let mut r = Console::spawn_with(
        &["replay", &run_id],
        &[("EBB_STORE", spec.as_str())],
        |_| {},
    );
    r.wait_for("the replay's banner", |s| {
        s.contents().contains("REPLAY") && s.contents().contains(&run_id)
    });
    r.send(b" ");
    r.wait_for("paused", |s| s.contents().contains("paused"));
    r.send(b"]");
    r.wait_for("the scrub bar's action marks", |s| {
        s.contents().contains('▲')
    });
    r.send(b"q");
    let status = r.wait_exit();
    assert!(status.success(), "{status:?}\n{}", r.describe());
    r.assert_restored();
}

fn chunk(run: &str, console: &str, seq: i64, entries: &[(Timestamp, Entry)]) -> NewChunk {
    let mut lines = Vec::new();
    for (at, e) in entries {
        encode_line(&mut lines, *at, e).unwrap();
    }
    NewChunk {
        run_id: run.into(),
        console: console.into(),
        seq,
        operator: "alice".into(),
        first_ms: entries[0].0.0,
        last_ms: entries[entries.len() - 1].0.0,
        entries: entries.len() as i64,
        body: compress(&lines),
    }
}

async fn recordings_suite(store: &Store) {
    let model = ebb::app::Model::new("t".into(), "alice".into(), Timestamp(1_000));
    let start = Entry::Start {
        model: Box::new(model),
        width: 100,
        height: 30,
        keymap: "default".into(),
    };
    let key = Entry::Key(ebb::config::keymap::KeyChord::parse("tab").unwrap());
    let resize = Entry::Resize {
        width: 120,
        height: 40,
    };
    store
        .append_recording(&chunk(
            "r1",
            "c-b",
            0,
            &[
                (Timestamp(1_000), start.clone()),
                (Timestamp(1_500), key.clone()),
            ],
        ))
        .await
        .unwrap();
    store
        .append_recording(&chunk(
            "r1",
            "c-b",
            1,
            &[(Timestamp(6_000), resize.clone())],
        ))
        .await
        .unwrap();
    store
        .append_recording(&chunk("r1", "c-a", 0, &[(Timestamp(2_000), start.clone())]))
        .await
        .unwrap();
    store
        .append_recording(&chunk("r2", "c-z", 0, &[(Timestamp(9_000), start.clone())]))
        .await
        .unwrap();
    let consoles = store.recorded_consoles("r1").await.unwrap();
    let ids: Vec<(&str, i64, i64, i64, i64)> = consoles
        .iter()
        .map(|c| {
            (
                c.console.as_str(),
                c.first_ms,
                c.last_ms,
                c.entries,
                c.chunks,
            )
        })
        .collect();
    assert_eq!(
        ids,
        vec![("c-b", 1_000, 6_000, 3, 2), ("c-a", 2_000, 2_000, 1, 1)]
    );
    assert!(
        consoles
            .iter()
            .all(|c| c.operator == "alice" && c.bytes > 0)
    );
    let chunks = store.recording("r1", "c-b").await.unwrap();
    assert_eq!(chunks.iter().map(|c| c.seq).collect::<Vec<_>>(), vec![0, 1]);
    let back: Vec<(Timestamp, Entry)> = chunks
        .iter()
        .flat_map(|c| decode_chunk(c.seq, &c.body).unwrap())
        .collect();
    assert_eq!(
        back,
        vec![
            (Timestamp(1_000), start),
            (Timestamp(1_500), key),
            (Timestamp(6_000), resize)
        ]
    );
    // Two consoles: without --console, the first that drove (both did: the first to start).
    let p = Player::load(store, "r1", None).await.unwrap();
    assert_eq!((p.console().id.as_str(), p.console().of), ("c-b", 2));
    assert_eq!(p.size_at(Timestamp(5_999)), (100, 30));
    assert_eq!(p.size_at(Timestamp(6_000)), (120, 40));
    let err = Player::load(store, "r1", Some("c-x")).await.err().unwrap();
    assert!(err.to_string().contains("c-a (alice)"), "{err}");
    assert!(Player::load(store, "r3", None).await.is_err());
}

#[tokio::test]
async fn recordings_are_stored_listed_and_read_back_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("e.db").to_string_lossy())
        .await
        .unwrap();
    recordings_suite(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recordings_are_stored_listed_and_read_back_on_postgres() {
    let pg = PgCluster::start();
    pg.create_database("ebb").await;
    let store = Store::open(&pg.primary_url("ebb")).await.unwrap();
    recordings_suite(&store).await;
    store.close().await;
}

/// Text a source altered (an escape removed) replays as the console held it, not as its
/// escaped original read back through the bus's sanitizing path.
#[test]
fn altered_text_replays_as_the_console_held_it() {
    let text = ebb::text::DisplayText::new("evil\u{1b}[31mred");
    let model = ebb::app::Model::new(text.clone(), "alice".into(), Timestamp(0));
    let mut lines = Vec::new();
    let start = Entry::Start {
        model: Box::new(model),
        width: 80,
        height: 24,
        keymap: String::new(),
    };
    encode_line(&mut lines, Timestamp(0), &start).unwrap();
    let back = decode_chunk(0, &compress(&lines)).unwrap();
    let Entry::Start { model, .. } = &back[0].1 else {
        panic!("{back:?}")
    };
    assert_eq!(model.target, text);
    assert_eq!(model.target.as_str(), text.as_str());
}
