//! Secrets named in plan and console files (`env:NAME`, `file:PATH`), parsed and read at
//! start-up. Errors name the variable or the file, never the value.

/// How to write a secret, for help texts.
pub const SECRET_HELP: &str = "secrets come from env: or file:, e.g. \"env:ORDERS_DB_URL\" or \"file:/run/secrets/orders-db-url\"";

#[cfg(test)]
mod tests {
    use crate::plan::SecretRef;

    #[test]
    fn parses_env_and_file_and_refuses_the_rest() {
        assert_eq!(
            SecretRef::parse("env:DB_URL"),
            Some(Ok(SecretRef::Env("DB_URL".into())))
        );
        assert_eq!(
            SecretRef::parse("file:/run/x"),
            Some(Ok(SecretRef::File("/run/x".into())))
        );
        assert!(matches!(SecretRef::parse("env:1X"), Some(Err(_))));
        assert!(matches!(SecretRef::parse("file: "), Some(Err(_))));
        assert_eq!(SecretRef::parse("postgres://u:p@h/db"), None);
    }

    #[test]
    fn a_file_secret_is_trimmed_and_errors_name_the_file_not_the_value() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("url");
        std::fs::write(&p, "postgres://u:hunter2@h/db\n").unwrap();
        assert_eq!(
            SecretRef::File(p.clone()).resolve().unwrap(),
            "postgres://u:hunter2@h/db"
        );
        std::fs::write(&p, "  \n").unwrap();
        let e = SecretRef::File(p.clone()).resolve().unwrap_err();
        assert!(e.contains("is empty") && e.contains("url"), "{e}");
        let e = SecretRef::File(dir.path().join("missing"))
            .resolve()
            .unwrap_err();
        assert!(e.contains("missing"), "{e}");
    }

    #[test]
    fn an_unset_variable_is_named() {
        let e = SecretRef::Env("EBB_TEST_SURELY_UNSET_VAR".into())
            .resolve()
            .unwrap_err();
        assert_eq!(
            e,
            "environment variable EBB_TEST_SURELY_UNSET_VAR is not set"
        );
    }
}
