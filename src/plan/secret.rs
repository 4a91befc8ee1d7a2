//! Reading a secret a plan or config names (`env:NAME`, `file:PATH`) at run time, with an
//! error that names where it looked and never the value.

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

    /// Where the secret is read from, for messages (`env:NAME`, `file:PATH`).
    pub fn origin(&self) -> String {
        match self {
            SecretRef::Env(name) => format!("env:{name}"),
            SecretRef::File(path) => format!("file:{}", path.display()),
        }
    }
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
        std::fs::write(&f, "postgres://u:pw@h/db\n").unwrap();
        assert_eq!(
            SecretRef::File(f.clone()).resolve().unwrap(),
            "postgres://u:pw@h/db"
        );
        std::fs::write(&f, "  \n").unwrap();
        let e = SecretRef::File(f).resolve().unwrap_err();
        assert!(e.contains("is empty") && !e.contains("pw"), "{e}");
    }
}
