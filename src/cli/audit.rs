//! `ebb audit verify|export|show|keygen|pubkey|keys`: check the audit log's chain and
//! signatures, export it for a SIEM, read it as a table, manage the signing key and keyring.

use crate::text::sanitize_lines;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};
use miette::{IntoDiagnostic, Report, miette};

use crate::audit;
use crate::audit::export::{SHOW_HEADER, export_jsonl, parse_since, rfc3339_ns, show_cells};
use crate::audit::keyring::{self, KeyState, Keyring};
use crate::audit::keys::{self, KeySource, public_hex};
use crate::audit::{Witness, check_witness, verified_rows, verify_rows, verify_texts};
use crate::store::{AuditQuery, Store, spec_from_env};

#[derive(Debug, Args)]
pub struct AuditArgs {
    #[command(subcommand)]
    pub command: AuditCommand,
    /// A SQLite file or postgres:// URL (default: EBB_STORE, else $XDG_STATE_HOME/ebb/ebb.db).
    #[arg(long, global = true, env = "EBB_STORE", hide_env_values = true)]
    pub store: Option<String>,
    /// The signing key file (default: $XDG_CONFIG_HOME/ebb/audit.key).
    #[arg(long, global = true, env = "EBB_AUDIT_KEY", hide_env_values = true)]
    pub key: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check the hash chain and checkpoint signatures; name the first bad record. Exit 0/1.
    Verify {
        /// A file holding the public key checkpoints must be signed with (64 hex digits, as
        /// `ebb audit pubkey` prints). Default: the key named by the log's genesis record.
        #[arg(long, value_name = "FILE")]
        pubkey: Option<PathBuf>,
        /// Verify a JSON Lines export instead of the store.
        #[arg(long)]
        from_file: Option<PathBuf>,
        /// Do not check against this host's witness of the last checkpoint it wrote.
        #[arg(long)]
        no_witness: bool,
    },
    /// Export records, one JSON object per line, as stored (with hash and prev_hash).
    Export {
        /// The output format (JSON lines, as stored).
        #[arg(long, value_enum, default_value_t = Format::Jsonl)]
        format: Format,
        /// Only records written at or after this time: RFC 3339 with any offset
        /// (2026-11-24T03:00:00Z, 2026-11-24T05:30:00+02:30) or a duration ago (1h, 30m, 2d).
        #[arg(long, value_name = "TIME", value_parser = parse_since)]
        since: Option<i64>,
        /// Keep exporting new records (polling every 500 ms) until interrupted.
        #[arg(long)]
        follow: bool,
    },
    /// The records as a readable table.
    Show {
        /// Only records written at or after this time: RFC 3339 with any offset
        /// (2026-11-24T03:00:00Z, 2026-11-24T05:30:00+02:30) or a duration ago (1h, 30m, 2d).
        #[arg(long, value_name = "TIME", value_parser = parse_since)]
        since: Option<i64>,
        /// At most this many records (the newest).
        #[arg(long)]
        limit: Option<usize>,
        /// Only the break-glass uses, unreviewed first.
        #[arg(long)]
        break_glass: bool,
    },
    /// Review a break-glass use (an approver of the policy in force), with a reason.
    Review {
        /// The use's record, as `ebb audit show --break-glass` numbers it.
        seq: u64,
        /// Why it was (or was not) justified.
        reason: String,
    },
    /// Create the signing key (mode 0600); refuses to replace one without --force.
    Keygen {
        /// Replace an existing key (its checkpoints then verify only if it stays admitted).
        #[arg(long)]
        force: bool,
    },
    /// Print the public key, as 64 hex digits (for `ebb audit verify --pubkey FILE`).
    Pubkey,
    /// The keyring: the public keys (one per operator or host) whose checkpoints the log
    /// accepts.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Admit a public key (64 hex digits, as `ebb audit keys show-mine` prints). Admins
    /// only; recorded in the audit log, and in effect once this session's checkpoint seals it.
    Add {
        /// The key to admit, 64 hex digits.
        public_key: String,
        /// Who (or which host) holds the private half.
        #[arg(long)]
        owner: String,
    },
    /// Revoke a public key: its checkpoints after this no longer verify, and a console with
    /// it cannot open the log. Admins only; recorded in the audit log.
    Revoke {
        /// The key to revoke, 64 hex digits.
        public_key: String,
        /// Why it is revoked (recorded with the revocation).
        #[arg(long)]
        reason: String,
        /// Needed to revoke the log's genesis key or your own key.
        #[arg(long)]
        yes: bool,
    },
    /// Every key admitted to the verified log, and what became of it.
    List {
        /// One JSON array of the keys.
        #[arg(long)]
        json: bool,
    },
    /// Print this operator's public key (creating the key if needed), for an admin to add.
    ShowMine,
}

/// Whether `who` may change the audit keyring (`ebb audit keys add|revoke`): the one place
/// the rule lives.
pub async fn require_admin(store: &Store, who: &audit::Operator) -> Result<(), String> {
    // With no policy in force, anyone whose key the keyring admits (so who can open the
    // log) may change it; with one, the admin role.
    match super::policy::in_force(store).await? {
        None => Ok(()),
        Some((_, policy)) => match policy.decide(&super::policy::identity(who), "audit.keys.add") {
            crate::policy::Decision::Allow => Ok(()),
            crate::policy::Decision::Deny { reason } => Err(reason),
            crate::policy::Decision::NeedsApproval { .. } => {
                Err("changing the keyring cannot wait for an approval".into())
            }
        },
    }
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Format {
    Jsonl,
}

pub fn run(args: AuditArgs) -> Result<ExitCode, Report> {
    let key_path = match &args.key {
        Some(p) => p.clone(),
        None => keys::default_key_path().into_diagnostic()?,
    };
    match args.command {
        AuditCommand::Keygen { force } => {
            let k = keys::create(&key_path, force).into_diagnostic()?;
            eprintln!(
                "wrote {} (mode 0600); public key (hex):",
                key_path.display()
            );
            println!("{}", public_hex(&k.verifying_key()));
            return Ok(ExitCode::SUCCESS);
        }
        AuditCommand::Pubkey => {
            let k = KeySource::File(key_path)
                .load_or_create()
                .into_diagnostic()?;
            println!("{}", public_hex(&k.verifying_key()));
            return Ok(ExitCode::SUCCESS);
        }
        AuditCommand::Keys {
            command: KeysCommand::ShowMine,
        } => {
            let k = KeySource::File(key_path.clone())
                .load_or_create()
                .into_diagnostic()?;
            let hex = public_hex(&k.verifying_key());
            eprintln!(
                "the public key of {}; an admin admits it with:\n  ebb audit keys add {hex} --owner NAME",
                key_path.display()
            );
            println!("{hex}");
            return Ok(ExitCode::SUCCESS);
        }
        _ => {}
    }
    let rt = super::setup::runtime()?;
    let spec = spec_from_env(args.store.as_deref());
    rt.block_on(async {
        match args.command {
            AuditCommand::Verify {
                pubkey,
                from_file,
                no_witness,
            } => {
                let pubkey = match pubkey {
                    Some(p) => {
                        let text = crate::input::read_text(&p).map_err(|e| miette!("{e}"))?;
                        Some(
                            keys::parse_public_key(&text)
                                .map_err(|e| miette!("{}: {e}", p.display()))?,
                        )
                    }
                    None => None,
                };
                // The witness before the rows: a console writing meanwhile only makes the
                // log longer than the witness, never shorter (no false "truncated").
                let witness = if no_witness {
                    Witness::default()
                } else {
                    Witness::load(&Witness::path_for(&key_path)).unwrap_or_default()
                };
                let (result, store_id) = match from_file {
                    Some(f) => {
                        let text = crate::input::read_text(&f).map_err(|e| miette!("{e}"))?;
                        let lines = text
                            .lines()
                            .enumerate()
                            .filter(|(_, l)| !l.trim().is_empty());
                        (
                            verify_texts(lines.map(|(n, l)| (n as u64 + 1, l)), pubkey),
                            None,
                        )
                    }
                    None => {
                        let store = super::setup::open_store(&spec).await?;
                        let rows = store
                            .audit_rows(AuditQuery::default())
                            .await
                            .into_diagnostic()?;
                        (verify_rows(&rows, pubkey), Some(store.identity()))
                    }
                };

                match result.and_then(|(records, report)| {
                    check_witness(&records, &witness, store_id.as_deref()).map(|()| report)
                }) {
                    Ok(report) => {
                        println!("{}", sanitize_lines(&report.to_string()));
                        Ok(ExitCode::SUCCESS)
                    }
                    // A failure can quote the stored record (a field name someone added):
                    // it is outside text, sanitized before it reaches the terminal.
                    Err(failure) => {
                        println!("{}", sanitize_lines(&failure.to_string()));
                        Ok(ExitCode::from(1))
                    }
                }
            }
            AuditCommand::Export {
                format: Format::Jsonl,
                since,
                follow,
            } => {
                let since_ns = since;
                let store = super::setup::open_store(&spec).await?;
                let stop = async {
                    let _ = tokio::signal::ctrl_c().await;
                };
                match export_jsonl(&store, since_ns, follow, &mut std::io::stdout(), stop).await {
                    Ok(()) => Ok(ExitCode::SUCCESS),
                    Err(e @ crate::audit::AuditError::NotVerified(_)) => {
                        eprintln!("ebb: {}", sanitize_lines(&e.to_string()));
                        Ok(ExitCode::from(1))
                    }
                    Err(e) => Err(miette!("{e}")),
                }
            }
            AuditCommand::Review { seq, reason } => {
                let store = super::setup::open_store(&spec).await?;
                let (records, _) = verified_rows(&store).await.map_err(|e| miette!("{e}"))?;
                super::break_glass::review(&store, &records, seq, &reason).await
            }
            AuditCommand::Show {
                since,
                limit,
                break_glass,
            } => {
                let since_ns = since;
                let store = super::setup::open_store(&spec).await?;
                let records = match verified_rows(&store).await {
                    Ok((records, _)) => records,
                    Err(e @ crate::audit::AuditError::NotVerified(_)) => {
                        eprintln!("ebb: {}", sanitize_lines(&e.to_string()));
                        return Ok(ExitCode::from(1));
                    }
                    Err(e) => return Err(miette!("{e}")),
                };
                if break_glass {
                    super::break_glass::print(&super::break_glass::uses(&records));
                    return Ok(ExitCode::SUCCESS);
                }
                let shown: Vec<_> = records
                    .iter()
                    .filter(|r| since_ns.is_none_or(|s| r.at_ns >= s))
                    .collect();
                let skip = limit.map_or(0, |l| shown.len().saturating_sub(l));
                let mut table = vec![SHOW_HEADER.map(String::from)];
                table.extend(shown[skip..].iter().map(|r| show_cells(r)));
                print_table(&table, 60).into_diagnostic()?;
                Ok(ExitCode::SUCCESS)
            }
            AuditCommand::Keys { command } => {
                let store = super::setup::open_store(&spec).await?;
                keys_command(&store, &key_path, command).await
            }
            AuditCommand::Keygen { .. } | AuditCommand::Pubkey => Ok(ExitCode::SUCCESS),
        }
    })
}

/// Prints `rows` as aligned columns, cutting cells wider than `max` columns.
fn print_table<const N: usize>(rows: &[[String; N]], max: usize) -> std::io::Result<()> {
    use unicode_width::UnicodeWidthStr;
    let mut widths = [0usize; N];
    for r in rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.width()).min(max);
        }
    }
    let mut out = std::io::stdout().lock();
    for r in rows {
        let mut line = String::new();
        for (i, (c, w)) in r.iter().zip(widths).enumerate() {
            let cell: String = if c.width() > w {
                c.chars().take(w.saturating_sub(1)).chain(['…']).collect()
            } else {
                c.clone()
            };
            line.push_str(&cell);
            if i + 1 < r.len() {
                line.push_str(&" ".repeat(w.saturating_sub(cell.width()) + 2));
            }
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

/// A keyring change, as asked.
enum Change {
    Add { owner: String },
    Revoke { reason: String, yes: bool },
}

async fn keys_command(
    store: &Store,
    key_path: &std::path::Path,
    command: KeysCommand,
) -> Result<ExitCode, Report> {
    match command {
        KeysCommand::Add { public_key, owner } => {
            change_keyring(store, key_path, &public_key, Change::Add { owner }).await
        }
        KeysCommand::Revoke {
            public_key,
            reason,
            yes,
        } => change_keyring(store, key_path, &public_key, Change::Revoke { reason, yes }).await,
        KeysCommand::List { json } => list_keys(store, json).await,
        KeysCommand::ShowMine => Ok(ExitCode::SUCCESS),
    }
}

/// `keys add|revoke`: checked against the keyring, then written through the caller's own
/// audit session (intent, the keyring record, outcome, and the closing checkpoint that
/// seals it). A refusal by `require_admin` is recorded too.
async fn change_keyring(
    store: &Store,
    key_path: &std::path::Path,
    public_key: &str,
    change: Change,
) -> Result<ExitCode, Report> {
    let key = keys::parse_public_key(public_key).map_err(|e| miette!("{public_key:?}: {e}"))?;
    let hex = public_hex(&key);
    let text = match &change {
        Change::Add { owner } => owner,
        Change::Revoke { reason, .. } => reason,
    };
    if text.trim().is_empty() {
        return Err(miette!(match change {
            Change::Add { .. } => "--owner must name who holds the key",
            Change::Revoke { .. } => "--reason must say why the key is revoked",
        }));
    }
    let ours = KeySource::File(key_path.to_path_buf())
        .load_or_create()
        .into_diagnostic()?;
    let ours = public_hex(&ours.verifying_key());
    let ring = keyring::read(store).await.map_err(|e| miette!("{e}"))?;
    let state = ring.state(&hex);
    let refuse = |why: String| {
        eprintln!("ebb: {}", sanitize_lines(&why));
        Ok(ExitCode::from(1))
    };
    match (&change, &state) {
        (Change::Add { .. }, KeyState::Admitted { admitted_seq })
        | (Change::Add { .. }, KeyState::Pending { admitted_seq }) => {
            println!("key {hex} is already admitted (seq {admitted_seq})");
            return Ok(ExitCode::SUCCESS);
        }
        (Change::Revoke { .. }, KeyState::Unknown) => {
            return refuse(format!("key {hex} is not on the audit keyring"));
        }
        (Change::Revoke { .. }, KeyState::Revoked { revoked_seq, .. }) => {
            return refuse(format!("key {hex} is already revoked (seq {revoked_seq})"));
        }
        (Change::Revoke { yes: false, .. }, _) if ring.genesis_key() == Some(hex.as_str()) => {
            return refuse(format!(
                "key {hex} is the log's genesis key: revoking it means no checkpoint of its holder verifies after this; pass --yes to revoke it"
            ));
        }
        (Change::Revoke { yes: false, .. }, _) if hex == ours => {
            return refuse(format!(
                "key {hex} is your own: after this, this host cannot write the audit log until an admin admits it again; pass --yes to revoke it"
            ));
        }
        _ => {}
    }
    let operator = audit::Operator::from_env(None);
    let session = format!(
        "s-{}-{}",
        crate::time::Timestamp::now().0,
        std::process::id()
    );
    let log = match audit::AuditLog::open(
        store,
        KeySource::File(key_path.to_path_buf()),
        session,
        operator.clone(),
    )
    .await
    {
        Ok(log) => log,
        Err(e) => {
            println!("AUDIT DOWN: {}", sanitize_lines(&e.to_string()));
            return Ok(ExitCode::from(super::EXIT_AUDIT_DOWN));
        }
    };
    let (action, args) = match &change {
        Change::Add { owner } => (
            "audit.keys.add",
            serde_json::json!({ "public_key": hex, "owner": owner }),
        ),
        Change::Revoke { reason, .. } => (
            "audit.keys.revoke",
            serde_json::json!({ "public_key": hex, "reason": reason }),
        ),
    };
    let written = async {
        log.append(audit::NewRecord {
            args,
            ..audit::NewRecord::intent(action)
        })
        .await?;
        if let Err(why) = require_admin(store, &operator).await {
            log.append(audit::NewRecord::outcome(
                action,
                &format!("refused: {why}"),
            ))
            .await?;
            return Ok(Err(why));
        }
        let seq = match &change {
            Change::Add { owner } => log.admit_key(&key, owner).await?,
            Change::Revoke { reason, .. } => log.revoke_key(&key, reason).await?,
        };
        log.append(audit::NewRecord::outcome(action, "applied"))
            .await?;
        Ok::<_, audit::AuditError>(Ok(seq))
    }
    .await;
    let closed = log.close().await;
    let seq = match written {
        Ok(Ok(seq)) => seq,
        Ok(Err(why)) => {
            // Refused by the policy in force (the refusal is on record): exit 7, as every
            // policy refusal does.
            eprintln!("ebb: {}", sanitize_lines(&format!("refused: {why}")));
            return Ok(ExitCode::from(super::policy::EXIT_REFUSED));
        }
        Err(e) => {
            println!("AUDIT DOWN: {}", sanitize_lines(&e.to_string()));
            return Ok(ExitCode::from(super::EXIT_AUDIT_DOWN));
        }
    };
    if let Err(e) = closed {
        eprintln!(
            "ebb: could not seal the audit log, so the change (seq {seq}) counts only from the next checkpoint by an admitted key: {}",
            sanitize_lines(&e.to_string())
        );
        return Ok(ExitCode::from(super::EXIT_UNSEALED));
    }
    match change {
        Change::Add { owner } => println!(
            "admitted key {hex} ({}) at seq {seq}",
            sanitize_lines(&owner)
        ),
        Change::Revoke { .. } => println!("revoked key {hex} at seq {seq}"),
    }
    Ok(ExitCode::SUCCESS)
}

/// `keys list`: the keyring of the verified log (nothing from a log that does not verify).
async fn list_keys(store: &Store, json: bool) -> Result<ExitCode, Report> {
    let records = match verified_rows(store).await {
        Ok((records, _)) => records,
        Err(e @ audit::AuditError::NotVerified(_)) => {
            eprintln!("ebb: {}", sanitize_lines(&e.to_string()));
            return Ok(ExitCode::from(1));
        }
        Err(e) => return Err(miette!("{e}")),
    };
    let ring = Keyring::from_records(&records);
    if json {
        let text = serde_json::to_string(ring.entries()).into_diagnostic()?;
        println!("{text}");
        return Ok(ExitCode::SUCCESS);
    }
    let safe = |s: &str| crate::text::DisplayText::new(s).as_str().to_string();
    let mut table = vec![
        [
            "STATUS",
            "KEY",
            "OWNER",
            "ADMITTED",
            "BY",
            "REVOKED",
            "CHECKPOINTS",
        ]
        .map(String::from),
    ];
    for e in ring.entries() {
        let admitted = if e.is_genesis() {
            format!("genesis, {}", rfc3339_ns(e.admitted_at_ns))
        } else {
            format!("seq {}, {}", e.admitted_seq, rfc3339_ns(e.admitted_at_ns))
        };
        let revoked = e.revoked.as_ref().map_or_else(String::new, |r| {
            format!(
                "seq {}, {}, by {}: {}",
                r.seq,
                rfc3339_ns(r.at_ns),
                r.by,
                r.reason
            )
        });
        table.push([
            e.status().to_string(),
            e.public_key.clone(),
            safe(&e.owner),
            admitted,
            safe(&e.admitted_by),
            safe(&revoked),
            e.checkpoints.to_string(),
        ]);
    }
    // Keys are printed whole (64 hex digits).
    print_table(&table, 80).into_diagnostic()?;
    Ok(ExitCode::SUCCESS)
}
