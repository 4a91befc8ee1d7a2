//! The Ed25519 key that signs checkpoints: a file outside the store (default
//! `$XDG_CONFIG_HOME/ebb/audit.key`, hex of a 32-byte seed), mode 0600 in a 0700 directory.

use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use ed25519_dalek::{SigningKey, VerifyingKey};

use super::AuditError;

/// Where the signing key comes from.
#[derive(Clone, Debug)]
pub enum KeySource {
    /// `$XDG_CONFIG_HOME/ebb/audit.key` (or `~/.config/ebb/audit.key`), created on first use.
    Default,
    /// This file, created on first use.
    File(PathBuf),
    /// A key in memory (tests, benches): no file, no witness.
    Key(Box<SigningKey>),
}

impl KeySource {
    /// The key file this source names, if any.
    pub fn path(&self) -> Result<Option<PathBuf>, AuditError> {
        match self {
            KeySource::Default => default_key_path().map(Some),
            KeySource::File(p) => Ok(Some(p.clone())),
            KeySource::Key(_) => Ok(None),
        }
    }

    /// Loads the key, creating its file (0600, directory 0700) when there is none.
    pub fn load_or_create(&self) -> Result<SigningKey, AuditError> {
        let path = match self {
            KeySource::Key(k) => return Ok((**k).clone()),
            KeySource::Default => default_key_path()?,
            KeySource::File(p) => p.clone(),
        };
        if path.exists() {
            load(&path)
        } else {
            create(&path, false)
        }
    }
}

/// `$XDG_CONFIG_HOME/ebb/audit.key`, else `$HOME/.config/ebb/audit.key` (the rule of
/// [`crate::xdg`]: a relative `XDG_CONFIG_HOME` or `HOME` is ignored).
pub fn default_key_path() -> Result<PathBuf, AuditError> {
    let dir = crate::xdg::ebb_dir(crate::xdg::BaseDir::Config).map_err(AuditError::NoConfigDir)?;
    Ok(dir.join("audit.key"))
}

/// A fresh key from 32 bytes of the OS's randomness, written to `path` (0600) in a 0700
/// directory. An existing file is an error unless `force`.
pub fn create(path: &Path, force: bool) -> Result<SigningKey, AuditError> {
    let io = |source| AuditError::KeyIo {
        path: path.to_path_buf(),
        source,
    };
    if path.exists() && !force {
        return Err(AuditError::KeyExists(path.to_path_buf()));
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(io)?;
    }
    let mut seed = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut seed))
        .map_err(io)?;
    let key = SigningKey::from_bytes(&seed);
    // Written beside the target and renamed over it, so a reader never sees half a key.
    let tmp = path.with_extension("key.tmp");
    let _ = std::fs::remove_file(&tmp);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(io)?;
    f.write_all(format!("{}\n", hex::encode(seed)).as_bytes())
        .and_then(|()| f.sync_all())
        .map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)?;
    Ok(key)
}

/// Reads a key file, refusing one that group or others can read or write.
pub fn load(path: &Path) -> Result<SigningKey, AuditError> {
    let io = |source| AuditError::KeyIo {
        path: path.to_path_buf(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(io)?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(AuditError::KeyTooOpen {
            path: path.to_path_buf(),
            mode,
        });
    }
    let text = crate::input::read_text(path).map_err(|e| AuditError::KeyFormat {
        path: path.to_path_buf(),
        why: e.to_string(),
    })?;
    let mut seed = [0u8; 32];
    hex::decode_to_slice(text.trim(), &mut seed).map_err(|e| AuditError::KeyFormat {
        path: path.to_path_buf(),
        why: format!("expected 64 hex digits: {e}"),
    })?;
    Ok(SigningKey::from_bytes(&seed))
}

/// Parses a public key: 64 hex digits (what `ebb audit pubkey` prints), ignoring blank
/// lines and `#` comments.
pub fn parse_public_key(text: &str) -> Result<VerifyingKey, String> {
    let hexkey: String = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    let mut bytes = [0u8; 32];
    hex::decode_to_slice(&hexkey, &mut bytes)
        .map_err(|e| format!("expected 64 hex digits: {e}"))?;
    VerifyingKey::from_bytes(&bytes).map_err(|e| format!("not an Ed25519 public key: {e}"))
}

/// A public key as 64 lowercase hex digits.
pub fn public_hex(key: &VerifyingKey) -> String {
    hex::encode(key.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_keys_are_private_and_load_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cfg/ebb/audit.key");
        let k = KeySource::File(path.clone()).load_or_create().unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let dmode = std::fs::metadata(path.parent().unwrap())
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(dmode, 0o700);
        let again = KeySource::File(path.clone()).load_or_create().unwrap();
        assert_eq!(k.verifying_key(), again.verifying_key());
        assert!(matches!(
            create(&path, false),
            Err(AuditError::KeyExists(_))
        ));
        let new = create(&path, true).unwrap();
        assert_ne!(new.verifying_key(), k.verifying_key());
    }

    #[test]
    fn open_keys_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.key");
        create(&path, false).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = load(&path).unwrap_err();
        assert!(
            matches!(e, AuditError::KeyTooOpen { mode: 0o644, .. }),
            "{e}"
        );
        assert!(e.to_string().contains("chmod 600"), "{e}");
    }

    #[test]
    fn public_keys_parse_from_hex() {
        let dir = tempfile::tempdir().unwrap();
        let k = create(&dir.path().join("k"), false).unwrap();
        let text = format!(
            "# ebb audit public key\n{}\n",
            public_hex(&k.verifying_key())
        );
        assert_eq!(parse_public_key(&text).unwrap(), k.verifying_key());
        assert!(parse_public_key("zz").is_err());
    }
}
