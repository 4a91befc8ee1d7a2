//! The plan digest: SHA-256 over a canonical encoding of the parsed TOML, domain-separated,
//! so comments, layout and key order do not change it and any value change does.

use std::fmt::Write as _;

use sha2::{Digest, Sha256};

/// Prefix hashed before the canonical form, so a plan digest never equals another hash.
const DOMAIN: &[u8] = b"ebb.plan.v1\0";

/// `sha256:` and 64 lowercase hex digits.
pub fn digest_table(table: &toml::Table) -> String {
    let canonical = canonical_json(table);
    let mut h = Sha256::new();
    h.update(DOMAIN);
    h.update(canonical.as_bytes());
    let mut out = String::with_capacity(7 + 64);
    out.push_str("sha256:");
    for b in h.finalize() {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// Canonical JSON of a TOML table: keys sorted by bytes, no whitespace, strings escaped
/// as serde_json does. Integers and floats stay distinct (`1` vs `1.0`); non-finite
/// floats, which JSON lacks, are `{"$float":"nan"}`; datetimes are `{"$datetime":"…"}`.
pub fn canonical_json(table: &toml::Table) -> String {
    let mut out = String::new();
    encode_table(table, &mut out);
    out
}

fn encode_table(t: &toml::Table, out: &mut String) {
    let mut keys: Vec<&String> = t.keys().collect();
    keys.sort();
    out.push('{');
    for (i, k) in keys.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        encode_str(k, out);
        out.push(':');
        if let Some(v) = t.get(k) {
            encode_value(v, out);
        }
    }
    out.push('}');
}

fn encode_str(s: &str, out: &mut String) {
    // serde_json's string escaping is canonical (shortest escapes, UTF-8 kept).
    match serde_json::to_string(s) {
        Ok(q) => out.push_str(&q),
        Err(_) => out.push_str("\"\""),
    }
}

fn encode_value(v: &toml::Value, out: &mut String) {
    match v {
        toml::Value::String(s) => encode_str(s, out),
        toml::Value::Integer(i) => {
            let _ = write!(out, "{i}");
        }
        toml::Value::Float(f) if f.is_finite() => {
            // Debug is the shortest round-trip form and always has a `.` or exponent.
            let _ = write!(out, "{f:?}");
        }
        toml::Value::Float(f) => {
            let name = if f.is_nan() {
                "nan"
            } else if *f > 0.0 {
                "inf"
            } else {
                "-inf"
            };
            let _ = write!(out, "{{\"$float\":\"{name}\"}}");
        }
        toml::Value::Boolean(b) => out.push_str(if *b { "true" } else { "false" }),
        toml::Value::Datetime(d) => {
            out.push_str("{\"$datetime\":");
            encode_str(&d.to_string(), out);
            out.push('}');
        }
        toml::Value::Array(a) => {
            out.push('[');
            for (i, v) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                encode_value(v, out);
            }
            out.push(']');
        }
        toml::Value::Table(t) => encode_table(t, out),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> String {
        digest_table(&text.parse::<toml::Table>().unwrap())
    }

    #[test]
    fn layout_and_comments_do_not_matter() {
        let a = d("[plan]\nname = \"x\"\nrto = \"5m\"\n");
        let b = d("# c\n[plan]   # header\nrto='5m'\n\n name=\"x\"\n");
        let c = d("plan = { rto = \"5m\", name = \"x\" }\n");
        assert_eq!(a, b);
        assert_eq!(a, c);
        assert!(a.starts_with("sha256:") && a.len() == 7 + 64, "{a}");
    }

    #[test]
    fn values_matter() {
        let a = d("[plan]\nname = \"x\"\n");
        assert_ne!(a, d("[plan]\nname = \"y\"\n"));
        assert_ne!(d("a = 1"), d("a = 1.0"));
        assert_ne!(d("a = 1"), d("a = \"1\""));
        assert_ne!(d("a = [1, 2]"), d("a = [2, 1]"));
    }

    #[test]
    fn canonical_form_is_sorted_json() {
        let t: toml::Table = "b = { y = 1, x = \"q\\\"\" }\na = [true, 1.5, nan]\n"
            .parse()
            .unwrap();
        assert_eq!(
            canonical_json(&t),
            r#"{"a":[true,1.5,{"$float":"nan"}],"b":{"x":"q\"","y":1}}"#
        );
    }
}
