//! Reading a secret a plan or config names (`env:NAME`, `file:PATH`) at run time, with an
//! error that names where it looked and never the value; and telling an inline URL that
//! holds a password or a token from one that holds none.

use super::SecretRef;

impl SecretRef {
    /// Parses `env:NAME` / `file:PATH`; `None` when the text is neither (an inline value).
    pub fn parse(text: &str) -> Option<Result<SecretRef, String>> {
        if let Some(name) = text.strip_prefix("env:") {
            let ok = name
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            return Some(if ok {
                Ok(SecretRef::Env(name.to_string()))
            } else {
                Err(format!("{name:?} is not an environment variable name"))
            });
        }
        text.strip_prefix("file:").map(|path| {
            if path.trim().is_empty() {
                Err("`file:` needs a path".to_string())
            } else {
                Ok(SecretRef::File(std::path::PathBuf::from(path)))
            }
        })
    }

    /// The secret's value: the environment variable, or the file's trimmed contents.
    pub fn resolve(&self) -> Result<String, String> {
        match self {
            SecretRef::Inline(value) => Ok(value.clone()),
            SecretRef::Env(name) => match std::env::var(name) {
                Ok(v) if !v.trim().is_empty() => Ok(v.trim().to_string()),
                Ok(_) => Err(format!("environment variable {name} is empty")),
                Err(std::env::VarError::NotPresent) => {
                    Err(format!("environment variable {name} is not set"))
                }
                Err(std::env::VarError::NotUnicode(_)) => {
                    Err(format!("environment variable {name} is not valid UTF-8"))
                }
            },
            // Regular files of at most 4 MiB: a FIFO or a device never blocks or floods.
            SecretRef::File(path) => match crate::input::read_text(path) {
                Ok(v) if !v.trim().is_empty() => Ok(v.trim().to_string()),
                Ok(_) => Err(format!("secret file {} is empty", path.display())),
                Err(crate::input::InputError::Io { source, .. }) => Err(format!(
                    "cannot read secret file {}: {}",
                    path.display(),
                    source.kind()
                )),
                Err(e) => Err(format!("secret file: {e}")),
            },
        }
    }

    /// Where the secret is read from, for messages (`env:NAME`, `file:PATH`, `inline url`).
    pub fn origin(&self) -> String {
        match self {
            SecretRef::Inline(_) => "the inline url".to_string(),
            SecretRef::Env(name) => format!("env:{name}"),
            SecretRef::File(path) => format!("file:{}", path.display()),
        }
    }
}

impl SecretRef {
    /// An inline target URL, refused (with why) when it holds a password or a token.
    pub fn inline(url: &str) -> Result<SecretRef, String> {
        match inline_secret(url) {
            None => Ok(SecretRef::Inline(url.to_string())),
            Some(what) => Err(format!(
                "inline url with {what}: secrets come from env: or file:"
            )),
        }
    }
}

/// How to write a target's `ca`, for help texts.
pub const CA_HELP: &str = "ca = \"file:/etc/ssl/internal-ca.pem\": a PEM file of CA certificates, trusted besides the system's roots";

/// A target's `ca = "file:PATH"`: the path, once the file was read and holds at least one
/// PEM certificate.
pub fn parse_ca(text: &str) -> Result<std::path::PathBuf, String> {
    let Some(path) = text.strip_prefix("file:").filter(|p| !p.trim().is_empty()) else {
        return Err(format!("bad ca {text:?}: write file:PATH to a PEM file"));
    };
    let path = std::path::PathBuf::from(path);
    crate::tls::read_ca_file(&path)?;
    Ok(path)
}

/// Query parameters whose value is a credential, compared without case; so is any name
/// ending in `token`, `password`, `secret` or `key` but the TLS file names.
const TOKEN_PARAMS: &[&str] = &[
    "password",
    "passwd",
    "pwd",
    "pass",
    "token",
    "apikey",
    "api_key",
    "api-key",
    "secret",
    "auth",
    "signature",
    "sig",
    "x-amz-signature",
    "x-goog-signature",
];

/// Why an inline URL may not stay inline: `Some("a password")` for user info with a
/// password, `Some("a token (query parameter `NAME`)")` for a credential in the query;
/// `None` when it holds neither.
pub fn inline_secret(url: &str) -> Option<String> {
    let (scheme_rest, fragmentless) = match url.split_once("://") {
        Some((_, rest)) => (rest, rest.split('#').next().unwrap_or("")),
        None => (url, url),
    };
    let authority_end = scheme_rest
        .find(['/', '?', '#'])
        .unwrap_or(scheme_rest.len());
    let authority = &scheme_rest[..authority_end];
    if let Some((userinfo, _)) = authority.rsplit_once('@')
        && userinfo.contains(':')
    {
        return Some("a password".to_string());
    }
    let query = fragmentless.split_once('?').map_or("", |(_, q)| q);
    query.split('&').find_map(|pair| {
        let key = pair.split('=').next().unwrap_or("").to_ascii_lowercase();
        let tls_file = matches!(
            key.as_str(),
            "sslkey" | "ssl-key" | "sslcert" | "sslrootcert"
        );
        let credential = TOKEN_PARAMS.contains(&key.as_str())
            || (!tls_file
                && ["token", "password", "secret", "key"]
                    .iter()
                    .any(|end| key.ends_with(end)));
        credential.then(|| format!("a token (query parameter `{key}`)"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_and_present_secrets() {
        let missing = SecretRef::Env("EBB_TEST_SURELY_UNSET_VAR".into());
        let e = missing.resolve().unwrap_err();
        assert!(e.contains("EBB_TEST_SURELY_UNSET_VAR is not set"), "{e}");
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("s");
        std::fs::write(&f, "postgres://u:hunter2@h/db\n").unwrap();
        assert_eq!(
            SecretRef::File(f.clone()).resolve().unwrap(),
            "postgres://u:hunter2@h/db"
        );
        std::fs::write(&f, "  \n").unwrap();
        let e = SecretRef::File(f).resolve().unwrap_err();
        assert!(e.contains("is empty") && !e.contains("hunter2"), "{e}");
    }

    #[test]
    fn an_inline_url_may_hold_a_user_and_tls_files_but_no_password_or_token() {
        for ok in [
            "postgres://ebb@db.internal/orders?sslmode=verify-full&sslrootcert=/etc/ca.pem",
            "postgres://ebb@db.internal/orders?sslcert=/c.pem&sslkey=/c.key",
            "https://prometheus.internal:9090/prefix?x=1",
            "http://flags.internal/api",
            "postgres://db.internal/orders#frag:ment",
        ] {
            assert_eq!(inline_secret(ok), None, "{ok}");
        }
        assert_eq!(
            inline_secret("postgres://orders:hunter2@db.internal/orders").as_deref(),
            Some("a password")
        );
        assert_eq!(
            inline_secret("http://ebb:@prom:9090").as_deref(),
            Some("a password")
        );
        for (bad, key) in [
            ("postgres://ebb@db/orders?password=x", "password"),
            ("https://flags/api?access_token=x", "access_token"),
            ("https://flags/api?a=1&ApiKey=x", "apikey"),
            ("https://flags/api?private_key=x", "private_key"),
            ("https://flags/api?token", "token"),
        ] {
            assert_eq!(
                inline_secret(bad),
                Some(format!("a token (query parameter `{key}`)")),
                "{bad}"
            );
        }
    }
}
