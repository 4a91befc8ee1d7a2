//! PostgreSQL over TLS, against a cluster with `ssl = on` and a CA the test made: verify-full
//! connects (source and pool, named ebb), a wrong CA or host name is the target's error in
//! words on its pane, client certificates, and PGSSLMODE / PGSSLROOTCERT.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use ebb::app::{Msg, update};
use ebb::backends::postgres::PgTargets;
use ebb::backends::postgres::source::{self as pg, PgTarget};
use ebb::backends::source::SourceTarget;
use ebb::cli::console::console_model;
use ebb::cli::screenshot::{SCREENSHOT_EPOCH, render_buffer};
use ebb::cli::watch::Watch;
use ebb::config::{keymap_by_name, theme_by_name};
use ebb::sources::{Observation, Payload};
use sqlx::Connection;
use tokio::sync::mpsc;

use crate::support::certs::SERVER_NAME;
use crate::support::pg::{CERT_DB, CLIENTCERT_DB, PgCluster};

const INTERVAL: Duration = Duration::from_millis(200);
const TIMEOUT: Duration = Duration::from_secs(5);

/// `postgres://postgres@HOST:PORT/DB?QUERY`.
fn url(host: &str, port: u16, db: &str, query: &str) -> String {
    format!("postgres://postgres@{host}:{port}/{db}?{query}")
}

fn verify_full(ca: &Path) -> String {
    format!("sslmode=verify-full&sslrootcert={}", ca.display())
}

/// The first observation of a source task watching `url`.
async fn first_observation(name: &str, url: &str) -> Observation {
    let (tx, mut rx) = mpsc::channel(16);
    let task = pg::spawn(
        PgTarget::from_url(name, url, INTERVAL, TIMEOUT).unwrap(),
        tx,
    );
    let o = tokio::time::timeout(TIMEOUT * 3, rx.recv())
        .await
        .expect("an observation in time")
        .expect("the task is alive");
    drop(rx);
    let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
    o
}

fn error_text(o: &Observation) -> String {
    match &o.payload {
        Payload::Error(e) => e.as_str().to_string(),
        other => panic!("expected an error, got {other:?}"),
    }
}

/// Whether this session is encrypted, and its application_name.
async fn session(conn: &mut sqlx::PgConnection) -> (bool, String) {
    sqlx::query_as(
        "SELECT s.ssl, a.application_name FROM pg_stat_ssl s \
         JOIN pg_stat_activity a USING (pid) WHERE pid = pg_backend_pid()",
    )
    .fetch_one(conn)
    .await
    .expect("pg_stat_ssl")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_full_with_the_right_ca_connects_source_and_pool_named_ebb() {
    let c = PgCluster::start_tls(1);
    let ca = c.pki().ca.clone();
    let primary = url(SERVER_NAME, c.primary_port(), "postgres", &verify_full(&ca));

    // The source: figures arrive (the primary sees its streaming standby).
    let o = first_observation("db", &primary).await;
    match &o.payload {
        Payload::Replication(r) => assert_eq!(r.replicas.len(), 1, "{r:?}"),
        other => panic!("expected replication figures, got {other:?}"),
    }
    let standby = url(
        SERVER_NAME,
        c.standby_port().unwrap(),
        "postgres",
        &verify_full(&ca),
    );
    let o = first_observation("db-standby", &standby).await;
    assert!(matches!(o.payload, Payload::Replication(_)), "{o:?}");

    // The actuators' pool, from a plan whose URL is read from a file.
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("db-url");
    std::fs::write(&secret, &primary).unwrap();
    let text = format!(
        "[plan]\nname = \"p\"\n\n[targets.db]\nkind = \"postgres\"\nurl = \"file:{}\"\n\n\
         [[step]]\nid = \"s\"\nkind = \"manual\"\ndescription = \"look\"\n",
        secret.display()
    );
    let plan = ebb::plan::Plan::parse(&ebb::diag::SourceFile::new("p.toml", &text)).unwrap();
    let targets = PgTargets::for_plan(&plan);
    let pool = targets.pool("db").unwrap();
    let mut held = pool.acquire().await.expect("a pooled TLS connection");
    assert_eq!(session(&mut held).await, (true, "ebb".to_string()));

    // A DBA sees ebb, encrypted, in pg_stat_activity.
    let mut dba = c.connect(&c.primary_url("postgres")).await;
    let ebb_sessions: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid) \
         WHERE a.application_name = 'ebb' AND s.ssl",
    )
    .fetch_one(&mut dba)
    .await
    .unwrap();
    assert!(ebb_sessions >= 1, "{ebb_sessions}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_ca_or_host_name_is_the_targets_error_in_words_on_its_pane() {
    let c = PgCluster::start_tls(0);
    let pki = c.pki().clone();
    let port = c.primary_port();

    let wrong_ca = url(SERVER_NAME, port, "postgres", &verify_full(&pki.other_ca));
    let e = error_text(&first_observation("db", &wrong_ca).await);
    assert_eq!(
        e,
        "connect: certificate not trusted: unknown issuer (check sslrootcert or PGSSLROOTCERT)"
    );

    // The certificate is for localhost; 127.0.0.1 is not among its names.
    let wrong_host = url("127.0.0.1", port, "postgres", &verify_full(&pki.ca));
    let host_error = error_text(&first_observation("reports", &wrong_host).await);
    assert_eq!(
        host_error,
        "connect: certificate is for another host name: expected 127.0.0.1, the certificate names localhost"
    );

    // verify-ca checks the chain but not the name; require with a root certificate is
    // verify-ca, as in libpq.
    let verify_ca = url(
        "127.0.0.1",
        port,
        "postgres",
        &format!("sslmode=verify-ca&sslrootcert={}", pki.ca.display()),
    );
    let o = first_observation("db", &verify_ca).await;
    assert!(matches!(o.payload, Payload::Replication(_)), "{o:?}");
    let require_wrong_ca = url(
        SERVER_NAME,
        port,
        "postgres",
        &format!("sslmode=require&sslrootcert={}", pki.other_ca.display()),
    );
    let e = error_text(&first_observation("db", &require_wrong_ca).await);
    assert!(e.contains("unknown issuer"), "{e}");

    // On the console: each target's own line names its problem; nothing else goes down.
    let keymap = keymap_by_name("default").unwrap();
    let theme = theme_by_name("dark").unwrap();
    let target = |name: &str, u: &str| {
        SourceTarget::Pg(PgTarget::from_url(name, u, INTERVAL, TIMEOUT).unwrap())
    };
    let w = Watch {
        targets: vec![target("db", &wrong_ca), target("reports", &wrong_host)],
        plan: None,
        unwatched: Vec::new(),
    };
    let mut m = console_model(&w, "oncall", SCREENSHOT_EPOCH);
    let ca_error = first_observation("db", &wrong_ca).await;
    let name_error = first_observation("reports", &wrong_host).await;
    for o in [ca_error, name_error] {
        update(&mut m, &keymap, Msg::Observation(o));
    }
    let buf = render_buffer(&m, &keymap, &theme, 200, 40);
    let a = buf.area;
    let screen: String = (0..a.height)
        .map(|y| {
            let mut line: String = (0..a.width).map(|x| buf[(x, y)].symbol()).collect();
            line.push('\n');
            line
        })
        .collect();
    assert!(
        screen.contains("✖ db · no figure yet · connect: certificate not trusted: unknown issuer"),
        "{screen}"
    );
    assert!(
        screen
            .contains("✖ reports · no figure yet · connect: certificate is for another host name"),
        "{screen}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_certificate_is_accepted_where_pg_hba_requires_one() {
    let c = PgCluster::start_tls(0);
    let pki = c.pki().clone();
    c.create_database(CERT_DB).await;
    c.create_database(CLIENTCERT_DB).await;
    let with_cert = format!(
        "{}&sslcert={}&sslkey={}",
        verify_full(&pki.ca),
        pki.client_cert.display(),
        pki.client_key.display()
    );
    for db in [CERT_DB, CLIENTCERT_DB] {
        // Without a certificate the server says no, and the source says why.
        let bare = url(SERVER_NAME, c.primary_port(), db, &verify_full(&pki.ca));
        let e = error_text(&first_observation("db", &bare).await);
        assert!(e.contains("certificate"), "{db}: {e}");

        let good = url(SERVER_NAME, c.primary_port(), db, &with_cert);
        let o = first_observation("db", &good).await;
        assert!(matches!(o.payload, Payload::Replication(_)), "{db}: {o:?}");
        let mut conn = sqlx::PgConnection::connect_with(&ebb::pg_options::from_url(&good).unwrap())
            .await
            .unwrap_or_else(|e| panic!("{db}: {e}"));
        let dn: String =
            sqlx::query_scalar("SELECT client_dn FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
                .fetch_one(&mut conn)
                .await
                .unwrap();
        assert_eq!(dn, "/CN=postgres", "{db}");
    }
}

/// Runs `child_with_libpq_env` in a child process (the environment is process-wide, and
/// other tests run in parallel) with `PG*` variables set; returns its output.
fn run_child(c: &PgCluster, vars: &[(&str, &Path)], expect: &str) -> String {
    let exe = std::env::current_exe().expect("test binary");
    let mut cmd = Command::new(exe);
    cmd.args([
        "pg_tls::child_with_libpq_env",
        "--exact",
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ])
    .env("EBB_TLS_CHILD_EXPECT", expect)
    .env("PGHOST", SERVER_NAME)
    .env("PGPORT", c.primary_port().to_string())
    .env("PGUSER", "postgres")
    .env("PGDATABASE", "postgres")
    .env("PGSSLMODE", "verify-full");
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run the child test");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "child failed:\n{text}");
    assert!(text.contains("1 passed"), "the child ran no test:\n{text}");
    text
}

#[test]
fn pgsslmode_and_pgsslrootcert_are_honoured() {
    let c = PgCluster::start_tls(0);
    let pki = c.pki().clone();
    run_child(&c, &[("PGSSLROOTCERT", &pki.ca)], "connected");
    run_child(&c, &[("PGSSLROOTCERT", &pki.other_ca)], "unknown issuer");
}

/// The child half of `pgsslmode_and_pgsslrootcert_are_honoured`: a target with no URL,
/// from the libpq environment alone, as a console targets file without `url` gives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "run by pgsslmode_and_pgsslrootcert_are_honoured with PG* set"]
async fn child_with_libpq_env() {
    let Ok(expect) = std::env::var("EBB_TLS_CHILD_EXPECT") else {
        return;
    };
    let (tx, mut rx) = mpsc::channel(16);
    let task = pg::spawn(PgTarget::from_env("db", INTERVAL, TIMEOUT), tx);
    let o = tokio::time::timeout(TIMEOUT * 3, rx.recv())
        .await
        .expect("an observation in time")
        .expect("the task is alive");
    drop(rx);
    let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
    if expect == "connected" {
        assert!(matches!(o.payload, Payload::Replication(_)), "{o:?}");
        let mut conn = sqlx::PgConnection::connect_with(&ebb::pg_options::from_env())
            .await
            .expect("connect from the environment");
        assert_eq!(session(&mut conn).await, (true, "ebb".to_string()));
    } else {
        let e = error_text(&o);
        assert!(e.contains(&expect), "{e}");
    }
}
