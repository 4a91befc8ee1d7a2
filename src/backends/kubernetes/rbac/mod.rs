//! `ebb plan check --rbac`: the least-privilege Kubernetes Role (per namespace) and
//! ClusterRole a plan needs, as typed k8s-openapi objects from its kubernetes steps and undos.

mod yaml;
mod yaml11;

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::rbac::v1::{ClusterRole, PolicyRule, Role};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::plan::{Plan, StepKind, TargetKind, Undo};

pub use yaml::RbacError;

/// One rule: an API group, a resource, the names it is limited to (empty: any).
type RuleKey = (String, String, Vec<String>);

#[derive(Default)]
struct Rules {
    rules: BTreeMap<RuleKey, BTreeSet<&'static str>>,
    notes: BTreeSet<String>,
}

impl Rules {
    fn grant(&mut self, group: &str, resource: &str, names: &[&str], verbs: &[&'static str]) {
        let mut names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        names.sort();
        self.rules
            .entry((group.to_string(), resource.to_string(), names))
            .or_default()
            .extend(verbs.iter().copied());
    }

    /// The rules in order (group, resource, names), verbs sorted.
    fn policy_rules(&self) -> Vec<PolicyRule> {
        self.rules
            .iter()
            .map(|((group, resource, names), verbs)| PolicyRule {
                api_groups: Some(vec![group.clone()]),
                resources: Some(vec![resource.clone()]),
                resource_names: (!names.is_empty()).then(|| names.clone()),
                verbs: verbs.iter().map(|v| v.to_string()).collect(),
                non_resource_urls: None,
            })
            .collect()
    }
}

/// The API group and resource of a `KIND` as plans write it (`deployment`, `hpa`…).
fn resource_of(kind: &str) -> Option<(&'static str, &'static str)> {
    super::Resource::of_kind(kind).map(|r| (r.group, r.plural))
}

/// What one step kind (of a step or an undo) needs.
fn step_rules(kind: &StepKind, rules: &mut Rules) {
    match kind {
        StepKind::StatefulsetRollback { statefulset, .. } => {
            let name = [statefulset.as_str()];
            rules.grant("apps", "statefulsets", &name, &["get", "patch"]);
            // The revision to go back to is found among the namespace's revisions.
            rules.grant("apps", "controllerrevisions", &[], &["list"]);
            // Each ordinal's pod is read by name; one stuck on the broken revision is
            // deleted once the template is reverted (kubernetes/kubernetes#67250).
            rules.grant("", "pods", &[], &["get", "delete"]);
            rules.notes.insert(
                "pods delete: a pod stuck on a broken revision is deleted once the template is reverted (kubernetes#67250), only after its name is typed".into(),
            );
        }
        StepKind::Scale { object, .. } | StepKind::Patch { object, .. } => {
            let (kind_name, name) = object.split_once('/').unwrap_or((object.as_str(), ""));
            let Some((group, resource)) = resource_of(kind_name) else {
                rules.notes.insert(format!(
                    "cannot map {object} to a resource: grant get and patch on it by hand"
                ));
                return;
            };
            let names: Vec<&str> = [name].into_iter().filter(|n| !n.is_empty()).collect();
            if matches!(kind, StepKind::Scale { .. }) {
                rules.grant(group, &format!("{resource}/scale"), &names, &["patch"]);
                // The step's annotation is a merge patch on the object; probes read it.
                rules.grant(group, resource, &names, &["get", "patch"]);
            } else {
                // `patch` journals the object's pre-image first (for its automatic undo).
                rules.grant(group, resource, &names, &["get", "patch"]);
            }
        }
        StepKind::Snapshot { volume } => {
            rules.grant(
                "snapshot.storage.k8s.io",
                "volumesnapshots",
                &[],
                &["create", "get"],
            );
            rules.grant("", "persistentvolumeclaims", &[volume.as_str()], &["get"]);
        }
        _ => {}
    }
}

/// What watching a kubernetes target needs (the console's panes, and checks).
fn watch_rules(rules: &mut Rules) {
    for (group, resource) in [
        ("apps", "statefulsets"),
        ("apps", "controllerrevisions"),
        ("", "pods"),
        ("", "persistentvolumeclaims"),
        ("", "events"),
        ("snapshot.storage.k8s.io", "volumesnapshots"),
    ] {
        rules.grant(group, resource, &[], &["get", "list", "watch"]);
    }
}

/// One RBAC object and the notes a reader should see beside it (written as comments).
#[derive(Clone, Debug, PartialEq)]
pub struct Noted<T> {
    pub object: T,
    pub notes: Vec<String>,
}

/// The least-privilege RBAC of a plan: a Role per namespace its kubernetes targets use,
/// and the ClusterRole reading volume usage needs.
#[derive(Clone, Debug, PartialEq)]
pub struct PlanRbac {
    /// The plan's name and digest, for the header.
    pub plan: String,
    pub digest: String,
    /// By namespace.
    pub roles: Vec<Noted<Role>>,
    pub cluster_role: Noted<ClusterRole>,
}

/// The Roles and ClusterRole a plan needs, or `None` when it has no kubernetes targets.
pub fn plan_rbac(plan: &Plan) -> Option<PlanRbac> {
    let kube: Vec<_> = plan
        .targets
        .values()
        .filter(|t| t.kind == TargetKind::Kubernetes)
        .collect();
    if kube.is_empty() {
        return None;
    }
    let name = format!("ebb-{}", slug(&plan.name));
    // Namespace → rules; targets without a namespace use their context's default.
    let mut by_ns: BTreeMap<String, Rules> = BTreeMap::new();
    for t in &kube {
        let ns = t.namespace.clone().unwrap_or_else(|| "default".into());
        let rules = by_ns.entry(ns).or_default();
        if t.namespace.is_none() {
            rules.notes.insert(format!(
                "target {} names no namespace: shown as `default`; use its context's namespace",
                t.name
            ));
        }
        watch_rules(rules);
        for s in plan.steps.iter() {
            let acts_here = |target: Option<&String>| target.is_some_and(|n| *n == t.name);
            if acts_here(s.target.as_ref()) {
                step_rules(&s.kind, rules);
            }
            if let Some(Undo::Action { target, kind }) = &s.undo
                && acts_here(target.as_ref().or(s.target.as_ref()))
            {
                step_rules(kind, rules);
            }
            if matches!(s.undo, Some(Undo::Auto)) && acts_here(s.target.as_ref()) {
                step_rules(&s.kind, rules);
            }
        }
    }
    let roles = by_ns
        .into_iter()
        .map(|(ns, rules)| Noted {
            object: Role {
                metadata: ObjectMeta {
                    name: Some(name.clone()),
                    namespace: Some(ns),
                    ..ObjectMeta::default()
                },
                rules: Some(rules.policy_rules()),
            },
            notes: rules.notes.into_iter().collect(),
        })
        .collect();
    Some(PlanRbac {
        plan: plan.name.clone(),
        digest: plan.digest().to_string(),
        roles,
        cluster_role: volume_stats_role(&name),
    })
}

/// Volume usage (the Storage pane, `volume_usage` checks) comes from the kubelet's stats
/// summary, read through the API server proxy: cluster-scoped.
fn volume_stats_role(name: &str) -> Noted<ClusterRole> {
    let mut rules = Rules::default();
    rules.grant("", "nodes/proxy", &[], &["get"]);
    rules.grant("", "nodes", &[], &["get", "list"]);
    Noted {
        object: ClusterRole {
            metadata: ObjectMeta {
                name: Some(format!("{name}-volume-stats")),
                ..ObjectMeta::default()
            },
            rules: Some(rules.policy_rules()),
            ..ClusterRole::default()
        },
        notes: vec![
            "volume usage: the kubelet stats summary, read through the API server proxy".into(),
        ],
    }
}

/// The plan's name in object names: ASCII letters and digits lower-cased, anything else `-`.
fn slug(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect()
}

/// `plan check --rbac`: the plan's RBAC as a YAML stream (header comment, then a `---`
/// document per object), or a comment saying it needs none.
pub fn rbac(plan: &Plan) -> Result<String, RbacError> {
    match plan_rbac(plan) {
        Some(r) => yaml::stream(&r),
        None => Ok(yaml::comment(&format!(
            "plan {:?} has no kubernetes targets: it needs no Kubernetes RBAC",
            plan.name
        ))),
    }
}
