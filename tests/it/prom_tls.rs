//! HTTPS with an internal CA, against a real Prometheus serving TLS and basic auth (its
//! `--web.config.file`, certificates and bcrypt hash made by the test): with the target's
//! `ca` checks, the source and http steps work; without it, the error names the problem.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use ebb::backends::http::HttpTargets;
use ebb::backends::prometheus::check::{PromTargets, evaluate};
use ebb::backends::prometheus::source::{PromTarget, spawn};
use ebb::engine::CheckOutcome;
use ebb::plan::{CheckKind, CompareOp, HttpRequest, HttpUrl, Plan};
use ebb::sources::Payload;
use tokio::sync::mpsc;

use crate::support::certs::{SERVER_NAME, TestPki};
use crate::support::prom::PromStack;

const USER: &str = "ebb";
const PASSWORD: &str = "s3cret-basic";

/// A Prometheus serving HTTPS for `localhost` with a certificate from the test's CA.
struct Lab {
    dir: tempfile::TempDir,
    pki: TestPki,
    prom: PromStack,
}

impl Lab {
    fn start() -> Lab {
        let dir = tempfile::tempdir().unwrap();
        let pki = TestPki::generate(&dir.path().join("tls"));
        // The lowest cost bcrypt allows: the hash only has to be valid.
        let hash = bcrypt::hash(PASSWORD, 4).unwrap();
        let prom = PromStack::start_tls(&pki.server_cert, &pki.server_key, USER, &hash);
        Lab { dir, pki, prom }
    }

    /// `https://ebb:PASSWORD@localhost:PORT`, written to a file for `url = "file:…"`.
    fn url_file(&self, password: &str) -> std::path::PathBuf {
        let path = self.dir.path().join(format!("url-{password}"));
        let url = format!(
            "https://{USER}:{password}@{SERVER_NAME}:{}",
            self.prom.port()
        );
        std::fs::write(&path, url).unwrap();
        path
    }

    /// A plan with a prometheus target `metrics` and an http target `web` on this server.
    fn plan(&self, password: &str, ca: Option<&Path>) -> Plan {
        let url = self.url_file(password);
        let ca = ca.map_or(String::new(), |p| {
            format!("ca = \"file:{}\"\n", p.display())
        });
        let text = format!(
            "[plan]\nname = \"p\"\n\n\
             [targets.metrics]\nkind = \"prometheus\"\nurl = \"file:{url}\"\n{ca}\n\
             [targets.web]\nkind = \"http\"\nurl = \"file:{url}\"\n{ca}\n\
             [[step]]\nid = \"s\"\nkind = \"manual\"\ndescription = \"look\"\n",
            url = url.display()
        );
        Plan::parse(&ebb::diag::SourceFile::new("p.toml", &text)).unwrap()
    }
}

fn up_check() -> CheckKind {
    CheckKind::Promql {
        query: "vector(1)".into(),
        op: CompareOp::Lt,
        threshold: 2.0,
        for_: None,
    }
}

/// Evaluates `up_check` until Prometheus is past its start-up 503s (bounded).
async fn evaluate_when_ready(plan: &Plan) -> CheckOutcome {
    let targets = PromTargets::for_plan(plan);
    let client = targets.client("metrics").unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let out = evaluate(client, "metrics", &up_check()).await;
        let starting = matches!(&out, CheckOutcome::Inconclusive(m) if m.contains("HTTP 503"));
        if !starting || Instant::now() > deadline {
            return out;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_internal_ca_in_ca_makes_https_prometheus_and_http_targets_work() {
    let lab = Lab::start();
    let plan = lab.plan(PASSWORD, Some(&lab.pki.ca));
    assert_eq!(evaluate_when_ready(&plan).await, CheckOutcome::Pass);

    // Basic auth is really asked for: a wrong password is refused by the server.
    let wrong = lab.plan("wrong", Some(&lab.pki.ca));
    let out = evaluate_when_ready(&wrong).await;
    assert!(
        matches!(&out, CheckOutcome::Inconclusive(m) if m.contains("HTTP 401")),
        "{out:?}"
    );

    // An http step on a target with the same `ca`.
    let http = HttpTargets::for_plan(&plan);
    let get = HttpRequest {
        method: "GET".into(),
        url: HttpUrl::Path("/-/healthy".into()),
        json: None,
        headers: BTreeMap::new(),
    };
    http.send(Some("web"), &get, Some(200), "k1")
        .await
        .expect("GET /-/healthy over HTTPS with the internal CA");

    // The console's source, from the same target.
    let url = std::fs::read_to_string(lab.url_file(PASSWORD)).unwrap();
    let target = PromTarget::from_url(
        "metrics",
        &url,
        Some(&lab.pki.ca),
        Duration::from_millis(300),
        Duration::from_secs(5),
    )
    .unwrap();
    let (tx, mut rx) = mpsc::channel(16);
    let task = spawn(target, tx);
    let o = tokio::time::timeout(Duration::from_secs(20), rx.recv())
        .await
        .expect("an observation")
        .expect("task alive");
    assert!(!matches!(o.payload, Payload::Error(_)), "{o:?}");
    drop(rx);
    let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_ca_the_error_names_the_certificate_problem() {
    let lab = Lab::start();
    let plan = lab.plan(PASSWORD, None);
    let out = evaluate_when_ready(&plan).await;
    let CheckOutcome::Inconclusive(why) = out else {
        panic!("an untrusted server is inconclusive: {out:?}");
    };
    assert!(
        why.contains(
            "certificate not trusted: unknown issuer (check the target's ca = \"file:PATH\")"
        ),
        "{why}"
    );
    assert!(!why.contains(PASSWORD), "{why}");

    let http = HttpTargets::for_plan(&plan);
    let get = HttpRequest {
        method: "GET".into(),
        url: HttpUrl::Path("/-/healthy".into()),
        json: None,
        headers: BTreeMap::new(),
    };
    let e = http
        .send(Some("web"), &get, Some(200), "k1")
        .await
        .unwrap_err();
    assert!(e.contains("certificate not trusted: unknown issuer"), "{e}");
    assert!(!e.contains(PASSWORD), "{e}");

    // A CA that did not sign the server's certificate is no better.
    let other = lab.plan(PASSWORD, Some(&lab.pki.other_ca));
    let out = evaluate_when_ready(&other).await;
    assert!(
        matches!(&out, CheckOutcome::Inconclusive(m) if m.contains("unknown issuer")),
        "{out:?}"
    );
}
