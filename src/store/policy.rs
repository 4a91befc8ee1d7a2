//! Governance in the store: each applied policy as a new version (the newest is in force)
//! and the approvers' signed approvals of plan digests.

use serde::Serialize;

use super::db::Db;
use super::dialect::{Args, Col, Dialect};
use super::{Store, StoreError};

/// A policy to store as the next version.
#[derive(Clone, Debug, PartialEq)]
pub struct NewPolicy {
    /// `sha256:…` of the file.
    pub digest: String,
    pub source_name: String,
    pub text: String,
    pub applied_by: String,
    /// Milliseconds since the Unix epoch; becomes `applied_at`.
    pub at: i64,
}

/// A stored policy version.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PolicyRow {
    pub version: i64,
    pub digest: String,
    pub source_name: String,
    pub text: String,
    pub applied_by: String,
    pub applied_at: i64,
}

/// An approval of a plan digest to store.
#[derive(Clone, Debug, PartialEq)]
pub struct NewPlanApproval {
    pub digest: String,
    pub plan_name: String,
    pub approver: String,
    /// The approver's Ed25519 public key, hex.
    pub public_key: String,
    /// The signature over `"ebb plan approval\n" + digest`, hex.
    pub signature: String,
    /// Milliseconds since the Unix epoch.
    pub at: i64,
}

/// A stored approval of a plan digest.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PlanApprovalRow {
    pub id: i64,
    pub digest: String,
    pub plan_name: String,
    pub approver: String,
    pub public_key: String,
    pub signature: String,
    pub at: i64,
}

impl Store {
    /// Stores a policy as the next version (in force from now); returns its version.
    pub async fn put_policy(&self, p: &NewPolicy) -> Result<i64, StoreError> {
        dispatch!(self, put_policy(p))
    }

    /// The policy in force: the newest version, if any.
    pub async fn policy(&self) -> Result<Option<PolicyRow>, StoreError> {
        dispatch!(self, policy())
    }

    /// Stores an approval of a plan digest; returns its id.
    pub async fn approve_plan(&self, a: &NewPlanApproval) -> Result<i64, StoreError> {
        dispatch!(self, approve_plan(a))
    }

    /// Approvals, oldest first: of one digest, or (None) of every digest.
    pub async fn plan_approvals(
        &self,
        digest: Option<&str>,
    ) -> Result<Vec<PlanApprovalRow>, StoreError> {
        dispatch!(self, plan_approvals(digest))
    }
}

async fn put_policy<DB: Dialect>(db: &Db<'_, DB>, p: &NewPolicy) -> Result<i64, StoreError> {
    let q = sqlx::query(
        "INSERT INTO policies (digest, source_name, text, applied_by, applied_at)
         VALUES ($1, $2, $3, $4, $5)
         RETURNING version",
    )
    .arg(p.digest.as_str())
    .arg(p.source_name.as_str())
    .arg(p.text.as_str())
    .arg(p.applied_by.as_str())
    .arg(p.at);
    let mut conn = db.conn().await?;
    Ok(db.fetch_one_on(&mut conn, q).await?.col("version")?)
}

async fn policy<DB: Dialect>(db: &Db<'_, DB>) -> Result<Option<PolicyRow>, StoreError> {
    let q = sqlx::query(
        "SELECT version, digest, source_name, text, applied_by, applied_at
         FROM policies ORDER BY version DESC LIMIT 1",
    );
    let Some(r) = db.fetch_optional(q).await? else {
        return Ok(None);
    };
    Ok(Some(PolicyRow {
        version: r.col("version")?,
        digest: r.col("digest")?,
        source_name: r.col("source_name")?,
        text: r.col("text")?,
        applied_by: r.col("applied_by")?,
        applied_at: r.col("applied_at")?,
    }))
}

async fn approve_plan<DB: Dialect>(
    db: &Db<'_, DB>,
    a: &NewPlanApproval,
) -> Result<i64, StoreError> {
    let q = sqlx::query(
        "INSERT INTO plan_approvals (digest, plan_name, approver, public_key, signature, at)
         VALUES ($1, $2, $3, $4, $5, $6)
         RETURNING id",
    )
    .arg(a.digest.as_str())
    .arg(a.plan_name.as_str())
    .arg(a.approver.as_str())
    .arg(a.public_key.as_str())
    .arg(a.signature.as_str())
    .arg(a.at);
    let mut conn = db.conn().await?;
    Ok(db.fetch_one_on(&mut conn, q).await?.col("id")?)
}

async fn plan_approvals<DB: Dialect>(
    db: &Db<'_, DB>,
    digest: Option<&str>,
) -> Result<Vec<PlanApprovalRow>, StoreError> {
    let q = sqlx::query(
        "SELECT id, digest, plan_name, approver, public_key, signature, at
         FROM plan_approvals
         WHERE ($1 IS NULL OR digest = $1)
         ORDER BY id",
    )
    .arg(digest);
    let rows = db.fetch_all(q).await?;
    let approvals = rows
        .iter()
        .map(|r| {
            Ok(PlanApprovalRow {
                id: r.col("id")?,
                digest: r.col("digest")?,
                plan_name: r.col("plan_name")?,
                approver: r.col("approver")?,
                public_key: r.col("public_key")?,
                signature: r.col("signature")?,
                at: r.col("at")?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()?;
    Ok(approvals)
}
