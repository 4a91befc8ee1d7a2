//! The API calls kubernetes steps make, each bounded in time and written as field manager
//! `ebb`; failures sorted into "inconclusive" (server down, 5xx, timeout) and plain failures.

use std::future::Future;
use std::time::Duration;

use kube::Api;
use kube::api::{DeleteParams, DynamicObject, Patch, PatchParams, PostParams, Preconditions};
use kube::discovery::ApiResource;
use serde_json::Value;

/// The field manager of every write.
pub const FIELD_MANAGER: &str = "ebb";
/// Every call to the API server returns within this (or is inconclusive).
pub const CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a call did not give an answer.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum KubeError {
    /// The server could not be reached, answered 5xx or 429, or did not answer in time:
    /// whether a write happened is not known; the step stops at a safe point.
    #[error("inconclusive: {0}")]
    Inconclusive(String),
    #[error("{0} not found")]
    NotFound(String),
    /// 409 on create: the object exists.
    #[error("{0} already exists")]
    Exists(String),
    /// Any other refusal (4xx): the step fails with it.
    #[error("{0}")]
    Failed(String),
}

impl KubeError {
    pub fn is_inconclusive(&self) -> bool {
        matches!(self, KubeError::Inconclusive(_))
    }
}

/// Where an object lives: the resource and the namespace of the target.
#[derive(Clone)]
pub struct Cluster {
    pub client: kube::Client,
    pub namespace: String,
}

/// `apps/v1` ControllerRevisions (not a kind plans name, so not in `resource`).
pub fn controller_revisions() -> ApiResource {
    ApiResource {
        group: "apps".into(),
        version: "v1".into(),
        api_version: "apps/v1".into(),
        kind: "ControllerRevision".into(),
        plural: "controllerrevisions".into(),
    }
}

/// Core `v1` Pods.
pub fn pods() -> ApiResource {
    ApiResource {
        group: String::new(),
        version: "v1".into(),
        api_version: "v1".into(),
        kind: "Pod".into(),
        plural: "pods".into(),
    }
}

fn merge_params() -> PatchParams {
    PatchParams {
        field_manager: Some(FIELD_MANAGER.into()),
        ..PatchParams::default()
    }
}

/// Sorts a client error; `what` names the call for messages.
fn classify(what: &str, e: kube::Error) -> KubeError {
    match e {
        kube::Error::Api(s) if s.code == 404 => KubeError::NotFound(what.to_string()),
        kube::Error::Api(s) if s.code == 409 => KubeError::Exists(what.to_string()),
        kube::Error::Api(s) if s.code >= 500 || s.code == 429 => KubeError::Inconclusive(format!(
            "{what}: the API server answered {} ({})",
            s.code, s.message
        )),
        kube::Error::Api(s) => KubeError::Failed(format!("{what}: {} {}", s.code, s.message)),
        // Connection refused, reset, TLS, body cut off: the server is not answering.
        other => KubeError::Inconclusive(format!("{what}: {other}")),
    }
}

async fn bounded<T>(
    what: &str,
    call: impl Future<Output = Result<T, kube::Error>>,
) -> Result<T, KubeError> {
    match tokio::time::timeout(CALL_TIMEOUT, call).await {
        Ok(r) => r.map_err(|e| classify(what, e)),
        Err(_) => Err(KubeError::Inconclusive(format!(
            "{what}: no answer from the API server within {}",
            crate::units::fmt_duration(CALL_TIMEOUT)
        ))),
    }
}

fn to_value(o: DynamicObject) -> Value {
    serde_json::to_value(o).unwrap_or(Value::Null)
}

impl Cluster {
    fn api(&self, r: &ApiResource) -> Api<DynamicObject> {
        Api::namespaced_with(self.client.clone(), &self.namespace, r)
    }

    pub async fn get(&self, r: &ApiResource, name: &str) -> Result<Value, KubeError> {
        let what = format!("get {}/{name}", r.plural);
        bounded(&what, self.api(r).get(name)).await.map(to_value)
    }

    /// The object, or `None` when it does not exist.
    pub async fn get_opt(&self, r: &ApiResource, name: &str) -> Result<Option<Value>, KubeError> {
        match self.get(r, name).await {
            Ok(v) => Ok(Some(v)),
            Err(KubeError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Every object of the resource in the namespace.
    pub async fn list(&self, r: &ApiResource) -> Result<Vec<Value>, KubeError> {
        let what = format!("list {}", r.plural);
        let list = bounded(&what, self.api(r).list(&Default::default())).await?;
        Ok(list.items.into_iter().map(to_value).collect())
    }

    /// A JSON merge patch (`application/merge-patch+json`).
    pub async fn merge_patch(
        &self,
        r: &ApiResource,
        name: &str,
        patch: &Value,
    ) -> Result<Value, KubeError> {
        let what = format!("patch {}/{name}", r.plural);
        let (api, params, patch) = (self.api(r), merge_params(), Patch::Merge(patch));
        bounded(&what, api.patch(name, &params, &patch))
            .await
            .map(to_value)
    }

    /// `spec.replicas` through the scale subresource (a merge patch).
    pub async fn scale(&self, r: &ApiResource, name: &str, replicas: u32) -> Result<(), KubeError> {
        let what = format!("patch {}/{name}/scale", r.plural);
        let patch = serde_json::json!({ "spec": { "replicas": replicas } });
        let (api, params, patch) = (self.api(r), merge_params(), Patch::Merge(&patch));
        bounded(&what, api.patch_scale(name, &params, &patch))
            .await
            .map(|_| ())
    }

    pub async fn create(&self, r: &ApiResource, object: Value) -> Result<Value, KubeError> {
        let name = object["metadata"]["name"]
            .as_str()
            .unwrap_or("")
            .to_string();
        let what = format!("create {}/{name}", r.plural);
        let object: DynamicObject = serde_json::from_value(object)
            .map_err(|e| KubeError::Failed(format!("{what}: {e}")))?;
        let params = PostParams {
            field_manager: Some(FIELD_MANAGER.into()),
            ..PostParams::default()
        };
        bounded(&what, self.api(r).create(&params, &object))
            .await
            .map(to_value)
    }

    /// Deletes the pod only if it is still the one seen (`uid`), not a replacement.
    pub async fn delete_pod(&self, name: &str, uid: Option<&str>) -> Result<(), KubeError> {
        let what = format!("delete pods/{name}");
        let params = DeleteParams {
            preconditions: uid.map(|u| Preconditions {
                uid: Some(u.to_string()),
                resource_version: None,
            }),
            ..DeleteParams::default()
        };
        match bounded(&what, self.api(&pods()).delete(name, &params)).await {
            Ok(_) | Err(KubeError::NotFound(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }
}
