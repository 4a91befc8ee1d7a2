//! `ebb policy apply FILE` and `ebb policy show`: the policy in force, stored as versions in
//! the store and audited; plus the checks other commands share (identity, approved plans).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use miette::{Report, miette};

use crate::audit::{EntryKind, NewRecord, Operator};
use crate::diag::SourceFile;
use crate::policy::{Identity, Policy, PolicyRole};
use crate::store::{NewPolicy, PolicyRow, Store, spec_from_env};
use crate::text::sanitize;
use crate::time::Timestamp;

/// The exit status of a command the policy in force refuses (the reason is printed).
pub const EXIT_REFUSED: u8 = 7;

/// The bytes an approver signs for a plan: this prefix, then the plan's digest.
pub const APPROVAL_PREFIX: &str = "ebb plan approval\n";

/// Who may do what: apply a policy file to the store, show the one in force.
#[derive(Debug, Args)]
pub struct PolicyArgs {
    #[command(subcommand)]
    pub command: PolicyCommand,
    /// A SQLite file or postgres:// URL (default: EBB_STORE, else $XDG_STATE_HOME/ebb/ebb.db).
    #[arg(long, global = true, env = "EBB_STORE", hide_env_values = true)]
    pub store: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Validate FILE and put it in force as a new version (only an admin of the policy in
    /// force may, when there is one); exit 1 with every error located when it is invalid.
    Apply {
        /// The policy file (TOML; see examples/policy.toml).
        file: PathBuf,
    },
    /// The policy in force: version, digest, who applied it and when, and its text.
    Show {
        /// One JSON object: the policy in force and its text.
        #[arg(long)]
        json: bool,
    },
}

/// The identity a policy judges: the operator's login name and groups.
pub fn identity(op: &Operator) -> Identity {
    Identity {
        user: op.user.clone(),
        groups: op.groups.clone(),
    }
}

/// The policy in force in `store` (parsed again from its stored text), if any.
pub async fn in_force(store: &Store) -> Result<Option<(PolicyRow, Policy)>, String> {
    let Some(row) = store.policy().await.map_err(|e| e.to_string())? else {
        return Ok(None);
    };
    let file = SourceFile::new(
        format!("{} (policy version {})", row.source_name, row.version),
        row.text.clone(),
    );
    let policy = Policy::parse(&file).map_err(|e| {
        let first = e.errors.first().map(|e| e.line_form()).unwrap_or_default();
        format!("the stored policy does not validate: {first}")
    })?;
    Ok(Some((row, policy)))
}

/// Ok when `policy` does not require approved plans or `digest` has an approval whose
/// signature verifies; otherwise the digest and who can approve it.
pub async fn require_approved(store: &Store, policy: &Policy, digest: &str) -> Result<(), String> {
    if !policy.plans.require_approved {
        return Ok(());
    }
    let approvals = store
        .plan_approvals(Some(digest))
        .await
        .map_err(|e| e.to_string())?;
    if approvals
        .iter()
        .any(|a| signature_verifies(digest, &a.public_key, &a.signature))
    {
        return Ok(());
    }
    Err(format!(
        "plan digest {digest} has no approval; an approver ({}) approves it with `ebb plan approve PLAN`",
        policy.granted_to(PolicyRole::Approver)
    ))
}

/// Whether `signature` (hex) by `public_key` (hex) signs the approval of `digest`.
pub fn signature_verifies(digest: &str, public_key: &str, signature: &str) -> bool {
    let Ok(key) = crate::audit::keys::parse_public_key(public_key) else {
        return false;
    };
    let mut bytes = [0u8; 64];
    if hex::decode_to_slice(signature, &mut bytes).is_err() {
        return false;
    }
    let sig = ed25519_dalek::Signature::from_bytes(&bytes);
    let message = format!("{APPROVAL_PREFIX}{digest}");
    key.verify_strict(message.as_bytes(), &sig).is_ok()
}

pub use super::setup::open_store;

/// Appends one record to the audit log in a session of its own, sealed at once.
pub async fn audit_once(store: &Store, rec: NewRecord) -> Result<(), String> {
    let log = super::drill::open_audit(store, None).await?;
    log.append(rec).await.map_err(|e| e.to_string())?;
    log.close().await.map_err(|e| e.to_string())
}

pub fn run(args: PolicyArgs) -> Result<ExitCode, Report> {
    let spec = spec_from_env(args.store.as_deref());
    super::setup::runtime()?.block_on(async {
        match args.command {
            PolicyCommand::Apply { file } => apply(&spec, &file).await,
            PolicyCommand::Show { json } => show(&spec, json).await,
        }
    })
}

async fn apply(spec: &str, path: &std::path::Path) -> Result<ExitCode, Report> {
    let file = match SourceFile::read(path) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("{:?}", Report::new(e));
            return Ok(ExitCode::from(1));
        }
    };
    let policy = match Policy::parse(&file) {
        Ok(p) => p,
        Err(errors) => {
            eprintln!("{:?}", Report::new(errors));
            return Ok(ExitCode::from(1));
        }
    };
    let store = open_store(spec).await?;
    let op = Operator::from_env(None);
    if let Some((row, current)) = in_force(&store).await.map_err(|e| miette!("{e}"))?
        && !current
            .roles_of(&identity(&op))
            .contains(&PolicyRole::Admin)
    {
        eprintln!(
            "refused: only an admin of the policy in force (version {}, admin: {}) applies a new one; {} is not",
            row.version,
            current.granted_to(PolicyRole::Admin),
            sanitize(&op.user)
        );
        return Ok(ExitCode::from(EXIT_REFUSED));
    }
    // The audit log is opened before anything is stored: a policy is never put in force
    // unaudited.
    let log = super::drill::open_audit(&store, None)
        .await
        .map_err(|e| miette!("AUDIT DOWN: {e}; the policy was not applied"))?;
    let version = store
        .put_policy(&NewPolicy {
            digest: policy.digest().to_string(),
            source_name: policy.source_name.clone(),
            text: file.text.clone(),
            applied_by: op.display(),
            at: Timestamp::now().0,
        })
        .await
        .map_err(|e| miette!("{e}"))?;
    let rec = NewRecord {
        kind: EntryKind::Engine,
        action: Some("policy.apply".into()),
        args: serde_json::json!({
            "version": version,
            "digest": policy.digest(),
            "source_name": policy.source_name,
        }),
        ..NewRecord::default()
    };
    let audited = log.append(rec).await.map(|_| ());
    let sealed = log.close().await;
    if let Err(e) = audited.and(sealed) {
        eprintln!("warning: policy version {version} is in force, but its audit record: {e}");
        return Ok(ExitCode::from(super::EXIT_UNSEALED));
    }
    println!(
        "policy version {version} in force: {} ({})",
        sanitize(&policy.source_name),
        policy.digest()
    );
    store.close().await;
    Ok(ExitCode::SUCCESS)
}

async fn show(spec: &str, json: bool) -> Result<ExitCode, Report> {
    let store = open_store(spec).await?;
    let row = store.policy().await.map_err(|e| miette!("{e}"))?;
    match row {
        None if json => println!(
            "{}",
            serde_json::json!({ "store": store.identity(), "policy": null })
        ),
        None => println!(
            "no policy in {}: every user may drive every run",
            store.identity()
        ),
        Some(r) if json => println!(
            "{}",
            serde_json::json!({
                "store": store.identity(),
                "policy": {
                    "version": r.version,
                    "digest": r.digest,
                    "source_name": r.source_name,
                    "applied_by": r.applied_by,
                    "applied_at": Timestamp(r.applied_at).rfc3339(),
                    "text": r.text,
                },
            })
        ),
        Some(r) => {
            println!(
                "policy version {} in {}\ndigest {}\nfrom {}\napplied by {} at {}\n",
                r.version,
                store.identity(),
                r.digest,
                sanitize(&r.source_name),
                sanitize(&r.applied_by),
                Timestamp(r.applied_at).rfc3339()
            );
            print!("{}", crate::text::sanitize_lines(&r.text));
            if !r.text.ends_with('\n') {
                println!();
            }
        }
    }
    store.close().await;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::{Signer, SigningKey};

    #[test]
    fn approval_signatures_verify_for_their_digest_only() {
        let key = SigningKey::from_bytes(&[7u8; 32]);
        let digest = "sha256:abc";
        let sig = key.sign(format!("{APPROVAL_PREFIX}{digest}").as_bytes());
        let pk = hex::encode(key.verifying_key().as_bytes());
        let sig = hex::encode(sig.to_bytes());
        assert!(signature_verifies(digest, &pk, &sig));
        assert!(!signature_verifies("sha256:abd", &pk, &sig));
        assert!(!signature_verifies(digest, &pk, "00"));
    }
}
