//! `ebb plan check --rbac`: typed Roles and a ClusterRole written as YAML that parses back
//! into the same objects, least privilege for the example plan, hostile names kept exactly.

use std::path::Path;
use std::process::Command;

use ebb::backends::kubernetes::rbac::{PlanRbac, plan_rbac, rbac};
use ebb::diag::SourceFile;
use ebb::plan::Plan;
use k8s_openapi::api::rbac::v1::{ClusterRole, PolicyRule, Role};
use serde::Deserialize;

fn manifest() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The documents of a `--rbac` stream: Roles, then the ClusterRole last.
fn parse(yaml: &str) -> (Vec<Role>, Option<ClusterRole>) {
    let docs: Vec<_> = serde_norway::Deserializer::from_str(yaml).collect();
    let n = docs.len();
    let mut roles = Vec::new();
    let mut cluster = None;
    for (i, doc) in docs.into_iter().enumerate() {
        if i + 1 == n {
            cluster = Some(ClusterRole::deserialize(doc).unwrap());
        } else {
            roles.push(Role::deserialize(doc).unwrap());
        }
    }
    (roles, cluster)
}

fn assert_round_trips(yaml: &str, expected: &PlanRbac) {
    let (roles, cluster) = parse(yaml);
    let want: Vec<Role> = expected.roles.iter().map(|r| r.object.clone()).collect();
    assert_eq!(roles, want, "{yaml}");
    assert_eq!(
        cluster.as_ref(),
        Some(&expected.cluster_role.object),
        "{yaml}"
    );
}

/// The rule of `role` on `resource` limited to `names` (empty: any name).
fn rule<'a>(role: &'a Role, resource: &str, names: &[&str]) -> Option<&'a PolicyRule> {
    role.rules.as_ref()?.iter().find(|r| {
        r.resources.as_deref() == Some(&[resource.to_string()][..])
            && r.resource_names.clone().unwrap_or_default() == names
    })
}

fn verbs(r: Option<&PolicyRule>) -> Vec<&str> {
    r.map(|r| r.verbs.iter().map(String::as_str).collect())
        .unwrap_or_default()
}

#[test]
fn the_example_plans_rbac_parses_back_and_is_least_privilege() {
    let plan = Plan::load(&manifest().join("examples/plans/orders-app-statefulset-rollback.toml"))
        .unwrap();
    let yaml = rbac(&plan).unwrap();
    let expected = plan_rbac(&plan).unwrap();
    assert_round_trips(&yaml, &expected);

    let [role] = &expected.roles[..] else {
        panic!("one namespace, one Role: {yaml}");
    };
    let role = &role.object;
    assert_eq!(role.metadata.namespace.as_deref(), Some("orders"));
    assert_eq!(
        role.metadata.name.as_deref(),
        Some("ebb-orders-app-2-3-rollback")
    );
    // Writes are limited to the objects the steps name.
    assert_eq!(
        verbs(rule(role, "statefulsets", &["orders-app"])),
        ["get", "patch"]
    );
    assert_eq!(
        verbs(rule(role, "deployments/scale", &["orders-worker"])),
        ["patch"]
    );
    let hpa = rule(role, "horizontalpodautoscalers", &["orders-app"]).unwrap();
    assert_eq!(
        hpa.api_groups.as_deref(),
        Some(&["autoscaling".to_string()][..])
    );
    assert_eq!(verbs(Some(hpa)), ["get", "patch"]);
    assert_eq!(
        verbs(rule(role, "statefulsets", &[])),
        ["get", "list", "watch"]
    );
    let all_rules = role
        .rules
        .iter()
        .flatten()
        .chain(expected.cluster_role.object.rules.iter().flatten());
    for r in all_rules {
        let strings = r
            .api_groups
            .iter()
            .chain(&r.resources)
            .chain(&r.resource_names)
            .flatten()
            .chain(&r.verbs);
        for s in strings {
            assert!(s != "*" && s != "secrets", "{yaml}");
        }
    }
    assert_eq!(
        expected.cluster_role.object.metadata.name.as_deref(),
        Some("ebb-orders-app-2-3-rollback-volume-stats")
    );
    insta::assert_snapshot!("rbac_statefulset_rollback", yaml);

    // The CLI prints the same stream.
    let out = Command::new(env!("CARGO_BIN_EXE_ebb"))
        .args([
            "plan",
            "check",
            "--rbac",
            "examples/plans/orders-app-statefulset-rollback.toml",
        ])
        .current_dir(manifest())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), yaml);
}

#[test]
fn a_plan_without_kubernetes_needs_no_rbac() {
    let pg = Plan::load(&manifest().join("examples/postgres/backfill-region.toml")).unwrap();
    assert!(plan_rbac(&pg).is_none());
    let yaml = rbac(&pg).unwrap();
    assert!(yaml.contains("needs no Kubernetes RBAC"), "{yaml}");
    // Comments only: no object.
    let value: serde_norway::Value = serde_norway::from_str(&yaml).unwrap();
    assert!(value.is_null(), "{yaml}");
}

/// Names that YAML (1.1 or 1.2) would misread if written bare.
const HOSTILE: &[&str] = &[
    "no",
    "on",
    "y",
    "=",
    "null",
    "1:20",
    "- a: b # c",
    "x'y\"z",
    "line\nbreak: true",
    "&anchor *alias !tag %x @y `z",
    "{[ ]}, |> ?",
    " padded ",
];

#[test]
fn hostile_names_round_trip_exactly() {
    let mut toml = String::from("[plan]\nname = \"yes: no # 'it' \\\"x\\\" - y\"\n");
    for (i, ns) in HOSTILE.iter().enumerate() {
        toml.push_str(&format!(
            "\n[targets.\"t {i}: #\"]\nkind = \"kubernetes\"\nnamespace = {ns:?}\n"
        ));
        toml.push_str(&format!(
            "\n[[step]]\nid = \"s{i}\"\nkind = \"statefulset_rollback\"\ntarget = \"t {i}: #\"\n\
             statefulset = {ns:?}\nto_revision = \"previous\"\n"
        ));
        toml.push_str(&format!(
            "\n[[step]]\nid = \"v{i}\"\nkind = \"snapshot\"\ntarget = \"t {i}: #\"\nvolume = {ns:?}\n"
        ));
    }
    // A target with no namespace: its note (a comment) names it.
    toml.push_str("\n[targets.\"bare # - x: 'y'\"]\nkind = \"kubernetes\"\n");
    let plan = Plan::parse(&SourceFile::new("hostile.toml", toml.clone()))
        .unwrap_or_else(|e| panic!("{e:?}\n{toml}"));
    let yaml = rbac(&plan).unwrap();
    let expected = plan_rbac(&plan).unwrap();
    assert_round_trips(&yaml, &expected);

    // Every name is there, exactly: as a namespace, and as a statefulset's and a volume's name.
    let (roles, _) = parse(&yaml);
    for name in HOSTILE {
        let role = roles
            .iter()
            .find(|r| r.metadata.namespace.as_deref() == Some(*name))
            .unwrap_or_else(|| panic!("no Role in {name:?}: {yaml}"));
        assert_eq!(verbs(rule(role, "statefulsets", &[name])), ["get", "patch"]);
        assert_eq!(
            verbs(rule(role, "persistentvolumeclaims", &[name])),
            ["get"]
        );
    }
    assert!(
        roles
            .iter()
            .any(|r| r.metadata.namespace.as_deref() == Some("default"))
    );
    // YAML 1.1 readers (kubectl) take a bare `no` or `on` for a boolean: they are quoted.
    for word in ["no", "on", "y", "="] {
        assert!(yaml.contains(&format!("namespace: '{word}'\n")), "{yaml}");
        assert!(!yaml.contains(&format!(": {word}\n")), "{yaml}");
        assert!(!yaml.contains(&format!("- {word}\n")), "{yaml}");
    }
}
