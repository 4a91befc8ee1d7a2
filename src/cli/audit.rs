//! `ebb audit verify|export|show|keygen|pubkey`: check the audit log's chain and signatures,
//! export it as JSON Lines for a SIEM, read it as a table, and manage the signing key.

use crate::text::sanitize_lines;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};
use miette::{IntoDiagnostic, Report, miette};

use crate::audit::export::{SHOW_HEADER, export_jsonl, parse_since, show_cells};
use crate::audit::keys::{self, KeySource, public_hex};
use crate::audit::{Witness, check_witness, verified_rows, verify_rows, verify_texts};
use crate::store::{AuditQuery, Store, spec_from_env};

#[derive(Debug, Args)]
pub struct AuditArgs {
    #[command(subcommand)]
    pub command: AuditCommand,
    /// A SQLite file or postgres:// URL (default: EBB_STORE, else $XDG_STATE_HOME/ebb/ebb.db).
    #[arg(long, global = true)]
    pub store: Option<String>,
    /// The signing key file (default: $XDG_CONFIG_HOME/ebb/audit.key).
    #[arg(long, global = true, env = "EBB_AUDIT_KEY")]
    pub key: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check the hash chain and checkpoint signatures; name the first bad record. Exit 0/1.
    Verify {
        /// The public key checkpoints must be signed with (64 hex digits, as `ebb audit
        /// pubkey` prints). Default: the key named by the log's genesis record.
        #[arg(long)]
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
        #[arg(long, value_enum, default_value_t = Format::Jsonl)]
        format: Format,
        /// Only records written at or after this time (RFC 3339, e.g. 2026-11-24T03:00:00Z).
        #[arg(long)]
        since: Option<String>,
        /// Keep exporting new records (polling every 500 ms) until interrupted.
        #[arg(long)]
        follow: bool,
    },
    /// The records as a readable table.
    Show {
        #[arg(long)]
        since: Option<String>,
        /// At most this many records (the newest).
        #[arg(long)]
        limit: Option<usize>,
    },
    /// Create the signing key (mode 0600); refuses to replace one without --force.
    Keygen {
        #[arg(long)]
        force: bool,
    },
    /// Print the public key, as 64 hex digits (for `ebb audit verify --pubkey FILE`).
    Pubkey,
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
        _ => {}
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .into_diagnostic()?;
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
                        let store = open(&spec).await?;
                        let rows = store
                            .audit_rows(AuditQuery::default())
                            .await
                            .into_diagnostic()?;
                        (verify_rows(&rows, pubkey), Some(store.identity()))
                    }
                };
                let witness = if no_witness {
                    Witness::default()
                } else {
                    Witness::load(&Witness::path_for(&key_path)).unwrap_or_default()
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
                let since_ns = since
                    .as_deref()
                    .map(parse_since)
                    .transpose()
                    .map_err(|e| miette!("{e}"))?;
                let store = open(&spec).await?;
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
            AuditCommand::Show { since, limit } => {
                let since_ns = since
                    .as_deref()
                    .map(parse_since)
                    .transpose()
                    .map_err(|e| miette!("{e}"))?;
                let store = open(&spec).await?;
                let records = match verified_rows(&store).await {
                    Ok((records, _)) => records,
                    Err(e @ crate::audit::AuditError::NotVerified(_)) => {
                        eprintln!("ebb: {}", sanitize_lines(&e.to_string()));
                        return Ok(ExitCode::from(1));
                    }
                    Err(e) => return Err(miette!("{e}")),
                };
                let shown: Vec<_> = records
                    .iter()
                    .filter(|r| since_ns.is_none_or(|s| r.at_ns >= s))
                    .collect();
                let skip = limit.map_or(0, |l| shown.len().saturating_sub(l));
                let mut table = vec![SHOW_HEADER.map(String::from)];
                table.extend(shown[skip..].iter().map(|r| show_cells(r)));
                print_table(&table).into_diagnostic()?;
                Ok(ExitCode::SUCCESS)
            }
            AuditCommand::Keygen { .. } | AuditCommand::Pubkey => Ok(ExitCode::SUCCESS),
        }
    })
}

async fn open(spec: &str) -> Result<Store, Report> {
    Store::open(spec)
        .await
        .map_err(|e| miette!("{}", crate::store::open_failed(spec, &e)))
}

fn print_table(rows: &[[String; 8]]) -> std::io::Result<()> {
    use unicode_width::UnicodeWidthStr;
    let mut widths = [0usize; 8];
    for r in rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.width()).min(60);
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
