//! TLS with rustls (ring provider): the server's certificate and key, and extra trust roots for
//! clients that talk to a server with a private CA.

use std::path::Path;

use anyhow::Context;
use axum_server::tls_rustls::RustlsConfig;
use ensuresec_server::config::TlsConfig;

/// Installs ring as rustls' process-wide provider (once; later calls are no-ops).
fn install_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The server side: loads the PEM files, naming the file that fails.
pub async fn server_config(tls: &TlsConfig) -> anyhow::Result<RustlsConfig> {
    install_provider();
    for (what, path) in [("certificate", &tls.cert_file), ("key", &tls.key_file)] {
        anyhow::ensure!(
            path.exists(),
            "server.tls: {what} file {} does not exist",
            path.display()
        );
    }
    RustlsConfig::from_pem_file(&tls.cert_file, &tls.key_file)
        .await
        .with_context(|| {
            format!(
                "server.tls: cannot use {} and {}",
                tls.cert_file.display(),
                tls.key_file.display()
            )
        })
}

/// A PEM CA certificate for the HTTP client, for servers whose certificate a private CA signed.
pub fn client_root(path: &Path) -> anyhow::Result<reqwest::Certificate> {
    let pem = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    reqwest::Certificate::from_pem(&pem)
        .with_context(|| format!("{} is not a PEM certificate", path.display()))
}
