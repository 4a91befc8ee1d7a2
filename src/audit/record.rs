//! What one audit record holds: who (the operator's unix identity), when, which session,
//! what kind of event, the action and its target, redacted arguments, and its chain hashes.

use std::ffi::CStr;

use serde::{Deserialize, Serialize};

/// One record of the log, as stored (JSON) and exported (one JSON object per line).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// 1 for the genesis record, then one more per record, across all consoles.
    pub seq: u64,
    /// UTC nanoseconds since the Unix epoch, when the record was written.
    pub at_ns: i64,
    /// The console session that wrote it.
    pub session: String,
    #[serde(flatten)]
    pub kind: RecordKind,
    pub operator: Operator,
    /// The key chord that triggered the action, e.g. `"g g"`.
    #[serde(default)]
    pub key: Option<String>,
    /// The action's stable dotted name, e.g. `run.pause`.
    #[serde(default)]
    pub action: Option<String>,
    #[serde(default)]
    pub run_id: Option<String>,
    #[serde(default)]
    pub step_id: Option<String>,
    /// Arguments, redacted.
    #[serde(default)]
    pub args: serde_json::Value,
    /// `applied`, `refused: <reason>`, an engine transition's result…; redacted.
    #[serde(default)]
    pub outcome: Option<String>,
    #[serde(default)]
    pub plan_digest: Option<String>,
    /// Free text (a note, a reason, an engine message); redacted and escaped.
    #[serde(default)]
    pub text: Option<String>,
    /// The previous record's hash (64 hex digits; zeros for genesis).
    pub prev_hash: String,
    /// SHA-256 over the domain, `prev_hash` and this record's canonical encoding (hex).
    pub hash: String,
}

/// What a record is about. Serialized flat into the record with a `"kind"` tag.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RecordKind {
    /// The first record of a log: names the key that signs its checkpoints (hex).
    Genesis {
        public_key: String,
    },
    SessionStart,
    SessionEnd,
    /// An action about to take effect (committed before it does).
    Intent,
    /// What became of an intent: `applied`, `refused: reason`.
    Outcome,
    /// A run transition: step started, applied, failed…
    Engine,
    /// Free text from a responder.
    Note,
    /// A signed statement that the chain up to `covers_seq` ends in `head_hash`.
    Checkpoint {
        covers_seq: u64,
        head_hash: String,
        /// Records covered (`covers_seq`: seqs are contiguous from 1).
        count: u64,
        /// Ed25519 over [`crate::audit::canon::checkpoint_message`] (hex).
        signature: String,
        /// The signer's public key (hex).
        public_key: String,
    },
}

impl RecordKind {
    /// The snake_case tag, as stored in the `kind` column.
    pub fn name(&self) -> &'static str {
        match self {
            RecordKind::Genesis { .. } => "genesis",
            RecordKind::SessionStart => "session_start",
            RecordKind::SessionEnd => "session_end",
            RecordKind::Intent => "intent",
            RecordKind::Outcome => "outcome",
            RecordKind::Engine => "engine",
            RecordKind::Note => "note",
            RecordKind::Checkpoint { .. } => "checkpoint",
        }
    }
}

/// The kinds a caller may append; genesis, sessions and checkpoints are the log's own.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum EntryKind {
    #[default]
    Intent,
    Outcome,
    Engine,
    Note,
}

impl From<EntryKind> for RecordKind {
    fn from(k: EntryKind) -> Self {
        match k {
            EntryKind::Intent => RecordKind::Intent,
            EntryKind::Outcome => RecordKind::Outcome,
            EntryKind::Engine => RecordKind::Engine,
            EntryKind::Note => RecordKind::Note,
        }
    }
}

/// A record to append; [`crate::audit::AuditLog::append`] fills in seq, time, session,
/// operator and hashes, and redacts `args`, `outcome` and `text` first.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NewRecord {
    pub kind: EntryKind,
    pub key: Option<String>,
    pub action: Option<String>,
    pub run_id: Option<String>,
    pub step_id: Option<String>,
    pub args: serde_json::Value,
    pub outcome: Option<String>,
    pub plan_digest: Option<String>,
    pub text: Option<String>,
}

impl NewRecord {
    /// An intent to perform `action` (dotted name).
    pub fn intent(action: &str) -> Self {
        NewRecord {
            kind: EntryKind::Intent,
            action: Some(action.to_string()),
            ..NewRecord::default()
        }
    }

    /// What became of `action`: `applied`, `refused: reason`…
    pub fn outcome(action: &str, outcome: &str) -> Self {
        NewRecord {
            kind: EntryKind::Outcome,
            action: Some(action.to_string()),
            outcome: Some(outcome.to_string()),
            ..NewRecord::default()
        }
    }

    /// A run transition (`what`, e.g. `step.applied`) of `run_id`.
    pub fn engine(run_id: &str, what: &str) -> Self {
        NewRecord {
            kind: EntryKind::Engine,
            action: Some(what.to_string()),
            run_id: Some(run_id.to_string()),
            ..NewRecord::default()
        }
    }

    /// A responder's note.
    pub fn note(text: &str) -> Self {
        NewRecord {
            kind: EntryKind::Note,
            text: Some(text.to_string()),
            ..NewRecord::default()
        }
    }
}

/// Who wrote a record: the unix identity of the process, never replaced by `--operator`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Operator {
    /// The real user's login name (password database, else `$USER`).
    pub user: String,
    /// `SUDO_USER` when running under sudo.
    #[serde(default)]
    pub sudo_user: Option<String>,
    pub host: String,
    /// `ttyname(0)`, when stdin is a terminal.
    #[serde(default)]
    pub tty: Option<String>,
    /// The SSH client's `address:port` (from `SSH_CONNECTION`, else `SSH_CLIENT`).
    #[serde(default)]
    pub ssh_client: Option<String>,
    /// `--operator NAME`: an annotation for drills on a shared terminal.
    #[serde(default)]
    pub annotation: Option<String>,
}

impl Operator {
    /// Reads the identity of this process: getpwuid_r(getuid()), SUDO_USER,
    /// gethostname, ttyname_r(0), SSH_CONNECTION / SSH_CLIENT.
    pub fn from_env(annotation: Option<&str>) -> Operator {
        let nonempty = |v: Option<String>| v.filter(|s| !s.trim().is_empty());
        Operator {
            user: unix_user(),
            sudo_user: nonempty(std::env::var("SUDO_USER").ok()),
            host: hostname(),
            tty: tty_name(),
            ssh_client: ssh_client(
                std::env::var("SSH_CONNECTION").ok().as_deref(),
                std::env::var("SSH_CLIENT").ok().as_deref(),
            ),
            annotation: nonempty(annotation.map(|a| a.trim().to_string())),
        }
    }

    /// `alice`, `root (sudo alice)`, `alice as "facilitator"`.
    pub fn display(&self) -> String {
        let mut who = self.user.clone();
        if let Some(s) = &self.sudo_user
            && *s != self.user
        {
            who = format!("{who} (sudo {s})");
        }
        if let Some(a) = &self.annotation {
            who = format!("{who} as \"{a}\"");
        }
        who
    }
}

fn unix_user() -> String {
    let mut buf = vec![0 as libc::c_char; 4096];
    // SAFETY: getpwuid_r writes into `pwd` and `buf` (whose length we pass) and sets
    // `result` to `&pwd` or null; the name is copied out before `buf` is dropped.
    let from_passwd = unsafe {
        let mut pwd: libc::passwd = std::mem::zeroed();
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        let rc = libc::getpwuid_r(
            libc::getuid(),
            &mut pwd,
            buf.as_mut_ptr(),
            buf.len(),
            &mut result,
        );
        if rc != 0 || result.is_null() || pwd.pw_name.is_null() {
            None
        } else {
            Some(CStr::from_ptr(pwd.pw_name).to_string_lossy().into_owned())
        }
    };
    from_passwd
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "unknown".to_string())
}

/// This machine's host name (`unknown` when it cannot be read).
pub fn hostname() -> String {
    let mut buf = [0 as libc::c_char; 256];
    // SAFETY: gethostname writes at most `buf.len()` bytes into `buf`; the last byte is
    // forced to NUL so CStr finds an end even if the name was truncated.
    unsafe {
        if libc::gethostname(buf.as_mut_ptr(), buf.len() - 1) != 0 {
            return "unknown".to_string();
        }
        buf[255] = 0;
        CStr::from_ptr(buf.as_ptr()).to_string_lossy().into_owned()
    }
}

fn tty_name() -> Option<String> {
    let mut buf = [0 as libc::c_char; 256];
    // SAFETY: ttyname_r writes a NUL-terminated name of at most `buf.len()` bytes, or
    // returns an error (stdin not a terminal) leaving `buf` unused.
    unsafe {
        if libc::ttyname_r(0, buf.as_mut_ptr(), buf.len()) != 0 {
            return None;
        }
        buf[255] = 0;
        Some(CStr::from_ptr(buf.as_ptr()).to_string_lossy().into_owned())
    }
}

/// `SSH_CONNECTION="client_ip client_port server_ip server_port"` or
/// `SSH_CLIENT="client_ip client_port server_port"` → `client_ip:client_port`
/// (`[ip]:port` for IPv6).
pub fn ssh_client(connection: Option<&str>, client: Option<&str>) -> Option<String> {
    [connection, client].into_iter().flatten().find_map(|v| {
        let mut parts = v.split_whitespace();
        let ip = parts.next()?;
        let port = parts.next()?;
        if ip.contains(':') {
            Some(format!("[{ip}]:{port}"))
        } else {
            Some(format!("{ip}:{port}"))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssh_client_prefers_connection() {
        assert_eq!(
            ssh_client(Some("10.0.0.5 52311 10.0.0.1 22"), Some("1.1.1.1 1 22")).as_deref(),
            Some("10.0.0.5:52311")
        );
        assert_eq!(
            ssh_client(None, Some("fe80::1 4000 22")).as_deref(),
            Some("[fe80::1]:4000")
        );
        assert_eq!(ssh_client(None, None), None);
        assert_eq!(ssh_client(Some(""), None), None);
    }

    #[test]
    fn annotation_annotates() {
        let op = Operator::from_env(Some(" facilitator "));
        assert!(!op.user.is_empty());
        assert_eq!(op.annotation.as_deref(), Some("facilitator"));
        assert!(op.display().starts_with(&op.user), "{}", op.display());
        assert!(op.display().ends_with("as \"facilitator\""));
        assert_eq!(Operator::from_env(Some("  ")).annotation, None);
    }

    #[test]
    fn kinds_serialize_flat() {
        let r = AuditRecord {
            seq: 2,
            at_ns: 1,
            session: "s".into(),
            kind: RecordKind::Checkpoint {
                covers_seq: 1,
                head_hash: "ab".into(),
                count: 1,
                signature: "cd".into(),
                public_key: "ef".into(),
            },
            operator: Operator::default(),
            key: None,
            action: None,
            run_id: None,
            step_id: None,
            args: serde_json::Value::Null,
            outcome: None,
            plan_digest: None,
            text: None,
            prev_hash: "00".into(),
            hash: "11".into(),
        };
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["kind"], "checkpoint");
        assert_eq!(v["covers_seq"], 1);
        let back: AuditRecord = serde_json::from_value(v).unwrap();
        assert_eq!(back, r);
    }
}
