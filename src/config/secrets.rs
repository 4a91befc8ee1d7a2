//! Secrets named in plan and console files (`env:NAME`, `file:PATH`), parsed and read at
//! start-up. Errors name the variable or the file, never the value.

use std::path::PathBuf;

use crate::plan::SecretRef;

/// How to write a secret, for help texts.
pub const SECRET_HELP: &str = "secrets come from env: or file:, e.g. \"env:ORDERS_DB_URL\" or \"file:/run/secrets/orders-db-url\"";

/// Parses `env:NAME` / `file:PATH`; `None` when the text is neither (an inline value).
pub fn parse_secret_ref(text: &str) -> Option<Result<SecretRef, String>> {
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
            Ok(SecretRef::File(PathBuf::from(path)))
        }
    })
}

/// Reads a secret: the environment variable, or the file's contents trimmed. An unset,
/// empty or unreadable source is an error that names it.
pub fn resolve_secret(secret: &SecretRef) -> Result<String, String> {
    secret.resolve()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_env_and_file_and_refuses_the_rest() {
        assert_eq!(
            parse_secret_ref("env:DB_URL"),
            Some(Ok(SecretRef::Env("DB_URL".into())))
        );
        assert_eq!(
            parse_secret_ref("file:/run/x"),
            Some(Ok(SecretRef::File("/run/x".into())))
        );
        assert!(matches!(parse_secret_ref("env:1X"), Some(Err(_))));
        assert!(matches!(parse_secret_ref("file: "), Some(Err(_))));
        assert_eq!(parse_secret_ref("postgres://u:p@h/db"), None);
    }

    #[test]
    fn a_file_secret_is_trimmed_and_errors_name_the_file_not_the_value() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("url");
        std::fs::write(&p, "postgres://u:hunter2@h/db\n").unwrap();
        assert_eq!(
            resolve_secret(&SecretRef::File(p.clone())).unwrap(),
            "postgres://u:hunter2@h/db"
        );
        std::fs::write(&p, "  \n").unwrap();
        let e = resolve_secret(&SecretRef::File(p.clone())).unwrap_err();
        assert!(e.contains("is empty") && e.contains("url"), "{e}");
        let e = resolve_secret(&SecretRef::File(dir.path().join("missing"))).unwrap_err();
        assert!(e.contains("missing"), "{e}");
    }

    #[test]
    fn an_unset_variable_is_named() {
        let e = resolve_secret(&SecretRef::Env("EBB_TEST_SURELY_UNSET_VAR".into())).unwrap_err();
        assert_eq!(
            e,
            "environment variable EBB_TEST_SURELY_UNSET_VAR is not set"
        );
    }
}
