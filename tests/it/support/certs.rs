//! Certificates made by the test, never shipped: a CA, a server certificate it signs for
//! `localhost`, a client certificate for user `postgres`, and an unrelated second CA.
//!
//! PEM files in a directory the caller keeps; keys are mode 0600 (PostgreSQL insists).

#![allow(dead_code)] // each test module uses part of the harness

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};

/// The files of one test PKI.
#[derive(Clone, Debug)]
pub struct TestPki {
    /// The CA that signed the server and client certificates.
    pub ca: PathBuf,
    /// A CA that signed nothing here: trusting it alone must fail.
    pub other_ca: PathBuf,
    /// The server's certificate (for `localhost` only) and key.
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    /// A client certificate with CN `postgres`, and its key.
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
}

/// The host name the server certificate is for. `127.0.0.1` is not in it: connecting by
/// address is the "wrong host name" case.
pub const SERVER_NAME: &str = "localhost";

impl TestPki {
    /// Makes the CA, the certificates and keys, and writes them under `dir`.
    pub fn generate(dir: &Path) -> TestPki {
        std::fs::create_dir_all(dir).expect("certs dir");
        let ca = ca("ebb test CA");
        let other = ca_pem("ebb unrelated CA");

        let server_key = KeyPair::generate().expect("server key");
        let mut server = CertificateParams::new(vec![SERVER_NAME.to_string()]).expect("params");
        server
            .distinguished_name
            .push(DnType::CommonName, SERVER_NAME);
        server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let server_cert = server.signed_by(&server_key, &ca).expect("sign server");

        let client_key = KeyPair::generate().expect("client key");
        let mut client = CertificateParams::new(Vec::<String>::new()).expect("params");
        client
            .distinguished_name
            .push(DnType::CommonName, "postgres");
        client.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let client_cert = client.signed_by(&client_key, &ca).expect("sign client");

        let pki = TestPki {
            ca: dir.join("ca.pem"),
            other_ca: dir.join("other-ca.pem"),
            server_cert: dir.join("server.pem"),
            server_key: dir.join("server.key"),
            client_cert: dir.join("client.pem"),
            client_key: dir.join("client.key"),
        };
        write(&pki.ca, &ca.pem(), 0o644);
        write(&pki.other_ca, &other, 0o644);
        write(&pki.server_cert, &server_cert.pem(), 0o644);
        write(&pki.server_key, &server_key.serialize_pem(), 0o600);
        write(&pki.client_cert, &client_cert.pem(), 0o644);
        write(&pki.client_key, &client_key.serialize_pem(), 0o600);
        pki
    }
}

fn ca(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    CertifiedIssuer::self_signed(params, KeyPair::generate().expect("CA key")).expect("CA")
}

fn ca_pem(name: &str) -> String {
    ca(name).pem()
}

fn write(path: &Path, text: &str, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("chmod {}: {e}", path.display()));
}
