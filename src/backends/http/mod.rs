//! `http` steps and undos: one request (method, URL from a secret or a path under the
//! target's URL, JSON body, headers), a timeout, the expected status; secrets never logged.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::engine::{Ended, Failure};
use crate::plan::{HeaderValue, HttpRequest, HttpUrl, Plan, SecretRef, TargetKind};
use crate::tls::{self, Client};

/// Per request: connecting, and the whole exchange.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The http targets of a run: their base URLs (read from their secrets), a client for
/// each target that names its own `ca`, and one client (system roots) for the rest.
pub struct HttpTargets {
    client: Result<reqwest::Client, String>,
    bases: BTreeMap<String, Result<String, String>>,
    own_clients: BTreeMap<String, Result<reqwest::Client, String>>,
}

impl HttpTargets {
    pub fn for_plan(plan: &Plan) -> HttpTargets {
        let http_targets = || plan.targets.values().filter(|t| t.kind == TargetKind::Http);
        let bases = http_targets()
            .map(|t| {
                let base = match &t.url {
                    Some(s) => s.resolve().map_err(|e| format!("target {}: {e}", t.name)),
                    None => Err(format!("target {} has no url", t.name)),
                };
                (t.name.clone(), base)
            })
            .collect();
        let own_clients = http_targets()
            .filter_map(|t| {
                let ca = t.ca.as_deref()?;
                let client = build_client(Some(ca)).map_err(|e| format!("target {}: {e}", t.name));
                Some((t.name.clone(), client))
            })
            .collect();
        HttpTargets {
            client: build_client(None),
            bases,
            own_clients,
        }
    }

    /// The client for a request on `target`: its own when it names a `ca`.
    fn client_for(&self, target: Option<&str>) -> Result<&reqwest::Client, String> {
        let own = target.and_then(|name| self.own_clients.get(name));
        match own.unwrap_or(&self.client) {
            Ok(c) => Ok(c),
            Err(e) => Err(e.clone()),
        }
    }

    /// Carries out an `http` effect.
    pub async fn act(&self, e: &crate::engine::Effect<'_>) -> Result<Ended, Failure> {
        let crate::plan::StepKind::Http {
            request,
            expect_status,
        } = e.kind
        else {
            return Err(format!("`{}` is not an http step", e.kind.name()).into());
        };
        self.send(e.target, request, *expect_status, e.key)
            .await
            .map(|()| Ended::Complete)
            .map_err(Failure::from)
    }

    /// Sends `req` (on `target` when its URL is a path) with `Idempotency-Key: key`.
    /// `Ok` when the status is `expect` (any 2xx when `None`). Errors name the method and
    /// the path or the secret's origin, never a secret's value.
    pub async fn send(
        &self,
        target: Option<&str>,
        req: &HttpRequest,
        expect: Option<u16>,
        key: &str,
    ) -> Result<(), String> {
        let client = self.client_for(target)?;
        let url = match &req.url {
            HttpUrl::Secret(s) => s.resolve()?,
            HttpUrl::Path(path) => {
                let name = target.ok_or("a path URL needs the step's http target")?;
                let base = match self.bases.get(name) {
                    Some(Ok(b)) => b,
                    Some(Err(e)) => return Err(e.clone()),
                    None => return Err(format!("{name} is not an http target of this plan")),
                };
                format!("{}{path}", base.trim_end_matches('/'))
            }
        };
        let what = request_shown(req, target);
        let method = reqwest::Method::from_bytes(req.method.as_bytes())
            .map_err(|_| format!("{what}: not an HTTP method"))?;
        let mut builder = client.request(method, &url).header("Idempotency-Key", key);
        for (name, value) in &req.headers {
            let value = match value {
                HeaderValue::Plain(v) => v.clone(),
                HeaderValue::Secret(s) => secret(s, name)?,
            };
            builder = builder.header(name.as_str(), value);
        }
        if let Some(body) = &req.json {
            builder = builder.json(body);
        }
        let response = builder.send().await.map_err(|e| {
            // The URL may hold credentials: never part of the message.
            let e = e.without_url();
            let kind = if e.is_timeout() {
                "timed out"
            } else if e.is_connect() {
                "cannot connect"
            } else {
                "failed"
            };
            format!("{what}: {kind} ({})", tls::describe(&e, Client::Https))
        })?;
        expected(&what, response.status().as_u16(), expect)
    }
}

/// A request as messages name it: its method, and the secret's origin (`<env:NAME>`) or
/// the target and path; never a secret's value.
pub(crate) fn request_shown(req: &HttpRequest, target: Option<&str>) -> String {
    let shown = match &req.url {
        HttpUrl::Secret(s) => format!("<{}>", s.origin()),
        HttpUrl::Path(path) => format!("{}{path}", target.unwrap_or_default()),
    };
    format!("{} {shown}", req.method)
}

/// `Ok` when `status` is `expect` (any 2xx when `None`).
pub(crate) fn expected(what: &str, status: u16, expect: Option<u16>) -> Result<(), String> {
    let ok = match expect {
        Some(want) => status == want,
        None => (200..300).contains(&status),
    };
    if ok {
        Ok(())
    } else {
        let want = expect.map_or("2xx".to_string(), |w| w.to_string());
        Err(format!("{what} returned {status} (expected {want})"))
    }
}

/// A client with ebb's timeouts, trusting the system's roots and the CAs of `ca`.
fn build_client(ca: Option<&std::path::Path>) -> Result<reqwest::Client, String> {
    let builder = reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(REQUEST_TIMEOUT)
        .user_agent(concat!("ebb/", env!("CARGO_PKG_VERSION")));
    tls::trust_ca(builder, ca)?
        .build()
        .map_err(|e| format!("cannot build an HTTP client: {e}"))
}

fn secret(s: &SecretRef, header: &str) -> Result<String, String> {
    s.resolve().map_err(|e| format!("header {header}: {e}"))
}
