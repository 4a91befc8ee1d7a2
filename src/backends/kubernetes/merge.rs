//! JSON merge patches (RFC 7386) worked out ahead of a write: the pre-image of the fields a
//! patch touches (to restore them), and the patch that turns one object into another.

use serde_json::{Map, Value};

/// The fields `patch` would change, as they are in `current`: a merge patch that restores
/// them. A field absent before is `null` (the restoring patch removes it).
pub fn pre_image(current: &Value, patch: &Value) -> Value {
    match (current, patch) {
        (Value::Object(cur), Value::Object(p)) => {
            let mut out = Map::new();
            for (k, pv) in p {
                let restored = match (cur.get(k), pv) {
                    // A nested object merges: only its touched fields matter.
                    (Some(cv @ Value::Object(_)), Value::Object(_)) => pre_image(cv, pv),
                    (Some(cv), _) => cv.clone(),
                    (None, _) => Value::Null,
                };
                out.insert(k.clone(), restored);
            }
            Value::Object(out)
        }
        // A patch that is not an object replaces the whole document.
        _ => current.clone(),
    }
}

/// A merge patch that turns `current` into `desired`: changed values, nested objects
/// recursively, and `null` for what `desired` no longer has. Arrays are replaced whole.
pub fn turning(current: &Value, desired: &Value) -> Value {
    match (current, desired) {
        (Value::Object(cur), Value::Object(want)) => {
            let mut out = Map::new();
            for (k, wv) in want {
                match cur.get(k) {
                    Some(cv) if cv == wv => {}
                    Some(cv @ Value::Object(_)) if wv.is_object() => {
                        out.insert(k.clone(), turning(cv, wv));
                    }
                    _ => {
                        out.insert(k.clone(), strip_nulls(wv));
                    }
                }
            }
            for k in cur.keys() {
                if !want.contains_key(k) {
                    out.insert(k.clone(), Value::Null);
                }
            }
            Value::Object(out)
        }
        _ => desired.clone(),
    }
}

/// In a merge patch `null` means "remove": a wanted value must not carry any.
fn strip_nulls(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), strip_nulls(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// `patch` with `metadata.annotations[name] = value` merged in.
pub fn with_annotation(patch: &Value, name: &str, value: &str) -> Value {
    let mut out = match patch {
        Value::Object(_) => patch.clone(),
        _ => Value::Object(Map::new()),
    };
    let annotations = &mut out["metadata"]["annotations"];
    if !annotations.is_object() {
        *annotations = Value::Object(Map::new());
    }
    annotations[name] = Value::String(value.to_string());
    out
}

/// The merge of `patch` into `target` (RFC 7386), as the API server applies it.
#[cfg(test)]
pub fn apply(target: &Value, patch: &Value) -> Value {
    match patch {
        Value::Object(p) => {
            let mut out = match target {
                Value::Object(t) => t.clone(),
                _ => Map::new(),
            };
            for (k, v) in p {
                if v.is_null() {
                    out.remove(k);
                } else {
                    let merged = apply(out.get(k).unwrap_or(&Value::Null), v);
                    out.insert(k.clone(), merged);
                }
            }
            Value::Object(out)
        }
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_pre_image_restores_exactly_the_touched_fields_and_removes_added_ones() {
        let before = json!({
            "metadata": { "name": "cfg", "labels": { "app": "orders" } },
            "data": { "mode": "fast", "keep": "yes" }
        });
        let patch = json!({
            "metadata": { "labels": { "tier": "db" } },
            "data": { "mode": "safe", "extra": "1" }
        });
        let pre = pre_image(&before, &patch);
        assert_eq!(
            pre,
            json!({ "metadata": { "labels": { "tier": null } }, "data": { "mode": "fast", "extra": null } })
        );
        let after = apply(&before, &patch);
        assert_eq!(apply(&after, &pre), before);
    }

    #[test]
    fn a_patch_replacing_a_scalar_with_an_object_restores_the_scalar() {
        let before = json!({ "spec": { "x": 3 } });
        let patch = json!({ "spec": { "x": { "y": 1 } }, "new": { "a": 1 } });
        let pre = pre_image(&before, &patch);
        assert_eq!(pre, json!({ "spec": { "x": 3 }, "new": null }));
        assert_eq!(apply(&apply(&before, &patch), &pre), before);
    }

    #[test]
    fn turning_one_template_into_another_removes_what_the_other_lacks() {
        let broken = json!({
            "metadata": { "labels": { "app": "db", "canary": "true" } },
            "spec": { "containers": [{ "name": "db", "image": "db:2" }], "dnsPolicy": "None" }
        });
        let good = json!({
            "metadata": { "labels": { "app": "db" } },
            "spec": { "containers": [{ "name": "db", "image": "db:1" }] }
        });
        let patch = turning(&broken, &good);
        assert_eq!(apply(&broken, &patch), good);
        assert_eq!(patch["metadata"]["labels"], json!({ "canary": null }));
        assert_eq!(turning(&good, &good), json!({}));
    }

    #[test]
    fn annotations_merge_into_any_patch() {
        let p = with_annotation(&json!({ "spec": { "a": 1 } }), "ebb.dev/step", "r/s");
        assert_eq!(
            p,
            json!({ "spec": { "a": 1 }, "metadata": { "annotations": { "ebb.dev/step": "r/s" } } })
        );
    }
}
