//! TLS for every client ebb opens (PostgreSQL, HTTPS, Kubernetes): one crypto provider for
//! the process, extra CA files read once, and certificate failures put in words.
//!
//! The words name the problem and where to fix it ("certificate not trusted: unknown issuer
//! (check sslrootcert)"), never a key or a password: a pane shows them as they are.

use std::error::Error as StdError;
use std::path::Path;

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use rustls::{AlertDescription, CertificateError};

/// Which client failed, for the hint after the problem: the setting to look at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Client {
    /// libpq's settings: `sslmode`, `sslrootcert`, `sslcert`/`sslkey` (or PGSSL*).
    Postgres,
    /// An https target: its `ca = "file:PATH"`, else the system's roots.
    Https,
}

impl Client {
    fn ca_hint(self) -> &'static str {
        match self {
            Client::Postgres => "check sslrootcert or PGSSLROOTCERT",
            Client::Https => "check the target's ca = \"file:PATH\"",
        }
    }

    fn client_cert_hint(self) -> &'static str {
        match self {
            Client::Postgres => "check sslcert and sslkey, or PGSSLCERT and PGSSLKEY",
            Client::Https => "the server asks for a client certificate",
        }
    }
}

/// Installs rustls's ring provider as the process default, once, before any client is
/// built. sqlx and reqwest name their provider; kube takes the default, so a dependency
/// that enables a second provider cannot change (or break) it. Later calls do nothing.
pub fn install_crypto_provider() {
    // Err means a provider is already installed: by an earlier call, which is what we want.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The certificate problem somewhere in `err`'s chain, in words, with a hint; `None` when
/// the failure is not about certificates (refused connection, bad password, …).
pub fn certificate_problem(err: &(dyn StdError + 'static), client: Client) -> Option<String> {
    chain(err).find_map(|e| rustls_error(e).and_then(|r| words(r, client)))
}

/// `err` as one line: its certificate problem when it has one, else its message and causes.
pub fn describe(err: &(dyn StdError + 'static), client: Client) -> String {
    certificate_problem(err, client).unwrap_or_else(|| {
        let mut out = err.to_string();
        let mut next = err.source();
        while let Some(s) = next {
            let text = s.to_string();
            if !out.contains(&text) {
                out.push_str(": ");
                out.push_str(&text);
            }
            next = s.source();
        }
        out
    })
}

/// A PostgreSQL error as one line: the certificate problem in words, or sqlx's message.
pub fn describe_pg(err: &sqlx::Error) -> String {
    certificate_problem(err, Client::Postgres).unwrap_or_else(|| err.to_string())
}

/// The certificates of a PEM file (a CA bundle), for an https target's `ca`. The error
/// names the file and what is wrong with it.
pub fn read_ca_file(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let pem = std::fs::read(path)
        .map_err(|e| format!("cannot read CA file {}: {}", path.display(), e.kind()))?;
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<_, _>>()
        .map_err(|e| format!("CA file {} is not PEM: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!(
            "CA file {} holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
            path.display()
        ));
    }
    let mut store = rustls::RootCertStore::empty();
    for (i, cert) in certs.iter().enumerate() {
        store.add(cert.clone()).map_err(|e| {
            format!(
                "CA file {}: certificate {} is not usable: {e}",
                path.display(),
                i + 1
            )
        })?;
    }
    Ok(certs)
}

/// `builder` trusting also the CAs of the PEM file `ca` (none: the system's roots only).
pub fn trust_ca(
    builder: reqwest::ClientBuilder,
    ca: Option<&Path>,
) -> Result<reqwest::ClientBuilder, String> {
    let Some(path) = ca else {
        return Ok(builder);
    };
    read_ca_file(path)?.iter().try_fold(builder, |b, der| {
        reqwest::Certificate::from_der(der.as_ref())
            .map(|c| b.add_root_certificate(c))
            .map_err(|e| format!("CA file {}: {e}", path.display()))
    })
}

/// `err` and its causes, looking through `std::io::Error`, which hides the error it wraps
/// from `source()` (rustls's errors reach sqlx and hyper inside one).
fn chain<'a>(
    err: &'a (dyn StdError + 'static),
) -> impl Iterator<Item = &'a (dyn StdError + 'static)> {
    let mut next = Some(err);
    std::iter::from_fn(move || {
        let cur = next?;
        next = match cur.downcast_ref::<std::io::Error>() {
            Some(io) => match io.get_ref() {
                Some(inner) => Some(inner as &(dyn StdError + 'static)),
                None => cur.source(),
            },
            None => cur.source(),
        };
        Some(cur)
    })
}

fn rustls_error<'a>(e: &'a (dyn StdError + 'static)) -> Option<&'a rustls::Error> {
    e.downcast_ref::<rustls::Error>()
}

fn words(e: &rustls::Error, client: Client) -> Option<String> {
    let ca = client.ca_hint();
    Some(match e {
        rustls::Error::InvalidCertificate(c) => match c {
            CertificateError::UnknownIssuer => {
                format!("certificate not trusted: unknown issuer ({ca})")
            }
            CertificateError::BadSignature => {
                format!("certificate not trusted: bad signature by its issuer ({ca})")
            }
            CertificateError::NotValidForName => {
                "certificate is for another host name (connect by a name the certificate lists)"
                    .to_string()
            }
            CertificateError::NotValidForNameContext {
                expected,
                presented,
            } => format!(
                "certificate is for another host name: expected {}, the certificate names {}",
                expected.to_str(),
                if presented.is_empty() {
                    "none".to_string()
                } else {
                    presented
                        .iter()
                        .map(|n| plain_name(n))
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            ),
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                "certificate has expired".to_string()
            }
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                "certificate is not valid yet (check this host's clock)".to_string()
            }
            CertificateError::Revoked => "certificate has been revoked".to_string(),
            CertificateError::InvalidPurpose | CertificateError::InvalidPurposeContext { .. } => {
                "certificate is not for a TLS server (wrong extended key usage)".to_string()
            }
            CertificateError::BadEncoding => "certificate is not correctly encoded".to_string(),
            other => format!("certificate rejected: {other:?} ({ca})"),
        },
        rustls::Error::AlertReceived(alert) => match alert {
            AlertDescription::UnknownCA => format!(
                "the server does not trust our client certificate: unknown CA ({})",
                client.client_cert_hint()
            ),
            AlertDescription::BadCertificate
            | AlertDescription::UnsupportedCertificate
            | AlertDescription::CertificateExpired
            | AlertDescription::CertificateRevoked
            | AlertDescription::CertificateUnknown
            | AlertDescription::AccessDenied => format!(
                "the server rejected our client certificate: {alert:?} ({})",
                client.client_cert_hint()
            ),
            AlertDescription::CertificateRequired => format!(
                "the server requires a client certificate ({})",
                client.client_cert_hint()
            ),
            _ => return None,
        },
        rustls::Error::NoCertificatesPresented => "the server presented no certificate".to_string(),
        _ => return None,
    })
}

/// `DnsName("db.internal")` → `db.internal`, `IpAddress(10.0.0.5)` → `10.0.0.5`: the
/// names a certificate lists, as webpki words them, without the wrapping.
fn plain_name(presented: &str) -> &str {
    ["DnsName(", "IpAddress(", "UniformResourceIdentifier("]
        .iter()
        .find_map(|p| presented.strip_prefix(p)?.strip_suffix(')'))
        .map_or(presented, |inner| inner.trim_matches('"'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn io_wrapped(e: rustls::Error) -> std::io::Error {
        std::io::Error::new(std::io::ErrorKind::InvalidData, e)
    }

    #[test]
    fn unknown_issuer_is_named_through_io_and_sqlx_wrappers() {
        let e = sqlx::Error::Io(io_wrapped(rustls::Error::InvalidCertificate(
            CertificateError::UnknownIssuer,
        )));
        assert_eq!(
            describe_pg(&e),
            "certificate not trusted: unknown issuer (check sslrootcert or PGSSLROOTCERT)"
        );
        let https = describe(
            &io_wrapped(rustls::Error::InvalidCertificate(
                CertificateError::UnknownIssuer,
            )),
            Client::Https,
        );
        assert!(https.contains("ca = \"file:PATH\""), "{https}");
    }

    #[test]
    fn a_wrong_host_name_says_which_names_the_certificate_has() {
        let e = rustls::Error::InvalidCertificate(CertificateError::NotValidForNameContext {
            expected: rustls::pki_types::ServerName::try_from("db.internal")
                .unwrap()
                .to_owned(),
            presented: vec![
                "DnsName(\"other.internal\")".into(),
                "IpAddress(10.0.0.5)".into(),
            ],
        });
        let text = describe(&io_wrapped(e), Client::Postgres);
        assert_eq!(
            text,
            "certificate is for another host name: expected db.internal, the certificate names other.internal, 10.0.0.5"
        );
    }

    #[test]
    fn other_errors_keep_their_message() {
        let e = sqlx::Error::Io(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        assert_eq!(describe_pg(&e), e.to_string());
        assert_eq!(certificate_problem(&e, Client::Postgres), None);
    }

    #[test]
    fn a_ca_file_must_hold_a_certificate() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("ca.pem");
        std::fs::write(&f, "not pem").unwrap();
        let e = read_ca_file(&f).unwrap_err();
        assert!(e.contains("holds no PEM certificate"), "{e}");
        std::fs::write(
            &f,
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        let e = read_ca_file(&f).unwrap_err();
        assert!(e.contains("certificate 1 is not usable"), "{e}");
        let e = read_ca_file(&dir.path().join("absent.pem")).unwrap_err();
        assert!(
            e.contains("cannot read CA file") && e.contains("absent.pem"),
            "{e}"
        );
    }
}
