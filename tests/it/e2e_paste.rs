//! End to end: a real bracketed paste into `ebb drill` in a pseudo-terminal. A paste on the
//! main screen is dropped (run keys never fire); a paste into a note is recorded as typed.

use crate::e2e::Console;

/// The terminal's bracketed-paste framing around `text`.
fn bracketed(text: &str) -> Vec<u8> {
    let mut v = b"\x1b[200~".to_vec();
    v.extend_from_slice(text.as_bytes());
    v.extend_from_slice(b"\x1b[201~");
    v
}

fn audit_records(home: &std::path::Path) -> Vec<serde_json::Value> {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ebb"))
        .args(["audit", "export", "--format", "jsonl"])
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_STATE_HOME", home.join("state"))
        .env_remove("EBB_STORE")
        .output()
        .expect("run ebb");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect()
}

fn started() -> Console {
    let c = Console::spawn_with(&["drill"], &[], |_| {});
    c.wait_for("the first frame", |s| s.contents().contains("DRILL"));
    c
}

#[test]
fn a_paste_on_the_main_screen_fires_no_run_verb() {
    let mut c = started();
    // Every letter of this line is a run key in the default keymap somewhere (r, s, t, c…).
    c.send(&bracketed("kubectl get pods -n orders\rrsRAtcS\r"));
    c.wait_for("the paste is refused with a flash", |s| {
        s.contents().contains("paste ignored")
    });
    c.send(b"q");
    assert!(c.wait_exit().success());
    let records = audit_records(c.home());
    let intents: Vec<&str> = records
        .iter()
        .filter(|r| r["kind"] == "intent")
        .filter_map(|r| r["action"].as_str())
        .collect();
    assert_eq!(intents, vec!["app.quit"], "{records:#?}");
}

#[test]
fn a_paste_into_a_note_is_recorded_with_its_lines() {
    let mut c = started();
    c.send(b"m");
    c.wait_for("the note editor", |s| s.contents().contains("Note"));
    c.send(&bracketed("replica-2 lag 40s\r\nr s R A: not keys here"));
    c.wait_for("the pasted text in the editor", |s| {
        s.contents().contains("not keys here")
    });
    c.send(b"\x13"); // ctrl-s
    c.wait_for("the note recorded", |s| {
        s.contents().contains("note: replica-2")
    });
    c.send(b"q");
    assert!(c.wait_exit().success());
    let records = audit_records(c.home());
    let notes: Vec<String> = records
        .iter()
        .filter(|r| r["kind"] == "note")
        .map(|r| r.to_string())
        .collect();
    assert_eq!(notes.len(), 1, "{records:#?}");
    assert!(
        notes[0].contains("replica-2 lag 40s\\nr s R A: not keys here"),
        "{}",
        notes[0]
    );
    let verbs: Vec<&str> = records
        .iter()
        .filter(|r| r["kind"] == "intent")
        .filter_map(|r| r["action"].as_str())
        .filter(|a| a.starts_with("run."))
        .collect();
    assert!(verbs.is_empty(), "{verbs:?}");
}
