//! The loopback server's objects and their history: resourceVersions, the watch event log,
//! label and field selectors, JSON merge patches, and the requests it was sent.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::Fault;

/// One request as the server saw it.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    pub path: String,
    /// The raw query string (`watch=true&resourceVersion=12`), empty when none.
    pub query: String,
    pub content_type: String,
    /// The JSON body, `Null` when empty or not JSON.
    pub body: Value,
}

impl Seen {
    /// The value of query parameter `name`, percent-decoded.
    pub fn param(&self, name: &str) -> Option<String> {
        param(&self.query, name)
    }
}

/// A kind the server knows: where it lives in the URL space.
#[derive(Clone, Copy, Debug)]
pub struct Kind {
    pub group: &'static str,
    pub version: &'static str,
    pub plural: &'static str,
    pub kind: &'static str,
    pub namespaced: bool,
}

impl Kind {
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.into()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }
}

pub const KINDS: &[Kind] = &[
    k("", "v1", "pods", "Pod", true),
    k(
        "",
        "v1",
        "persistentvolumeclaims",
        "PersistentVolumeClaim",
        true,
    ),
    k("", "v1", "events", "Event", true),
    k("", "v1", "configmaps", "ConfigMap", true),
    k("", "v1", "services", "Service", true),
    k("", "v1", "nodes", "Node", false),
    k("", "v1", "namespaces", "Namespace", false),
    k("apps", "v1", "statefulsets", "StatefulSet", true),
    k("apps", "v1", "deployments", "Deployment", true),
    k(
        "apps",
        "v1",
        "controllerrevisions",
        "ControllerRevision",
        true,
    ),
    k(
        "snapshot.storage.k8s.io",
        "v1",
        "volumesnapshots",
        "VolumeSnapshot",
        true,
    ),
];

const fn k(
    group: &'static str,
    version: &'static str,
    plural: &'static str,
    kind: &'static str,
    namespaced: bool,
) -> Kind {
    Kind {
        group,
        version,
        plural,
        kind,
        namespaced,
    }
}

pub fn kind_by_path(group: &str, version: &str, plural: &str) -> Option<&'static Kind> {
    KINDS
        .iter()
        .find(|k| k.group == group && k.version == version && k.plural == plural)
}

fn kind_of(obj: &Value) -> Option<&'static Kind> {
    let api_version = obj["apiVersion"].as_str()?;
    let kind = obj["kind"].as_str()?;
    KINDS
        .iter()
        .find(|k| k.kind == kind && k.api_version() == api_version)
}

/// One change, as a watch stream sends it.
#[derive(Clone, Debug)]
pub struct Change {
    pub rv: u64,
    pub plural: &'static str,
    pub namespace: String,
    /// ADDED, MODIFIED or DELETED.
    pub kind: &'static str,
    pub object: Value,
}

type Key = (&'static str, String, String);

#[derive(Default)]
pub struct State {
    /// The last resourceVersion handed out.
    pub rv: u64,
    uid: u64,
    pub objects: BTreeMap<Key, Value>,
    pub log: Vec<Change>,
    pub requests: Vec<Seen>,
    pub faults: Vec<(String, Fault)>,
    pub stats: BTreeMap<String, Value>,
}

/// A Kubernetes `Status` error body.
pub fn status(code: u16, reason: &str, message: &str) -> Value {
    json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {},
        "status": "Failure", "message": message, "reason": reason, "code": code,
    })
}

/// An API error: the status code and its `Status` body.
pub type ApiError = (u16, Value);

impl State {
    pub fn get(&self, plural: &str, ns: &str, name: &str) -> Option<&Value> {
        let kind = KINDS.iter().find(|k| k.plural == plural)?;
        let ns = if kind.namespaced { ns } else { "" };
        self.objects
            .get(&(kind.plural, ns.to_string(), name.to_string()))
    }

    pub fn list(&self, plural: &str, ns: Option<&str>) -> Vec<Value> {
        self.objects
            .iter()
            .filter(|((p, n, _), _)| *p == plural && ns.is_none_or(|ns| ns == n))
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// Creates or replaces `obj` regardless of its resourceVersion (a test's or the
    /// controller's write).
    pub fn upsert_object(&mut self, mut obj: Value) -> Result<Value, ApiError> {
        let kind = kind_of(&obj)
            .ok_or_else(|| (400, status(400, "BadRequest", "unknown apiVersion/kind")))?;
        if let Some(m) = obj["metadata"].as_object_mut() {
            m.remove("resourceVersion");
        }
        let ns = obj["metadata"]["namespace"]
            .as_str()
            .unwrap_or("")
            .to_string();
        let ns = if kind.namespaced && ns.is_empty() {
            "default".to_string()
        } else {
            ns
        };
        Ok(self.store(kind, &ns, obj))
    }

    /// Writes `obj` (already checked) and logs the change.
    pub fn store(&mut self, kind: &'static Kind, ns: &str, mut obj: Value) -> Value {
        let name = obj["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let key = (
            kind.plural,
            if kind.namespaced {
                ns.to_string()
            } else {
                String::new()
            },
            name,
        );
        let old = self.objects.get(&key).cloned();
        self.rv += 1;
        obj["apiVersion"] = json!(kind.api_version());
        obj["kind"] = json!(kind.kind);
        let meta = &mut obj["metadata"];
        if !meta.is_object() {
            *meta = json!({});
        }
        if kind.namespaced {
            meta["namespace"] = json!(ns);
        }
        meta["resourceVersion"] = json!(self.rv.to_string());
        match &old {
            Some(old) => {
                meta["uid"] = old["metadata"]["uid"].clone();
                meta["creationTimestamp"] = old["metadata"]["creationTimestamp"].clone();
                let generation = old["metadata"]["generation"].as_i64().unwrap_or(1);
                let spec_changed = old.get("spec") != obj.get("spec");
                obj["metadata"]["generation"] = json!(if spec_changed {
                    generation + 1
                } else {
                    generation
                });
            }
            None => {
                self.uid += 1;
                meta["uid"] = json!(format!("00000000-0000-4000-8000-{:012}", self.uid));
                meta["creationTimestamp"] = json!("2026-12-01T00:00:00Z");
                meta["generation"] = json!(1);
            }
        }
        self.objects.insert(key.clone(), obj.clone());
        self.log.push(Change {
            rv: self.rv,
            plural: kind.plural,
            namespace: key.1,
            kind: if old.is_some() { "MODIFIED" } else { "ADDED" },
            object: obj.clone(),
        });
        obj
    }

    pub fn remove(&mut self, plural: &str, ns: &str, name: &str) -> Option<Value> {
        let kind = KINDS.iter().find(|k| k.plural == plural)?;
        let ns = if kind.namespaced { ns } else { "" };
        let mut obj = self
            .objects
            .remove(&(kind.plural, ns.to_string(), name.to_string()))?;
        self.rv += 1;
        obj["metadata"]["resourceVersion"] = json!(self.rv.to_string());
        self.log.push(Change {
            rv: self.rv,
            plural: kind.plural,
            namespace: ns.to_string(),
            kind: "DELETED",
            object: obj.clone(),
        });
        Some(obj)
    }
}

/// Whether `obj` matches a label selector (`a=b`, `a==b`, `a!=b`, `a`, `!a`, `a in (x,y)`,
/// `a notin (x,y)`, comma-separated).
pub fn labels_match(obj: &Value, selector: &str) -> bool {
    let labels = &obj["metadata"]["labels"];
    split_top(selector).iter().all(|term| {
        let term = term.trim();
        if term.is_empty() {
            return true;
        }
        if let Some((key, rest)) = term.split_once(" notin ") {
            let set = set_of(rest);
            return labels[key.trim()]
                .as_str()
                .is_none_or(|v| !set.contains(&v));
        }
        if let Some((key, rest)) = term.split_once(" in ") {
            let set = set_of(rest);
            return labels[key.trim()]
                .as_str()
                .is_some_and(|v| set.contains(&v));
        }
        if let Some((key, value)) = term.split_once("!=") {
            return labels[key.trim()].as_str() != Some(value.trim());
        }
        if let Some((key, value)) = term.split_once('=') {
            let value = value.trim_start_matches('=');
            return labels[key.trim()].as_str() == Some(value.trim());
        }
        match term.strip_prefix('!') {
            Some(key) => labels.get(key).is_none(),
            None => labels.get(term).is_some(),
        }
    })
}

/// Splits on commas outside parentheses.
fn split_top(selector: &str) -> Vec<&str> {
    let (mut out, mut depth, mut start) = (Vec::new(), 0, 0);
    for (i, c) in selector.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&selector[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&selector[start..]);
    out
}

fn set_of(text: &str) -> Vec<&str> {
    text.trim()
        .trim_start_matches('(')
        .trim_end_matches(')')
        .split(',')
        .map(str::trim)
        .collect()
}

/// Whether `obj` matches a field selector of `path=value` / `path!=value` terms.
pub fn fields_match(obj: &Value, selector: &str) -> bool {
    selector.split(',').filter(|t| !t.is_empty()).all(|term| {
        let (path, value, equal) = match term.split_once("!=") {
            Some((p, v)) => (p, v, false),
            None => match term.split_once('=') {
                Some((p, v)) => (p, v.trim_start_matches('='), true),
                None => return true,
            },
        };
        let found = path
            .split('.')
            .try_fold(obj, |v, part| v.get(part))
            .and_then(Value::as_str)
            .unwrap_or("");
        (found == value) == equal
    })
}

/// RFC 7386 JSON merge patch.
pub fn merge(target: &mut Value, patch: &Value) {
    let Some(patch) = patch.as_object() else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = json!({});
    }
    let map = target.as_object_mut().unwrap();
    for (key, value) in patch {
        if value.is_null() {
            map.remove(key);
        } else {
            merge(map.entry(key.clone()).or_insert(Value::Null), value);
        }
    }
}

/// The value of query parameter `name`, percent-decoded.
pub fn param(query: &str, name: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (k == name).then(|| decode(v))
    })
}

fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 3;
                        continue;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
