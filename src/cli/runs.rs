//! `ebb runs list` and `ebb runs show RUN_ID`: what the store knows of runs, as a table
//! or JSON, with the journal of one run in order.

use std::process::ExitCode;

use clap::{Args, Subcommand};
use miette::{IntoDiagnostic, Report};

use crate::store::spec_from_env;
use crate::text::sanitize;
use crate::time::Timestamp;

#[derive(Debug, Args)]
pub struct RunsArgs {
    #[command(subcommand)]
    pub command: RunsCommand,
    /// A SQLite file or postgres:// URL (default: EBB_STORE, else $XDG_STATE_HOME/ebb/ebb.db).
    #[arg(long, global = true, env = "EBB_STORE", hide_env_values = true)]
    pub store: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum RunsCommand {
    /// Every run in the store, newest first.
    List {
        /// One JSON array of the runs (with runner, consoles and break-glass counts).
        #[arg(long)]
        json: bool,
    },
    /// One run and its journal.
    Show {
        /// The run (`ebb runs list` shows them).
        run_id: String,
        /// One JSON object: the run and its journal records.
        #[arg(long)]
        json: bool,
    },
}

pub fn run(args: RunsArgs) -> Result<ExitCode, Report> {
    let spec = spec_from_env(args.store.as_deref());
    let rt = super::setup::runtime()?;
    rt.block_on(async {
        let store = super::setup::open_store(&spec).await?;
        match args.command {
            RunsCommand::List { json } => {
                let runs = store.runs().await.into_diagnostic()?;
                let now = Timestamp::now().0;
                let consoles = store.consoles(None).await.into_diagnostic()?;
                let mut runners = std::collections::BTreeMap::new();
                for r in &runs {
                    if let Some(l) = store.lease(&r.id).await.into_diagnostic()? {
                        runners.insert(r.id.clone(), l);
                    }
                }
                let runner_of = |id: &str| {
                    runners.get(id).map(|l| {
                        let (host, pid) = crate::runner::bus::holder_place(&l.holder).unwrap_or_default();
                        (l.holder.clone(), host, pid, crate::runner::bus::runner_alive(l, now))
                    })
                };
                let consoles_of = |id: &str| consoles.iter().filter(|c| c.run_id == id).collect::<Vec<_>>();
                // Break-glass uses not yet reviewed, per run (from the verified audit log).
                let uses = crate::audit::verified_rows(&store)
                    .await
                    .map(|(records, _)| super::break_glass::uses(&records))
                    .unwrap_or_default();
                let unreviewed = |id: &str| uses.iter().filter(|u| u.run_id == id && u.review.is_none()).count();
                if json {
                    let v: Vec<_> = runs
                        .iter()
                        .map(|r| {
                            serde_json::json!({
                                "id": r.id, "plan": r.plan_name, "digest": r.plan_digest, "state": r.state,
                                "scenario": r.scenario, "seed": r.seed, "operator": r.operator,
                                "kube_context": r.kube_context, "kube_namespace": r.kube_namespace,
                                "created_at": Timestamp(r.created_at).rfc3339(), "updated_at": Timestamp(r.updated_at).rfc3339(),
                                "runner": runner_of(&r.id).map(|(holder, host, pid, alive)| serde_json::json!({
                                    "holder": holder, "host": host, "pid": pid, "alive": alive,
                                })),
                                "break_glass_unreviewed": unreviewed(&r.id),
                                "consoles": consoles_of(&r.id).iter().map(|c| serde_json::json!({
                                    "id": c.id, "operator": c.operator, "host": c.host, "pid": c.pid, "role": c.role,
                                    "attached_at": Timestamp(c.attached_at).rfc3339(),
                                })).collect::<Vec<_>>(),
                            })
                        })
                        .collect();
                    println!("{}", serde_json::to_string_pretty(&v).into_diagnostic()?);
                } else if runs.is_empty() {
                    println!("no runs in {spec}");
                } else {
                    println!(
                        "{:<26} {:<12} {:<28} {:<22} {:<16} {:<28} CONSOLES",
                        "RUN", "STATE", "PLAN", "UPDATED", "OPERATOR", "RUNNER"
                    );
                    for r in &runs {
                        let runner = match runner_of(&r.id) {
                            Some((_, host, pid, true)) => format!("{host}:{pid} alive"),
                            Some((_, host, pid, false)) => format!("{host}:{pid} gone"),
                            None => "-".to_string(),
                        };
                        let attached = consoles_of(&r.id)
                            .iter()
                            .map(|c| format!("{}@{} ({})", c.operator, c.host, c.role))
                            .collect::<Vec<_>>();
                        let mut attached = if attached.is_empty() { "-".to_string() } else { attached.join(", ") };
                        let n = unreviewed(&r.id);
                        if n > 0 {
                            attached.push_str(&format!("  ⚠ BREAK GLASS: {n} unreviewed"));
                        }
                        // Names come from plan files and the store: sanitized for the terminal.
                        println!(
                            "{:<26} {:<12} {:<28} {:<22} {:<16} {:<28} {}",
                            sanitize(&r.id),
                            sanitize(&r.state),
                            sanitize(&r.plan_name),
                            Timestamp(r.updated_at).rfc3339(),
                            sanitize(&r.operator),
                            sanitize(&runner),
                            sanitize(&attached),
                        );
                    }
                }
                Ok(ExitCode::SUCCESS)
            }
            RunsCommand::Show { run_id, json } => {
                let Some(r) = store.run(&run_id).await.into_diagnostic()? else {
                    return Err(miette::miette!("no run {run_id} in {spec}"));
                };
                let journal = store.journal(&run_id).await.into_diagnostic()?;
                if json {
                    let v = serde_json::json!({
                        "id": r.id, "plan": r.plan_name, "digest": r.plan_digest, "plan_path": r.plan_path,
                        "state": r.state, "scenario": r.scenario, "seed": r.seed, "operator": r.operator,
                        "kube_context": r.kube_context, "kube_namespace": r.kube_namespace,
                        "journal": journal.iter().map(|j| serde_json::json!({
                            "seq": j.seq, "at": Timestamp(j.at).rfc3339(), "kind": j.kind, "step": j.step_id,
                            "key": j.idempotency_key, "data": j.data,
                        })).collect::<Vec<_>>(),
                    });
                    println!("{}", serde_json::to_string_pretty(&v).into_diagnostic()?);
                } else {
                    // Every field can hold text from outside (plan names, server errors in
                    // the journal): each line is sanitized before it reaches the terminal.
                    let mut out = vec![
                        format!("run      {}", r.id),
                        format!("plan     {} ({})", r.plan_name, r.plan_digest),
                        format!("file     {}", r.plan_path),
                        format!("state    {}", r.state),
                        format!("operator {}", r.operator),
                    ];
                    if let Some(s) = &r.scenario {
                        out.push(format!("drill    {s} (seed {})", r.seed.unwrap_or(0)));
                    }
                    let kube = crate::plan::overrides::KubeOverride {
                        context: r.kube_context.clone(),
                        namespace: r.kube_namespace.clone(),
                    };
                    if let Some(k) = kube.describe() {
                        out.push(format!("kube     {k} (every kubernetes target)"));
                    }
                    out.push(String::new());
                    for j in journal {
                        out.push(format!(
                            "{:>4} {} {:<20} {:<22} {}",
                            j.seq,
                            Timestamp(j.at).rfc3339(),
                            j.kind,
                            j.step_id.unwrap_or_default(),
                            j.data
                        ));
                    }
                    for line in out {
                        println!("{}", sanitize(&line));
                    }
                }
                Ok(ExitCode::SUCCESS)
            }
        }
    })
}
