//! `ebb plan check PLAN [--json] [--rbac]`: validate a plan, every error located, for people
//! or CI (`--rbac`: its Kubernetes RBAC); `ebb plan approve`/`approvals`: signed plan digests.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};

use crate::plan::{Plan, PlanErrors};
use crate::store::spec_from_env;

/// Work with rollback plan files.
#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(subcommand)]
    pub command: PlanCommand,
}

#[derive(Debug, Subcommand)]
pub enum PlanCommand {
    /// Validate a plan: every error with file:line:col; exit 0 when valid, 1 when not.
    Check(CheckArgs),
    /// Approve a plan's digest: an approver of the policy in force signs it with their
    /// audit key; real runs of a policy with `require_approved` need one.
    Approve(ApproveArgs),
    /// The approvals in the store, oldest first.
    Approvals(ApprovalsArgs),
}

#[derive(Debug, Args)]
pub struct ApproveArgs {
    /// The plan file (TOML).
    pub plan: PathBuf,
    /// A SQLite file or postgres:// URL (default: EBB_STORE, else $XDG_STATE_HOME/ebb/ebb.db).
    #[arg(long, env = "EBB_STORE", hide_env_values = true)]
    pub store: Option<String>,
}

#[derive(Debug, Args)]
pub struct ApprovalsArgs {
    /// Only the approvals of this digest (`sha256:…`).
    #[arg(long)]
    pub digest: Option<String>,
    /// One JSON array of the approvals.
    #[arg(long)]
    pub json: bool,
    /// A SQLite file or postgres:// URL (default: EBB_STORE, else $XDG_STATE_HOME/ebb/ebb.db).
    #[arg(long, env = "EBB_STORE", hide_env_values = true)]
    pub store: Option<String>,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The plan file (TOML).
    pub plan: PathBuf,
    /// Print one JSON object (for CI) instead of a report.
    #[arg(long)]
    pub json: bool,
    /// When valid, print the least-privilege Kubernetes Role/ClusterRole (YAML) it needs.
    #[arg(long, conflicts_with = "json")]
    pub rbac: bool,
}

pub fn run(args: PlanArgs) -> Result<ExitCode, miette::Report> {
    match args.command {
        PlanCommand::Check(a) => check(&a),
        PlanCommand::Approve(a) => runtime()?.block_on(approve(&a)),
        PlanCommand::Approvals(a) => runtime()?.block_on(approvals(&a)),
    }
}

use super::setup::runtime;

/// Signs the plan's digest as an approver of the policy in force, stores the approval
/// and audits it (`plan.approve`).
async fn approve(args: &ApproveArgs) -> Result<ExitCode, miette::Report> {
    use ed25519_dalek::Signer;

    use super::policy::{APPROVAL_PREFIX, EXIT_REFUSED, identity, in_force, open_store};
    use crate::audit::{EntryKind, NewRecord, Operator};
    use crate::policy::PolicyRole;

    let plan = match Plan::load(&args.plan) {
        Ok(p) => p,
        Err(errors) => {
            print_errors(errors);
            return Ok(ExitCode::from(1));
        }
    };
    let spec = spec_from_env(args.store.as_deref());
    let store = open_store(&spec).await?;
    let op = Operator::from_env(None);
    let Some((_, policy)) = in_force(&store).await.map_err(|e| miette::miette!("{e}"))? else {
        eprintln!("refused: no policy: nothing to approve against");
        return Ok(ExitCode::from(EXIT_REFUSED));
    };
    let who = identity(&op);
    if !policy.roles_of(&who).contains(&PolicyRole::Approver) {
        eprintln!(
            "refused: approving a plan needs the approver role (granted to {}); {} has {}",
            policy.granted_to(PolicyRole::Approver),
            crate::text::sanitize(&who.user),
            roles_text(&policy.roles_of(&who))
        );
        return Ok(ExitCode::from(EXIT_REFUSED));
    }
    let key = crate::audit::KeySource::Default
        .load_or_create()
        .map_err(|e| miette::miette!("{e}"))?;
    let signature = key.sign(format!("{APPROVAL_PREFIX}{}", plan.digest()).as_bytes());
    let log = super::drill::open_audit(&store, None)
        .await
        .map_err(|e| miette::miette!("AUDIT DOWN: {e}; the plan was not approved"))?;
    let id = store
        .approve_plan(&crate::store::NewPlanApproval {
            digest: plan.digest().to_string(),
            plan_name: plan.name.clone(),
            approver: op.display(),
            public_key: hex::encode(key.verifying_key().as_bytes()),
            signature: hex::encode(signature.to_bytes()),
            at: crate::time::Timestamp::now().0,
        })
        .await
        .map_err(|e| miette::miette!("{e}"))?;
    let rec = NewRecord {
        kind: EntryKind::Engine,
        action: Some("plan.approve".into()),
        args: serde_json::json!({ "digest": plan.digest(), "plan": plan.name, "approval": id }),
        plan_digest: Some(plan.digest().to_string()),
        ..NewRecord::default()
    };
    let audited = log.append(rec).await.map(|_| ());
    let sealed = log.close().await;
    if let Err(e) = audited.and(sealed) {
        eprintln!("warning: the approval is stored, but its audit record: {e}");
        return Ok(ExitCode::from(super::EXIT_UNSEALED));
    }
    println!(
        "approved: {} ({}) by {}",
        crate::text::sanitize(&plan.name),
        plan.digest(),
        crate::text::sanitize(&op.display())
    );
    store.close().await;
    Ok(ExitCode::SUCCESS)
}

fn roles_text(roles: &std::collections::BTreeSet<crate::policy::PolicyRole>) -> String {
    if roles.is_empty() {
        return "no role".into();
    }
    roles
        .iter()
        .map(|r| r.name())
        .collect::<Vec<_>>()
        .join(", ")
}

async fn approvals(args: &ApprovalsArgs) -> Result<ExitCode, miette::Report> {
    let spec = spec_from_env(args.store.as_deref());
    let store = super::policy::open_store(&spec).await?;
    let rows = store
        .plan_approvals(args.digest.as_deref())
        .await
        .map_err(|e| miette::miette!("{e}"))?;
    if args.json {
        let v: Vec<_> = rows
            .iter()
            .map(|a| {
                serde_json::json!({
                    "id": a.id, "digest": a.digest, "plan": a.plan_name, "approver": a.approver,
                    "public_key": a.public_key, "signature": a.signature,
                    "at": crate::time::Timestamp(a.at).rfc3339(),
                    "verifies": super::policy::signature_verifies(&a.digest, &a.public_key, &a.signature),
                })
            })
            .collect();
        println!("{}", serde_json::Value::Array(v));
    } else if rows.is_empty() {
        println!("no plan approvals in {}", store.identity());
    } else {
        for a in &rows {
            let ok = super::policy::signature_verifies(&a.digest, &a.public_key, &a.signature);
            println!(
                "{}  {}  {}  by {}{}",
                crate::time::Timestamp(a.at).rfc3339(),
                a.digest,
                crate::text::sanitize(&a.plan_name),
                crate::text::sanitize(&a.approver),
                if ok {
                    ""
                } else {
                    "  (SIGNATURE DOES NOT VERIFY)"
                }
            );
        }
    }
    store.close().await;
    Ok(ExitCode::SUCCESS)
}

fn check(args: &CheckArgs) -> Result<ExitCode, miette::Report> {
    let result = Plan::load(&args.plan);
    let ok = result.is_ok();
    if args.json {
        let report = json_report(&result);
        let mut out = std::io::stdout().lock();
        writeln!(out, "{report}").map_err(|e| miette::miette!("cannot write: {e}"))?;
    } else {
        match result {
            Ok(plan) if args.rbac => {
                eprintln!("{}", summary(&plan));
                let yaml = crate::backends::kubernetes::rbac::rbac(&plan)
                    .map_err(|e| miette::miette!("{e}"))?;
                print!("{yaml}");
            }
            Ok(plan) => println!("{}", summary(&plan)),
            Err(errors) => print_errors(errors),
        }
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// `ok: NAME (N steps, digest sha256:abcd…)`.
pub fn summary(plan: &Plan) -> String {
    let n = plan.steps.len();
    let short: String = plan.digest().chars().take(7 + 12).collect();
    format!(
        "ok: {} ({n} step{}, digest {short}…)",
        crate::text::sanitize(&plan.name),
        if n == 1 { "" } else { "s" }
    )
}

/// The report for people: the count, then each error as a miette snippet whose first line
/// is `file:line:col: message`.
fn print_errors(errors: PlanErrors) {
    eprintln!("{:?}", miette::Report::new(errors));
}

/// `{"ok":bool,"plan":…,"digest":…,"steps":…,"errors":[{"file","line","col","message","help"}]}`.
pub fn json_report(result: &Result<Plan, PlanErrors>) -> serde_json::Value {
    match result {
        Ok(plan) => serde_json::json!({
            "ok": true,
            "file": plan.source_name,
            "plan": plan.name,
            "digest": plan.digest(),
            "steps": plan.steps.len(),
            "errors": [],
        }),
        Err(errors) => serde_json::json!({
            "ok": false,
            "file": errors.name,
            "plan": null,
            "digest": null,
            "steps": null,
            "errors": errors.errors.iter().map(|e| serde_json::json!({
                "file": e.name,
                "line": e.line,
                "col": e.col,
                "message": e.message,
                "help": e.help,
            })).collect::<Vec<_>>(),
        }),
    }
}
