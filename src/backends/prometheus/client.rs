//! A small Prometheus HTTP API client: instant and range queries, a timeout on every call,
//! typed errors, and a URL whose credentials never appear in a message or a Debug form.

use std::collections::BTreeMap;
use std::time::Duration;

use reqwest::Url;

use crate::tls::{self, Client};
use serde::Deserialize;

/// The labels of one series (`__name__` included when Prometheus keeps it).
pub type Labels = BTreeMap<String, String>;

/// One series' value at one instant.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    pub labels: Labels,
    pub value: f64,
}

/// One series over a range: (unix seconds, value) points, oldest first.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    pub labels: Labels,
    pub points: Vec<(f64, f64)>,
}

/// Why a query gave no answer. Messages name the server without its credentials.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum PromError {
    #[error("bad Prometheus URL: {0}")]
    BadUrl(String),
    /// The target's `ca` file could not be used.
    #[error("{0}")]
    Ca(String),
    #[error("{server}: no answer within {:.1}s", timeout.as_secs_f64())]
    Timeout { server: String, timeout: Duration },
    #[error("{server}: cannot connect ({detail})")]
    Connect { server: String, detail: String },
    /// Prometheus refused the query: `bad_data` (a PromQL error), `timeout`, `execution`…
    #[error("{server}: Prometheus says {error_type}: {message}")]
    Api {
        server: String,
        error_type: String,
        message: String,
    },
    #[error("{server}: HTTP {status} ({detail})")]
    Status {
        server: String,
        status: u16,
        detail: String,
    },
    #[error("{server}: not a Prometheus API answer ({detail})")]
    Decode { server: String, detail: String },
    #[error("{server}: {detail}")]
    Http { server: String, detail: String },
    /// The drill's Prometheus does not evaluate this query (outside its PromQL subset).
    #[error("the drill world does not evaluate `{query}`: {what}; the facilitator decides")]
    Unsupported { query: String, what: String },
}

/// A Prometheus server's HTTP API. The base URL may carry `user:password@` (sent as basic
/// auth); `describe` and every error show it without them.
#[derive(Clone)]
pub struct PromClient {
    http: reqwest::Client,
    base: Url,
    auth: Option<(String, Option<String>)>,
    timeout: Duration,
}

impl std::fmt::Debug for PromClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PromClient")
            .field("server", &self.describe())
            .field("timeout", &self.timeout)
            .finish()
    }
}

#[derive(Deserialize)]
struct Envelope {
    status: String,
    data: Option<Data>,
    #[serde(rename = "errorType")]
    error_type: Option<String>,
    error: Option<String>,
}

#[derive(Deserialize)]
#[serde(tag = "resultType", content = "result", rename_all = "lowercase")]
enum Data {
    Vector(Vec<RawSample>),
    Matrix(Vec<RawSeries>),
    Scalar((f64, String)),
    String(serde::de::IgnoredAny),
}

#[derive(Deserialize)]
struct RawSample {
    #[serde(default)]
    metric: Labels,
    value: (f64, String),
}

#[derive(Deserialize)]
struct RawSeries {
    #[serde(default)]
    metric: Labels,
    #[serde(default)]
    values: Vec<(f64, String)>,
}

/// Prometheus writes values as strings: `"1.5"`, `"NaN"`, `"+Inf"`, `"-Inf"`.
fn number(s: &str) -> f64 {
    match s {
        "+Inf" | "Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        other => other.parse().unwrap_or(f64::NAN),
    }
}

impl PromClient {
    /// A client for the server at `url` (`http(s)://[user:password@]host:port[/prefix]`);
    /// every call gives up after `timeout`. HTTPS trusts the system's roots.
    pub fn new(url: &str, timeout: Duration) -> Result<PromClient, PromError> {
        PromClient::with_ca(url, timeout, None)
    }

    /// As `new`, trusting also the CAs of the PEM file `ca` (an internal CA).
    pub fn with_ca(
        url: &str,
        timeout: Duration,
        ca: Option<&std::path::Path>,
    ) -> Result<PromClient, PromError> {
        let mut base = Url::parse(url.trim()).map_err(|e| PromError::BadUrl(e.to_string()))?;
        if !matches!(base.scheme(), "http" | "https") || base.host_str().is_none() {
            return Err(PromError::BadUrl(
                "expected http(s)://host:port[/path]".to_string(),
            ));
        }
        let auth = (!base.username().is_empty()).then(|| {
            let user = percent_decode(base.username());
            (user, base.password().map(percent_decode))
        });
        // Neither can fail on an http(s) URL with a host.
        let _ = base.set_username("");
        let _ = base.set_password(None);
        base.set_query(None);
        base.set_fragment(None);
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let builder = reqwest::Client::builder()
            .connect_timeout(timeout)
            .timeout(timeout)
            .user_agent(concat!("ebb/", env!("CARGO_PKG_VERSION")));
        let http = tls::trust_ca(builder, ca)
            .map_err(PromError::Ca)?
            .build()
            .map_err(|e| PromError::Http {
                server: base.to_string(),
                detail: e.to_string(),
            })?;
        Ok(PromClient {
            http,
            base,
            auth,
            timeout,
        })
    }

    /// The server without credentials, e.g. `http://prom.internal:9090/`.
    pub fn describe(&self) -> String {
        self.base.to_string()
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// `/api/v1/query` now: one sample per series (a scalar is one unlabelled sample).
    pub async fn query(&self, promql: &str) -> Result<Vec<Sample>, PromError> {
        let params = [
            ("query", promql.to_string()),
            ("timeout", self.eval_timeout()),
        ];
        match self.call("api/v1/query", &params).await? {
            Data::Vector(v) => Ok(v
                .into_iter()
                .map(|s| Sample {
                    labels: s.metric,
                    value: number(&s.value.1),
                })
                .collect()),
            Data::Scalar((_, v)) => Ok(vec![Sample {
                labels: Labels::new(),
                value: number(&v),
            }]),
            _ => Err(self.decode("an instant query answered with a matrix or string")),
        }
    }

    /// `/api/v1/query_range` from `start` to `end` (unix seconds) every `step`.
    pub async fn query_range(
        &self,
        promql: &str,
        start: f64,
        end: f64,
        step: Duration,
    ) -> Result<Vec<Series>, PromError> {
        let params = [
            ("query", promql.to_string()),
            ("start", format!("{start:.3}")),
            ("end", format!("{end:.3}")),
            ("step", format!("{:.3}", step.as_secs_f64().max(0.001))),
            ("timeout", self.eval_timeout()),
        ];
        match self.call("api/v1/query_range", &params).await? {
            Data::Matrix(m) => Ok(m
                .into_iter()
                .map(|s| Series {
                    labels: s.metric,
                    points: s.values.iter().map(|(t, v)| (*t, number(v))).collect(),
                })
                .collect()),
            _ => Err(self.decode("a range query did not answer with a matrix")),
        }
    }

    /// The server's own evaluation timeout: a little under ours, so it answers first.
    fn eval_timeout(&self) -> String {
        format!("{}ms", (self.timeout.as_millis() * 9 / 10).max(1))
    }

    fn decode(&self, detail: &str) -> PromError {
        PromError::Decode {
            server: self.describe(),
            detail: detail.to_string(),
        }
    }

    async fn call(&self, path: &str, params: &[(&str, String)]) -> Result<Data, PromError> {
        let server = self.describe();
        let url = self
            .base
            .join(path)
            .map_err(|e| PromError::BadUrl(e.to_string()))?;
        let mut req = self.http.post(url).form(params);
        if let Some((user, password)) = &self.auth {
            req = req.basic_auth(user, password.as_ref());
        }
        let transport = |e: reqwest::Error| {
            // The URL is ours, without credentials, but keep reqwest from repeating it.
            let e = e.without_url();
            if e.is_timeout() {
                PromError::Timeout {
                    server: server.clone(),
                    timeout: self.timeout,
                }
            } else if e.is_connect() {
                PromError::Connect {
                    server: server.clone(),
                    detail: tls::describe(&e, Client::Https),
                }
            } else {
                PromError::Http {
                    server: server.clone(),
                    detail: tls::describe(&e, Client::Https),
                }
            }
        };
        // reqwest's timeout covers the whole exchange; this one is a backstop.
        let response = tokio::time::timeout(self.timeout, req.send())
            .await
            .map_err(|_| PromError::Timeout {
                server: server.clone(),
                timeout: self.timeout,
            })?
            .map_err(transport)?;
        let status = response.status();
        let body = tokio::time::timeout(self.timeout, response.bytes())
            .await
            .map_err(|_| PromError::Timeout {
                server: server.clone(),
                timeout: self.timeout,
            })?
            .map_err(transport)?;
        let envelope: Envelope = match serde_json::from_slice(&body) {
            Ok(e) => e,
            Err(e) if status.is_success() => {
                return Err(self.decode(&e.to_string()));
            }
            Err(_) => {
                return Err(PromError::Status {
                    server,
                    status: status.as_u16(),
                    detail: status.canonical_reason().unwrap_or("error").to_string(),
                });
            }
        };
        if envelope.status != "success" {
            return Err(api_error(server, status.as_u16(), envelope));
        }
        envelope
            .data
            .ok_or_else(|| self.decode("a success without data"))
    }
}

/// Prometheus's own refusal, as it words it — sanitized here, at ingress: the body is the
/// server's text and may carry escape sequences meant for a terminal.
fn api_error(server: String, status: u16, envelope: Envelope) -> PromError {
    let error_type = envelope.error_type.unwrap_or_else(|| "error".into());
    let message = envelope.error.unwrap_or_else(|| format!("HTTP {status}"));
    PromError::Api {
        server,
        error_type: crate::text::sanitize(&error_type),
        message: crate::text::sanitize(&message),
    }
}

/// `%40` → `@` in URL user info.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(h) = s.get(i + 1..i + 3)
            && let Ok(b) = u8::from_str_radix(h, 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `s` as a PromQL double-quoted string literal.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_never_show_and_the_path_is_kept() {
        let c = PromClient::new(
            "https://ebb:hunter%402@prom.internal:9090/prom",
            Duration::from_secs(1),
        )
        .unwrap();
        assert_eq!(c.describe(), "https://prom.internal:9090/prom/");
        assert!(!format!("{c:?}").contains("hunter"));
        assert_eq!(
            c.auth,
            Some(("ebb".to_string(), Some("hunter@2".to_string())))
        );
    }

    #[test]
    fn an_error_body_never_carries_escape_sequences() {
        let body = br#"{"status":"error","errorType":"bad_data\u001b[2J","error":"parse error \u001b]52;c;aGVsbG8=\u0007 at char 3\u202e"}"#;
        let envelope: Envelope = serde_json::from_slice(body).unwrap();
        let e = api_error("http://prom:9090/".into(), 400, envelope).to_string();
        assert!(!e.chars().any(crate::text::is_unsafe), "{e:?}");
        assert!(e.contains("parse error"), "{e}");
        assert!(!e.contains("aGVsbG8"), "the OSC 52 payload is gone: {e}");
    }

    #[test]
    fn bad_urls_are_refused() {
        assert!(matches!(
            PromClient::new("prom:9090", Duration::from_secs(1)),
            Err(PromError::BadUrl(_))
        ));
        assert!(matches!(
            PromClient::new("not a url", Duration::from_secs(1)),
            Err(PromError::BadUrl(_))
        ));
    }

    #[test]
    fn answers_decode_into_samples_and_series() {
        let v: Envelope = serde_json::from_str(
            r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"instance":"a"},"value":[1.5,"NaN"]}]}}"#,
        )
        .unwrap();
        assert!(
            matches!(v.data, Some(Data::Vector(ref s)) if s.len() == 1 && s[0].value.1 == "NaN")
        );
        let m: Envelope = serde_json::from_str(
            r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"1"],[2,"+Inf"]]}]}}"#,
        )
        .unwrap();
        assert!(matches!(m.data, Some(Data::Matrix(ref s)) if s[0].values.len() == 2));
        let e: Envelope = serde_json::from_str(
            r#"{"status":"error","errorType":"bad_data","error":"parse error at char 4"}"#,
        )
        .unwrap();
        assert_eq!(e.error_type.as_deref(), Some("bad_data"));
        assert_eq!(number("+Inf"), f64::INFINITY);
        assert!(number("NaN").is_nan());
    }

    #[test]
    fn quoting_escapes_what_promql_needs() {
        assert_eq!(quote(r#"a"b\c"#), r#""a\"b\\c""#);
    }
}
