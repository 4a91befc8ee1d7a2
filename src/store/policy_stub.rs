//! TEMPORARY stub (replaced by the policy branch).
#![allow(unused)]
use super::*;
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct PolicyRow {
    pub version: i64,
    pub digest: String,
    pub source_name: String,
    pub text: String,
    pub applied_by: String,
    pub applied_at: i64,
}
impl Store {
    pub async fn policy(&self) -> Result<Option<PolicyRow>, StoreError> {
        todo!()
    }
}
