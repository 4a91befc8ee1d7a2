//! The objects plans name as `KIND/NAME` (`statefulset/orders-db`, `hpa/web`): the API
//! group, version and resource of each kind, for the actuators and `plan check --rbac`.

use kube::discovery::ApiResource;

/// One API resource a plan can name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Resource {
    /// `""` for the core group.
    pub group: &'static str,
    pub version: &'static str,
    pub kind: &'static str,
    /// Lower-case plural, as in URLs and RBAC rules.
    pub plural: &'static str,
    /// What plans may write: the kind in lower case, its plural, and kubectl's short name.
    aliases: &'static [&'static str],
}

impl Resource {
    /// `apps/v1`, or `v1` for the core group.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// The dynamic-API description kube-rs needs for this resource.
    pub fn api_resource(&self) -> ApiResource {
        ApiResource {
            group: self.group.to_string(),
            version: self.version.to_string(),
            api_version: self.api_version(),
            kind: self.kind.to_string(),
            plural: self.plural.to_string(),
        }
    }

    /// The resource a plan's `KIND` names (any case; singular, plural or short name).
    pub fn of_kind(kind: &str) -> Option<&'static Resource> {
        let kind = kind.to_ascii_lowercase();
        RESOURCES
            .iter()
            .find(|r| r.aliases.contains(&kind.as_str()))
    }

    /// Every kind plans may name, for messages.
    pub fn kinds() -> impl Iterator<Item = &'static str> {
        RESOURCES.iter().map(|r| r.aliases[0])
    }
}

const fn r(
    group: &'static str,
    version: &'static str,
    kind: &'static str,
    plural: &'static str,
    aliases: &'static [&'static str],
) -> Resource {
    Resource {
        group,
        version,
        kind,
        plural,
        aliases,
    }
}

/// The namespaced kinds ebb's steps act on.
pub const RESOURCES: &[Resource] = &[
    r(
        "apps",
        "v1",
        "Deployment",
        "deployments",
        &["deployment", "deployments", "deploy"],
    ),
    r(
        "apps",
        "v1",
        "StatefulSet",
        "statefulsets",
        &["statefulset", "statefulsets", "sts"],
    ),
    r(
        "apps",
        "v1",
        "DaemonSet",
        "daemonsets",
        &["daemonset", "daemonsets", "ds"],
    ),
    r(
        "apps",
        "v1",
        "ReplicaSet",
        "replicasets",
        &["replicaset", "replicasets", "rs"],
    ),
    r(
        "",
        "v1",
        "ConfigMap",
        "configmaps",
        &["configmap", "configmaps", "cm"],
    ),
    r(
        "",
        "v1",
        "Service",
        "services",
        &["service", "services", "svc"],
    ),
    r(
        "",
        "v1",
        "PersistentVolumeClaim",
        "persistentvolumeclaims",
        &["persistentvolumeclaim", "persistentvolumeclaims", "pvc"],
    ),
    r("", "v1", "Pod", "pods", &["pod", "pods", "po"]),
    r("batch", "v1", "Job", "jobs", &["job", "jobs"]),
    r(
        "batch",
        "v1",
        "CronJob",
        "cronjobs",
        &["cronjob", "cronjobs", "cj"],
    ),
    r(
        "autoscaling",
        "v2",
        "HorizontalPodAutoscaler",
        "horizontalpodautoscalers",
        &["horizontalpodautoscaler", "horizontalpodautoscalers", "hpa"],
    ),
    r(
        "networking.k8s.io",
        "v1",
        "Ingress",
        "ingresses",
        &["ingress", "ingresses", "ing"],
    ),
    r(
        "policy",
        "v1",
        "PodDisruptionBudget",
        "poddisruptionbudgets",
        &["poddisruptionbudget", "poddisruptionbudgets", "pdb"],
    ),
    r(
        "snapshot.storage.k8s.io",
        "v1",
        "VolumeSnapshot",
        "volumesnapshots",
        &["volumesnapshot", "volumesnapshots", "vs"],
    ),
];

/// A plan's `KIND/NAME`, checked against the known kinds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectRef {
    pub resource: &'static Resource,
    pub name: String,
}

impl ObjectRef {
    /// Parses `KIND/NAME`; the error says what was wrong, for located messages.
    pub fn parse(text: &str) -> Result<ObjectRef, String> {
        let (kind, name) = text
            .split_once('/')
            .ok_or_else(|| format!("{text:?} is not KIND/NAME"))?;
        if name.is_empty() || name.contains('/') {
            return Err(format!("{text:?} is not KIND/NAME"));
        }
        let resource = Resource::of_kind(kind).ok_or_else(|| {
            format!(
                "unknown kind {kind:?}; known: {}",
                Resource::kinds().collect::<Vec<_>>().join(", ")
            )
        })?;
        Ok(ObjectRef {
            resource,
            name: name.to_string(),
        })
    }
}

impl std::fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.resource.aliases[0], self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_parse_by_any_alias_and_bad_refs_say_why() {
        let o = ObjectRef::parse("STS/orders-db").unwrap();
        assert_eq!(
            (o.resource.plural, o.name.as_str()),
            ("statefulsets", "orders-db")
        );
        assert_eq!(o.resource.api_version(), "apps/v1");
        assert_eq!(o.to_string(), "statefulset/orders-db");
        assert_eq!(
            ObjectRef::parse("pvc/data-0")
                .unwrap()
                .resource
                .api_version(),
            "v1"
        );
        assert!(
            ObjectRef::parse("orders-db")
                .unwrap_err()
                .contains("KIND/NAME")
        );
        assert!(
            ObjectRef::parse("gizmo/x")
                .unwrap_err()
                .contains("unknown kind \"gizmo\"")
        );
        assert!(ObjectRef::parse("pod/").is_err());
    }
}
