//! What `ebb console --config` reads: the shipped example, a plan as the file (its
//! postgres and prometheus targets watched, the rest listed), and secrets read from files.

use std::path::Path;

use ebb::cli::watch;
use ebb::config::targets;
use ebb::diag::SourceFile;

#[test]
fn the_example_console_file_parses() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/postgres/console.toml");
    let f = targets::parse(&SourceFile::read(&path).unwrap()).unwrap();
    let names: Vec<&str> = f.targets.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["orders-db", "orders-standby"]);
    // A URL without a password is written inline, TLS settings and all.
    assert!(
        matches!(&f.targets[1].url, Some(ebb::plan::SecretRef::Inline(u)) if u.contains("sslmode=verify-full")),
        "{:?}",
        f.targets[1].url
    );
}

#[test]
fn a_plan_file_watches_its_postgres_and_prometheus_targets_and_lists_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("db-url");
    std::fs::write(&secret, "postgres://ebb:hunter2@db.internal:6432/orders\n").unwrap();
    let prom_secret = dir.path().join("prom-url");
    std::fs::write(&prom_secret, "http://ebb:hunter3@prom.internal:9090\n").unwrap();
    let plan = dir.path().join("plan.toml");
    std::fs::write(
        &plan,
        format!(
            "[plan]\nname = \"p\"\n\n[targets.db]\nkind = \"postgres\"\nurl = \"file:{}\"\n\n\
             [targets.prom]\nkind = \"prometheus\"\nurl = \"file:{}\"\n\n\
             [targets.k8s]\nkind = \"kubernetes\"\n\n\
             [[step]]\nid = \"s\"\nkind = \"manual\"\ndescription = \"look\"\n",
            secret.display(),
            prom_secret.display()
        ),
    )
    .unwrap();
    let w = watch::load(&plan, &Default::default()).unwrap();
    let described: Vec<String> = w.targets.iter().map(|t| t.describe()).collect();
    assert_eq!(
        described,
        [
            "ebb@db.internal:6432/orders",
            "Kubernetes current kubeconfig context",
            "Prometheus http://prom.internal:9090/"
        ]
    );
    let debug = format!("{w:?}");
    assert!(
        !debug.contains("hunter2") && !debug.contains("hunter3"),
        "{debug}"
    );
    // Kubernetes targets are watched too (in their namespace): nothing is left out.
    assert!(w.unwatched.is_empty(), "{:?}", w.unwatched);
    let (_, outline) = w.plan.expect("the plan is shown");
    assert_eq!(outline.steps.len(), 1);
}

#[test]
fn a_targets_file_with_a_prometheus_target_is_watched() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("prom-url");
    std::fs::write(&secret, "http://127.0.0.1:9090\n").unwrap();
    let config = dir.path().join("c.toml");
    std::fs::write(
        &config,
        format!(
            "[targets.metrics]\nkind = \"prometheus\"\nurl = \"file:{}\"\n",
            secret.display()
        ),
    )
    .unwrap();
    let w = watch::load(&config, &Default::default()).unwrap();
    assert_eq!(w.targets.len(), 1);
    assert_eq!(w.targets[0].source_id().0, "prom:metrics");
}

#[test]
fn a_secret_file_that_is_missing_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("c.toml");
    std::fs::write(
        &config,
        "[targets.db]\nkind = \"postgres\"\nurl = \"file:/nonexistent/ebb-db-url\"\n",
    )
    .unwrap();
    let e = watch::load(&config, &Default::default())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("target db: cannot read secret file /nonexistent/ebb-db-url"),
        "{e}"
    );
}

/// `ebb console --context C -n NS`: every kubernetes target of a targets file or a plan
/// points there; other kinds are untouched.
#[test]
fn context_and_namespace_override_the_kubernetes_targets_watched() {
    use ebb::backends::source::SourceTarget;
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("prom-url");
    std::fs::write(&secret, "http://127.0.0.1:9090\n").unwrap();
    let config = dir.path().join("c.toml");
    std::fs::write(
        &config,
        format!(
            "[targets.k8s]\nkind = \"kubernetes\"\ncontext = \"staging\"\nnamespace = \"shop\"\n\n\
             [targets.metrics]\nkind = \"prometheus\"\nurl = \"file:{}\"\n",
            secret.display()
        ),
    )
    .unwrap();
    let o = ebb::plan::overrides::KubeOverride::new(Some("prod".into()), Some("orders".into()))
        .unwrap();
    for kube in [Default::default(), o] {
        let w = watch::load(&config, &kube).unwrap();
        let k = w
            .targets
            .iter()
            .find_map(|t| match t {
                SourceTarget::Kube(k) => Some(k.target.clone()),
                _ => None,
            })
            .unwrap();
        let (c, n) = if kube.is_empty() {
            ("staging", "shop")
        } else {
            ("prod", "orders")
        };
        assert_eq!(k.context.as_deref(), Some(c));
        assert_eq!(k.namespace.as_deref(), Some(n));
        assert_eq!(w.targets.len(), 2);
    }
}
