//! TLS termination with rustls: certificate and key from PEM files, ALPN for HTTP/2 and
//! HTTP/1.1, and reload (on SIGHUP) that swaps the configuration for new connections while the
//! open ones keep theirs — nothing is dropped.

use std::sync::{Arc, RwLock};

use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

use crate::config::TlsConfig;
use crate::error::GatewayError;

/// Installs ring as rustls' process-wide provider (once; later calls are no-ops).
pub fn install_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A certificate chain and its private key, as this side of a TLS connection presents them.
pub type Identity = (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>);

/// Reads a certificate chain (leaf first) and its key from PEM files: the server's, or a
/// client certificate for mutual TLS. Errors name the file.
pub fn identity(c: &TlsConfig) -> Result<Identity, GatewayError> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&c.cert_file)
        .map_err(|e| in_file(&c.cert_file, &e))?
        .collect::<Result<_, _>>()
        .map_err(|e| in_file(&c.cert_file, &e))?;
    if certs.is_empty() {
        return Err(in_file(&c.cert_file, &"no certificate in the file"));
    }
    let key = PrivateKeyDer::from_pem_file(&c.key_file).map_err(|e| in_file(&c.key_file, &e))?;
    Ok((certs, key))
}

/// An error about `path`, naming it.
fn in_file(path: &std::path::Path, e: &dyn std::fmt::Display) -> GatewayError {
    GatewayError::Tls(format!("{}: {e}", path.display()))
}

/// Reads the files and builds a server configuration.
pub fn load(c: &TlsConfig) -> Result<Arc<ServerConfig>, GatewayError> {
    install_provider();
    let (certs, key) = identity(c)?;
    let mut config = ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| in_file(&c.cert_file, &e))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// The configuration in force, replaceable.
#[derive(Debug)]
pub struct Reloadable {
    files: TlsConfig,
    current: RwLock<Arc<ServerConfig>>,
}

impl Reloadable {
    /// Loads the files once.
    pub fn new(files: TlsConfig) -> Result<Reloadable, GatewayError> {
        let current = RwLock::new(load(&files)?);
        Ok(Reloadable { files, current })
    }

    /// An acceptor for a new connection, with the configuration in force.
    pub fn acceptor(&self) -> TlsAcceptor {
        TlsAcceptor::from(Arc::clone(
            &self.current.read().unwrap_or_else(|e| e.into_inner()),
        ))
    }

    /// Reads the files again; on failure the old configuration stays.
    pub fn reload(&self) -> Result<(), GatewayError> {
        let fresh = load(&self.files)?;
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = fresh;
        Ok(())
    }
}
