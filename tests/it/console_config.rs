//! What `ebb console --config` reads: the shipped example, a plan as the file (its
//! postgres targets watched, the rest listed), and secrets read from files.

use std::path::Path;

use ebb::cli::watch;
use ebb::config::SourceFile;
use ebb::config::targets;

#[test]
fn the_example_console_file_parses() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/postgres/console.toml");
    let f = targets::parse(&SourceFile::read(&path).unwrap()).unwrap();
    let names: Vec<&str> = f.targets.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["orders-db", "orders-standby"]);
}

#[test]
fn a_plan_file_watches_its_postgres_targets_and_lists_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("db-url");
    std::fs::write(&secret, "postgres://ebb:hunter2@db.internal:6432/orders\n").unwrap();
    let plan = dir.path().join("plan.toml");
    std::fs::write(
        &plan,
        format!(
            "[plan]\nname = \"p\"\n\n[targets.db]\nkind = \"postgres\"\nurl = \"file:{}\"\n\n\
             [targets.prom]\nkind = \"prometheus\"\nurl = \"env:PROM_URL\"\n\n\
             [[step]]\nid = \"s\"\nkind = \"manual\"\ndescription = \"look\"\n",
            secret.display()
        ),
    )
    .unwrap();
    let w = watch::load(&plan).unwrap();
    assert_eq!(w.targets.len(), 1);
    assert_eq!(w.targets[0].describe(), "ebb@db.internal:6432/orders");
    assert!(!format!("{w:?}").contains("hunter2"));
    assert_eq!(w.unwatched, ["prom (prometheus)"]);
    let (_, outline) = w.plan.expect("the plan is shown");
    assert_eq!(outline.steps.len(), 1);
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
    let e = watch::load(&config).unwrap_err().to_string();
    assert!(
        e.contains("target db: cannot read secret file /nonexistent/ebb-db-url"),
        "{e}"
    );
}
