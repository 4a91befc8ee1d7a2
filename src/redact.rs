//! Secret redaction before anything reaches the audit log or an export: passwords in URLs
//! and DSNs, bearer tokens, and values of JSON keys named like secrets become `[redacted]`.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::Regex;

/// What stands in place of a removed secret.
pub const REDACTED: &str = "[redacted]";

/// `scheme://user:SECRET@host`: the password of a URL's userinfo.
static URL_PASSWORD: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"(?P<head>[A-Za-z][A-Za-z0-9+.\-]*://[^\s:/@]*:)(?P<secret>[^\s@/]+)@").ok()
});

/// `password=SECRET` (and friends) in key=value DSNs, query strings and headers.
static KV_SECRET: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(
        r#"(?i)(?P<head>\b(?:password|passwd|pwd|secret|token|api_key|apikey|access_token|client_secret)\s*[=:]\s*)(?P<secret>'[^']*'|"[^"]*"|[^\s&;,'"]+)"#,
    )
    .ok()
});

/// `Bearer eyJ…` and `Authorization: Basic …` credentials.
static BEARER: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"(?i)(?P<head>\b(?:bearer|basic|token)\s+)(?P<secret>[A-Za-z0-9\-._~+/]{8,}=*)")
        .ok()
});

/// A bare JWT (`eyJ….….…`) anywhere in text.
static JWT: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"\beyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*").ok());

/// Removes secrets from free text; borrows when there is nothing to remove.
pub fn redact_str(s: &str) -> Cow<'_, str> {
    let mut out: Cow<'_, str> = Cow::Borrowed(s);
    for re in [&URL_PASSWORD, &KV_SECRET, &BEARER] {
        let Some(re) = re.as_ref() else { continue };
        if re.is_match(&out) {
            let replaced = re
                .replace_all(&out, |c: &regex::Captures<'_>| {
                    let head = c.name("head").map_or("", |m| m.as_str());
                    let tail = if c.get(0).is_some_and(|m| m.as_str().ends_with('@')) {
                        "@"
                    } else {
                        ""
                    };
                    format!("{head}{REDACTED}{tail}")
                })
                .into_owned();
            out = Cow::Owned(replaced);
        }
    }
    if let Some(re) = JWT.as_ref()
        && re.is_match(&out)
    {
        out = Cow::Owned(re.replace_all(&out, REDACTED).into_owned());
    }
    out
}

/// Whether a JSON key names a secret: secret, password, passwd, token, api_key, apikey,
/// authorization, cookie (any case, as part of a longer name too, e.g. `db_password`).
pub fn is_secret_key(key: &str) -> bool {
    let k: String = key
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_lowercase();
    [
        "secret",
        "password",
        "passwd",
        "token",
        "apikey",
        "authorization",
        "cookie",
        "credential",
        "privatekey",
    ]
    .iter()
    .any(|n| k.contains(n))
}

/// Redacts a JSON value in place: values under secret-named keys become `"[redacted]"`
/// (whatever their type), and every string is passed through [`redact_str`].
pub fn redact_json(v: &mut serde_json::Value) {
    use serde_json::Value;
    match v {
        Value::String(s) => {
            if let Cow::Owned(r) = redact_str(s) {
                *s = r;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact_json),
        Value::Object(map) => {
            for (k, val) in map.iter_mut() {
                if is_secret_key(k) && !val.is_null() {
                    *val = Value::String(REDACTED.to_string());
                } else {
                    redact_json(val);
                }
            }
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn url_passwords_go() {
        let r = redact_str("connect postgres://app:s3cr3t-pw@db.prod:5432/orders?sslmode=require");
        assert_eq!(
            r,
            "connect postgres://app:[redacted]@db.prod:5432/orders?sslmode=require"
        );
        assert_eq!(
            redact_str("mysql://root:hunter2@10.0.0.1/x"),
            "mysql://root:[redacted]@10.0.0.1/x"
        );
    }

    #[test]
    fn urls_without_passwords_stay_borrowed() {
        for s in [
            "postgres://app@db/orders",
            "https://example.com:8443/a",
            "plain text",
            "run.pause",
        ] {
            assert!(matches!(redact_str(s), Cow::Borrowed(_)), "{s}");
        }
    }

    #[test]
    fn dsn_key_values_go() {
        assert_eq!(
            redact_str("host=db user=app password=s3cr3t dbname=orders"),
            "host=db user=app password=[redacted] dbname=orders"
        );
        assert_eq!(
            redact_str("password='a b c' x=1"),
            "password=[redacted] x=1"
        );
        assert_eq!(redact_str("PWD=x;Server=y"), "PWD=[redacted];Server=y");
    }

    #[test]
    fn bearer_tokens_go() {
        let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.abc_DEF-123";
        assert_eq!(
            redact_str(&format!("Authorization: Bearer {jwt}")),
            "Authorization: Bearer [redacted]"
        );
        assert_eq!(
            redact_str(&format!("got {jwt} back")),
            "got [redacted] back"
        );
        assert_eq!(redact_str("bearer abcdefgh12345678"), "bearer [redacted]");
    }

    #[test]
    fn secret_keys_go_whatever_their_value() {
        let mut v = json!({
            "target": "orders", "password": "pw1", "nested": {"api_key": 42, "Api-Key": "k",
            "list": [{"db_password": "pw2"}, "postgres://u:pw3@h/db"]},
            "Authorization": "Bearer xyzxyzxyz", "cookie": {"a": 1}, "token": null, "retries": 3
        });
        redact_json(&mut v);
        let s = v.to_string();
        for secret in ["pw1", "pw2", "pw3", "xyzxyzxyz", "\"k\"", "42"] {
            assert!(!s.contains(secret), "{secret} in {s}");
        }
        assert_eq!(v["target"], "orders");
        assert_eq!(v["retries"], 3);
        assert_eq!(v["token"], serde_json::Value::Null);
    }

    proptest! {
        #[test]
        fn url_password_never_survives(user in "[a-z]{1,8}", pw in "[A-Za-z0-9!$%^*()_+=-]{1,24}", host in "[a-z]{1,10}") {
            let s = format!("postgres://{user}:{pw}@{host}:5432/db");
            let r = redact_str(&s);
            prop_assert!(!r.contains(&format!(":{pw}@")), "{}", r);
            prop_assert!(r.contains(&host));
        }

        #[test]
        fn kv_password_never_survives(pw in "[A-Za-z0-9!$%^*()_+-]{1,24}") {
            let s = format!("host=db password={pw} user=app");
            let r = redact_str(&s);
            prop_assert!(r.contains("password=[redacted] user=app"), "{}", r);
        }

        #[test]
        fn redaction_is_idempotent(s in ".{0,80}") {
            let once = redact_str(&s).into_owned();
            let twice = redact_str(&once).into_owned();
            prop_assert_eq!(once, twice);
        }
    }
}
