//! A `kube::Client` for one `kubernetes` target, resolved in kubectl's order: the target's
//! `url` (the kubeconfig), `KUBECONFIG`, `~/.kube/config`, then the in-cluster account.

use std::time::Duration;

use kube::config::{Config, KubeConfigOptions, Kubeconfig};

use crate::plan::{SecretRef, Target};

/// A client for a target and the namespace its steps and panes default to.
#[derive(Clone)]
pub struct Connected {
    pub client: kube::Client,
    /// The target's `namespace`, else the context's, else `default`.
    pub namespace: String,
    /// The API server's URL, for messages (never carries credentials).
    pub server: String,
}

impl std::fmt::Debug for Connected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connected")
            .field("namespace", &self.namespace)
            .field("server", &self.server)
            .finish_non_exhaustive()
    }
}

/// Why a target's client could not be built. Messages name the target and where the
/// configuration was looked for, never a token.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConnectError {
    #[error("target {target}: {message}")]
    Secret { target: String, message: String },
    #[error("target {target}: kubeconfig {origin}: {message}")]
    Kubeconfig {
        target: String,
        origin: String,
        message: String,
    },
    #[error(
        "target {target}: no kubeconfig (KUBECONFIG, ~/.kube/config) and not in a cluster: {message}"
    )]
    NoConfig { target: String, message: String },
    #[error("target {target}: cannot build a client: {message}")]
    Client { target: String, message: String },
}

/// Where the kubeconfig of a target comes from.
enum Source {
    /// `url = "file:PATH"`: that kubeconfig file.
    File(std::path::PathBuf),
    /// `url = "env:NAME"`: the variable holds a kubeconfig path list, as `KUBECONFIG` does.
    PathList(String, String),
    /// No `url`: `KUBECONFIG`, `~/.kube/config`, then in-cluster.
    Default,
}

/// Builds the client for `target`; `timeout` bounds connecting and every read.
pub async fn connect(target: &Target, timeout: Duration) -> Result<Connected, ConnectError> {
    let name = target.name.clone();
    let source = match &target.url {
        Some(SecretRef::File(path)) => Source::File(path.clone()),
        // Never parsed for a kubernetes target; a kubeconfig path would be meant.
        Some(SecretRef::Inline(path)) => Source::File(path.into()),
        Some(secret @ SecretRef::Env(_)) => {
            let paths = secret.resolve().map_err(|message| ConnectError::Secret {
                target: name.clone(),
                message,
            })?;
            Source::PathList(secret.origin(), paths)
        }
        None => Source::Default,
    };
    let options = KubeConfigOptions {
        context: target.context.clone(),
        ..KubeConfigOptions::default()
    };
    let kubeconfig = |origin: String, message: String| ConnectError::Kubeconfig {
        target: name.clone(),
        origin,
        message,
    };
    let file = match source {
        Source::File(path) => Some(
            Kubeconfig::read_from(&path)
                .map_err(|e| kubeconfig(path.display().to_string(), e.to_string()))?,
        ),
        Source::PathList(origin, list) => {
            let mut merged = Kubeconfig::default();
            for path in std::env::split_paths(&list).filter(|p| !p.as_os_str().is_empty()) {
                let one = Kubeconfig::read_from(&path).map_err(|e| {
                    kubeconfig(format!("{origin} ({})", path.display()), e.to_string())
                })?;
                merged = merged
                    .merge(one)
                    .map_err(|e| kubeconfig(origin.clone(), e.to_string()))?;
            }
            Some(merged)
        }
        Source::Default => match Kubeconfig::read() {
            Ok(found) => Some(found),
            // KUBECONFIG set but unreadable is an error kubectl reports too.
            Err(e) if std::env::var_os("KUBECONFIG").is_some() => {
                return Err(kubeconfig("KUBECONFIG".into(), e.to_string()));
            }
            Err(_) => None,
        },
    };
    let mut config = match file {
        Some(file) => Config::from_custom_kubeconfig(file, &options)
            .await
            .map_err(|e| kubeconfig(describe_origin(target), e.to_string()))?,
        None => Config::incluster().map_err(|e| ConnectError::NoConfig {
            target: name.clone(),
            message: e.to_string(),
        })?,
    };
    config.connect_timeout = Some(timeout);
    config.read_timeout = None; // watches stream; calls bound their own time
    config.write_timeout = Some(timeout);
    if let Some(ns) = &target.namespace {
        config.default_namespace = ns.clone();
    }
    let namespace = config.default_namespace.clone();
    let server = redact_server(&config.cluster_url.to_string());
    let client = kube::Client::try_from(config).map_err(|e| ConnectError::Client {
        target: name,
        message: e.to_string(),
    })?;
    Ok(Connected {
        client,
        namespace,
        server,
    })
}

fn describe_origin(target: &Target) -> String {
    match &target.url {
        Some(secret) => secret.origin(),
        None => "KUBECONFIG or ~/.kube/config".into(),
    }
}

/// The server URL without any userinfo.
fn redact_server(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    format!("{scheme}://{host}{path}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::TargetKind;

    fn target(url: Option<SecretRef>, ns: Option<&str>) -> Target {
        Target {
            name: "k8s".into(),
            kind: TargetKind::Kubernetes,
            url,
            ca: None,
            object: None,
            context: Some("loopback".into()),
            namespace: ns.map(String::from),
        }
    }

    const KUBECONFIG: &str = "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: http://127.0.0.1:9\ncontexts:\n- name: loopback\n  context:\n    cluster: c\n    user: u\n    namespace: shop\n- name: other\n  context:\n    cluster: c\n    user: u\ncurrent-context: other\nusers:\n- name: u\n  user:\n    token: s3cret\n";

    #[tokio::test]
    async fn a_kubeconfig_file_with_a_context_gives_its_namespace_unless_the_target_names_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config");
        std::fs::write(&path, KUBECONFIG).unwrap();
        let c = connect(
            &target(Some(SecretRef::File(path.clone())), None),
            Duration::from_secs(1),
        )
        .await
        .unwrap();
        assert_eq!(c.namespace, "shop");
        assert_eq!(c.server, "http://127.0.0.1:9/");
        let c = connect(
            &target(Some(SecretRef::File(path)), Some("ops")),
            Duration::from_secs(1),
        )
        .await
        .unwrap();
        assert_eq!(c.namespace, "ops");
    }

    #[tokio::test]
    async fn a_missing_context_or_file_is_a_named_error_without_the_token() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config");
        std::fs::write(
            &path,
            KUBECONFIG.replace("name: loopback", "name: elsewhere"),
        )
        .unwrap();
        let err = connect(
            &target(Some(SecretRef::File(path)), None),
            Duration::from_secs(1),
        )
        .await
        .unwrap_err()
        .to_string();
        assert!(err.starts_with("target k8s: kubeconfig file:"), "{err}");
        assert!(!err.contains("s3cret"), "{err}");
        let err = connect(
            &target(Some(SecretRef::File(dir.path().join("absent"))), None),
            Duration::from_secs(1),
        )
        .await
        .unwrap_err();
        assert!(matches!(err, ConnectError::Kubeconfig { .. }), "{err}");
    }

    #[test]
    fn server_urls_lose_their_userinfo() {
        assert_eq!(redact_server("https://u:p@h:6443/"), "https://h:6443/");
        assert_eq!(redact_server("https://h:6443/a@b"), "https://h:6443/a@b");
    }
}
