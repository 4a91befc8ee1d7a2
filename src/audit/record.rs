//! What one audit record holds: who (the operator's unix identity), when, which session,
//! what kind of event, the action and its target, redacted arguments, and its chain hashes.

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
    /// A public key (hex) admitted to the log's keyring: its checkpoints verify once a
    /// checkpoint by an already-admitted key seals this record.
    KeyAdmitted {
        public_key: String,
        /// Who (or which host) holds the private half, as the admin typed it.
        owner: String,
    },
    /// A public key (hex) taken off the keyring: its checkpoints after this record fail.
    KeyRevoked {
        public_key: String,
        reason: String,
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
            RecordKind::KeyAdmitted { .. } => "key_admitted",
            RecordKind::KeyRevoked { .. } => "key_revoked",
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
    /// The real user's login name from the password database (`uid:N` when the uid has
    /// no entry; never `$USER`, which anyone can set).
    pub user: String,
    /// The real user's groups by name (primary first, then supplementary), from the OS.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
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
    /// Reads the identity of this process: the password entry of getuid(), its groups,
    /// SUDO_USER, gethostname, ttyname(0), SSH_CONNECTION / SSH_CLIENT.
    pub fn from_env(annotation: Option<&str>) -> Operator {
        let nonempty = |v: Option<String>| v.filter(|s| !s.trim().is_empty());
        Operator {
            user: unix_user(),
            groups: unix_groups(),
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
    let uid = nix::unistd::getuid();
    match nix::unistd::User::from_uid(uid) {
        Ok(Some(u)) => u.name,
        _ => format!("uid:{uid}"),
    }
}

/// The names of the real gid and the supplementary groups (`gid:N` for a gid without a
/// name), without repeats.
fn unix_groups() -> Vec<String> {
    let mut gids = vec![nix::unistd::getgid()];
    gids.extend(nix::unistd::getgroups().unwrap_or_default());
    let mut names: Vec<String> = Vec::with_capacity(gids.len());
    for gid in gids {
        let name = match nix::unistd::Group::from_gid(gid) {
            Ok(Some(g)) => g.name,
            _ => format!("gid:{gid}"),
        };
        if !names.contains(&name) {
            names.push(name);
        }
    }
    names
}

/// This machine's host name (`unknown` when it cannot be read).
pub fn hostname() -> String {
    nix::unistd::gethostname()
        .map(|h| h.to_string_lossy().into_owned())
        .unwrap_or_else(|_| "unknown".to_string())
}

fn tty_name() -> Option<String> {
    nix::unistd::ttyname(std::io::stdin())
        .ok()
        .map(|p| p.to_string_lossy().into_owned())
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
    fn identity_comes_from_the_password_and_group_databases() {
        let op = Operator::from_env(None);
        let me = nix::unistd::User::from_uid(nix::unistd::getuid())
            .unwrap()
            .unwrap();
        assert_eq!(op.user, me.name);
        let primary = nix::unistd::Group::from_gid(nix::unistd::getgid())
            .unwrap()
            .unwrap();
        assert_eq!(op.groups.first(), Some(&primary.name), "{:?}", op.groups);
        // Groups are on record, and under the hash.
        let mut r = AuditRecord {
            seq: 1,
            at_ns: 1,
            session: "s".into(),
            kind: RecordKind::Note,
            operator: op.clone(),
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
        let with = crate::audit::canon::encode(&r);
        r.operator.groups.push("wheel".into());
        assert_ne!(crate::audit::canon::encode(&r), with);
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["operator"]["groups"][0], primary.name.as_str());
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

    #[test]
    fn keyring_kinds_serialize_flat_and_are_hashed() {
        let mut r = AuditRecord {
            seq: 3,
            at_ns: 1,
            session: "s".into(),
            kind: RecordKind::KeyAdmitted {
                public_key: "ab".into(),
                owner: "bob".into(),
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
        assert_eq!(v["kind"], "key_admitted");
        assert_eq!(v["owner"], "bob");
        let back = crate::audit::stored::parse_strict(3, &v.to_string()).unwrap();
        assert_eq!(back, r);
        let admitted = crate::audit::canon::encode(&r);
        r.kind = RecordKind::KeyRevoked {
            public_key: "ab".into(),
            reason: "bob".into(),
        };
        assert_eq!(r.kind.name(), "key_revoked");
        assert_ne!(crate::audit::canon::encode(&r), admitted);
    }
}
