//! The loopback server's HTTP side: routes API paths to the store (list with pagination,
//! watch streams, get, create, replace, patch, delete, `/scale`, the stats proxy) and faults.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::{Request, Response};
use serde_json::{Value, json};

use super::store::{
    ApiError, Kind, Seen, State, fields_match, kind_by_path, labels_match, merge, param, status,
};
use super::{Fault, Shared};

type Body = BoxBody<Bytes, Infallible>;

pub async fn serve(listener: tokio::net::TcpListener, shared: Arc<Shared>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let shared = shared.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let shared = shared.clone();
                async move { Ok::<_, Infallible>(handle(shared, req).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .await;
        });
    }
}

fn respond(code: u16, body: &Value) -> Response<Body> {
    Response::builder()
        .status(code)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())).boxed())
        .unwrap()
}

fn error((code, body): ApiError) -> Response<Body> {
    respond(code, &body)
}

fn not_found(what: &str) -> ApiError {
    (404, status(404, "NotFound", &format!("{what} not found")))
}

/// Where a request's path points.
enum Route {
    Collection {
        kind: &'static Kind,
        ns: Option<String>,
    },
    Object {
        kind: &'static Kind,
        ns: String,
        name: String,
        sub: Option<String>,
    },
    Stats {
        node: String,
    },
}

fn route(path: &str) -> Option<Route> {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (group, version, rest) = match parts.as_slice() {
        ["api", version, rest @ ..] => ("", *version, rest),
        ["apis", group, version, rest @ ..] => (*group, *version, rest),
        _ => return None,
    };
    let kind = |plural: &str| kind_by_path(group, version, plural);
    match rest {
        ["nodes", node, "proxy", "stats", "summary"] => Some(Route::Stats {
            node: node.to_string(),
        }),
        ["namespaces", ns, plural] => Some(Route::Collection {
            kind: kind(plural)?,
            ns: Some(ns.to_string()),
        }),
        ["namespaces", ns, plural, name, sub @ ..] if sub.len() <= 1 => Some(Route::Object {
            kind: kind(plural)?,
            ns: ns.to_string(),
            name: name.to_string(),
            sub: sub.first().map(|s| s.to_string()),
        }),
        [plural] => Some(Route::Collection {
            kind: kind(plural)?,
            ns: None,
        }),
        [plural, name, sub @ ..] if sub.len() <= 1 => {
            let kind = kind(plural)?;
            (!kind.namespaced).then(|| Route::Object {
                kind,
                ns: String::new(),
                name: name.to_string(),
                sub: sub.first().map(|s| s.to_string()),
            })
        }
        _ => None,
    }
}

async fn handle(shared: Arc<Shared>, req: Request<Incoming>) -> Response<Body> {
    let method = req.method().as_str().to_string();
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or("").to_string();
    let content_type = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let bytes = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    let fault = shared.with(|s| {
        s.requests.push(Seen {
            method: method.clone(),
            path: path.clone(),
            query: query.clone(),
            content_type: content_type.clone(),
            body: body.clone(),
        });
        s.faults
            .iter()
            .find(|(needle, _)| path.contains(needle.as_str()))
            .map(|(_, f)| f.clone())
    });
    match fault {
        Some(Fault::Status(code)) => {
            return respond(code, &status(code, "InternalError", "injected fault"));
        }
        Some(Fault::Hang) => futures::future::pending::<()>().await,
        None => {}
    }
    let Some(route) = route(&path) else {
        return error(not_found(&format!("path {path}")));
    };
    let watch = matches!(param(&query, "watch").as_deref(), Some("true" | "1"));
    match (method.as_str(), route) {
        ("GET", Route::Stats { node }) => match shared.with(|s| s.stats.get(&node).cloned()) {
            Some(summary) => respond(200, &summary),
            None => error(not_found(&format!("stats of node {node}"))),
        },
        ("GET", Route::Collection { kind, ns }) if watch => watch_stream(shared, kind, ns, &query),
        ("GET", Route::Collection { kind, ns }) => {
            respond(200, &shared.with(|s| list(s, kind, ns.as_deref(), &query)))
        }
        ("POST", Route::Collection { kind, ns }) => {
            let ns = ns.unwrap_or_default();
            match shared.with(|s| create(s, kind, &ns, body)) {
                Ok(obj) => respond(201, &obj),
                Err(e) => error(e),
            }
        }
        (
            verb,
            Route::Object {
                kind,
                ns,
                name,
                sub,
            },
        ) => {
            let result = shared.with(|s| {
                object(
                    s,
                    verb,
                    kind,
                    &ns,
                    &name,
                    sub.as_deref(),
                    &content_type,
                    body,
                )
            });
            match result {
                Ok(obj) => respond(200, &obj),
                Err(e) => error(e),
            }
        }
        _ => error((405, status(405, "MethodNotAllowed", "method not allowed"))),
    }
}

fn list(s: &State, kind: &'static Kind, ns: Option<&str>, query: &str) -> Value {
    let labels = param(query, "labelSelector").unwrap_or_default();
    let fields = param(query, "fieldSelector").unwrap_or_default();
    let matching: Vec<&Value> = s
        .objects
        .iter()
        .filter(|((p, n, _), _)| *p == kind.plural && ns.is_none_or(|ns| ns == n))
        .map(|(_, v)| v)
        .filter(|v| labels_match(v, &labels) && fields_match(v, &fields))
        .collect();
    let offset: usize = param(query, "continue")
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let limit = param(query, "limit")
        .and_then(|l| l.parse::<usize>().ok())
        .filter(|l| *l > 0)
        .unwrap_or(usize::MAX);
    let page: Vec<Value> = matching
        .iter()
        .skip(offset)
        .take(limit)
        .map(|v| (*v).clone())
        .collect();
    let next = offset.saturating_add(page.len());
    let mut metadata = json!({ "resourceVersion": s.rv.to_string() });
    if next < matching.len() {
        metadata["continue"] = json!(next.to_string());
        metadata["remainingItemCount"] = json!(matching.len() - next);
    }
    json!({
        "apiVersion": kind.api_version(),
        "kind": format!("{}List", kind.kind),
        "metadata": metadata,
        "items": page,
    })
}

fn create(s: &mut State, kind: &'static Kind, ns: &str, mut obj: Value) -> Result<Value, ApiError> {
    if !obj.is_object() {
        return Err((400, status(400, "BadRequest", "body is not a JSON object")));
    }
    if obj["metadata"]["name"].as_str().is_none_or(str::is_empty) {
        match obj["metadata"]["generateName"].as_str() {
            Some(prefix) => obj["metadata"]["name"] = json!(format!("{prefix}{:05}", s.rv + 1)),
            None => return Err((422, status(422, "Invalid", "metadata.name is required"))),
        }
    }
    let name = obj["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    if s.get(kind.plural, ns, &name).is_some() {
        return Err((
            409,
            status(
                409,
                "AlreadyExists",
                &format!("{} \"{name}\" already exists", kind.plural),
            ),
        ));
    }
    Ok(s.store(kind, ns, obj))
}

#[allow(clippy::too_many_arguments)]
fn object(
    s: &mut State,
    verb: &str,
    kind: &'static Kind,
    ns: &str,
    name: &str,
    sub: Option<&str>,
    content_type: &str,
    body: Value,
) -> Result<Value, ApiError> {
    let what = format!("{} \"{name}\"", kind.plural);
    let current = s.get(kind.plural, ns, name).cloned();
    match (verb, sub) {
        ("GET", None | Some("status")) => current.ok_or_else(|| not_found(&what)),
        ("GET", Some("scale")) => current
            .map(|o| scale_of(&o))
            .ok_or_else(|| not_found(&what)),
        ("DELETE", None) => s
            .remove(kind.plural, ns, name)
            .ok_or_else(|| not_found(&what)),
        ("PUT", None | Some("status")) => {
            let current = current.ok_or_else(|| not_found(&what))?;
            let sent = body["metadata"]["resourceVersion"].as_str();
            if sent.is_some_and(|rv| Some(rv) != current["metadata"]["resourceVersion"].as_str()) {
                return Err((409, status(409, "Conflict", "the object has been modified")));
            }
            Ok(s.store(kind, ns, body))
        }
        ("PATCH", sub) => {
            let apply = content_type.starts_with("application/apply-patch");
            if !(apply || content_type.contains("merge-patch+json")) {
                return Err((415, status(415, "UnsupportedMediaType", content_type)));
            }
            let mut obj = match current {
                Some(obj) => obj,
                None if apply && sub.is_none() => json!({ "metadata": { "name": name } }),
                None => return Err(not_found(&what)),
            };
            match sub {
                Some("scale") => {
                    if let Some(replicas) = body["spec"]["replicas"].as_i64() {
                        obj["spec"]["replicas"] = json!(replicas);
                    }
                    let obj = s.store(kind, ns, obj);
                    Ok(scale_of(&obj))
                }
                None | Some("status") => {
                    merge(&mut obj, &body);
                    Ok(s.store(kind, ns, obj))
                }
                Some(other) => Err(not_found(&format!("subresource {other}"))),
            }
        }
        _ => Err((405, status(405, "MethodNotAllowed", "method not allowed"))),
    }
}

/// The `autoscaling/v1` Scale of a workload.
fn scale_of(obj: &Value) -> Value {
    json!({
        "apiVersion": "autoscaling/v1",
        "kind": "Scale",
        "metadata": {
            "name": obj["metadata"]["name"],
            "namespace": obj["metadata"]["namespace"],
            "resourceVersion": obj["metadata"]["resourceVersion"],
        },
        "spec": { "replicas": obj["spec"]["replicas"].as_i64().unwrap_or(1) },
        "status": { "replicas": obj["status"]["replicas"].as_i64().unwrap_or(0) },
    })
}

/// A watch: the changes after `resourceVersion` (or ADDED for every object when none is
/// given), then live changes until `timeoutSeconds`.
fn watch_stream(
    shared: Arc<Shared>,
    kind: &'static Kind,
    ns: Option<String>,
    query: &str,
) -> Response<Body> {
    let labels = param(query, "labelSelector").unwrap_or_default();
    let fields = param(query, "fieldSelector").unwrap_or_default();
    let since: Option<u64> = param(query, "resourceVersion")
        .filter(|rv| !rv.is_empty() && rv != "0")
        .and_then(|rv| rv.parse().ok());
    let timeout = param(query, "timeoutSeconds")
        .and_then(|t| t.parse().ok())
        .map_or(Duration::from_secs(300), Duration::from_secs);
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(256);
    let mut changed = shared.changed.subscribe();
    let keep = move |plural: &str, namespace: &str, obj: &Value| {
        plural == kind.plural
            && ns.as_deref().is_none_or(|ns| ns == namespace)
            && labels_match(obj, &labels)
            && fields_match(obj, &fields)
    };
    tokio::spawn(async move {
        let deadline = tokio::time::Instant::now() + timeout;
        let line = |kind: &str, obj: &Value| {
            Bytes::from(format!("{}\n", json!({ "type": kind, "object": obj })))
        };
        // Where in the log this watch has read up to.
        let (mut next, initial) = shared.with(|s| match since {
            Some(rv) => (s.log.partition_point(|c| c.rv <= rv), Vec::new()),
            None => {
                let all: Vec<Bytes> = s
                    .objects
                    .iter()
                    .filter(|((p, n, _), v)| keep(p, n, v))
                    .map(|(_, v)| line("ADDED", v))
                    .collect();
                (s.log.len(), all)
            }
        });
        for chunk in initial {
            if tx.send(chunk).await.is_err() {
                return;
            }
        }
        loop {
            let batch: Vec<Bytes> = shared.with(|s| {
                let out = s.log[next..]
                    .iter()
                    .filter(|c| keep(c.plural, &c.namespace, &c.object))
                    .map(|c| line(c.kind, &c.object))
                    .collect();
                next = s.log.len();
                out
            });
            for chunk in batch {
                if tx.send(chunk).await.is_err() {
                    return;
                }
            }
            tokio::select! {
                r = changed.changed() => if r.is_err() { return },
                _ = tokio::time::sleep_until(deadline) => return,
                _ = tx.closed() => return,
            }
        }
    });
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|b| (Ok::<_, Infallible>(Frame::data(b)), rx))
    });
    Response::builder()
        .status(200)
        .header("content-type", "application/json")
        .body(BodyExt::boxed(StreamBody::new(stream)))
        .unwrap()
}
