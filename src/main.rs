//! The `ebb` binary: everything lives in the library; this installs the one TLS crypto
//! provider (rustls's ring) for every client, then hands over to `cli`.

fn main() -> std::process::ExitCode {
    ebb::tls::install_crypto_provider();
    ebb::cli::main()
}
