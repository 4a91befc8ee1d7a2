//! `ebb plan check --rbac`: the least-privilege Kubernetes Role (per namespace) and
//! ClusterRole a plan needs, derived from its kubernetes steps, undos and checks.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use crate::plan::{Plan, StepKind, TargetKind, Undo};

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

/// The YAML of the Roles (one per namespace) and the ClusterRole the plan needs.
pub fn rbac(plan: &Plan) -> String {
    let kube: Vec<_> = plan
        .targets
        .values()
        .filter(|t| t.kind == TargetKind::Kubernetes)
        .collect();
    let mut out = String::new();
    if kube.is_empty() {
        let _ = writeln!(
            out,
            "# plan {:?} has no kubernetes targets: it needs no Kubernetes RBAC",
            plan.name
        );
        return out;
    }
    let slug: String = plan
        .name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let _ = writeln!(
        out,
        "# Least-privilege RBAC for plan {:?} ({}), from `ebb plan check --rbac`.\n\
         # Bind these to the identity ebb runs as; the bindings are not included.",
        plan.name,
        plan.digest()
    );
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
    for (ns, rules) in &by_ns {
        let _ = writeln!(
            out,
            "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  name: ebb-{slug}\n  namespace: {ns}"
        );
        for note in &rules.notes {
            let _ = writeln!(out, "# {note}");
        }
        let _ = writeln!(out, "rules:");
        for ((group, resource, names), verbs) in &rules.rules {
            let _ = writeln!(out, "  - apiGroups: [{group:?}]");
            let _ = writeln!(out, "    resources: [{resource:?}]");
            if !names.is_empty() {
                let list: Vec<String> = names.iter().map(|n| format!("{n:?}")).collect();
                let _ = writeln!(out, "    resourceNames: [{}]", list.join(", "));
            }
            let list: Vec<String> = verbs.iter().map(|v| format!("{v:?}")).collect();
            let _ = writeln!(out, "    verbs: [{}]", list.join(", "));
        }
    }
    // Volume usage (the Storage pane, `volume_usage` checks) comes from the kubelet's
    // stats summary, read through the API server proxy: cluster-scoped.
    {
        let _ = writeln!(
            out,
            "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: ebb-{slug}-volume-stats\n\
             # volume usage: the kubelet stats summary, read through the API server proxy\n\
             rules:\n  - apiGroups: [\"\"]\n    resources: [\"nodes/proxy\"]\n    verbs: [\"get\"]\n  - apiGroups: [\"\"]\n    resources: [\"nodes\"]\n    verbs: [\"get\", \"list\"]"
        );
    }
    out
}
