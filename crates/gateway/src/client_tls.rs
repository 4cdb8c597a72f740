//! rustls client configurations for the TLS connections ensuresec opens: to `https://`
//! upstreams and to MQTT brokers. The peer's certificate is checked against a CA file's
//! certificates when one is configured (a private CA), else against the platform's roots; a
//! client certificate is presented when one is configured (mutual TLS).

use std::path::Path;

use rustls::{ClientConfig, RootCertStore};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

use crate::config::TlsConfig;
use crate::error::GatewayError;

/// A client configuration trusting `ca_file` (or the platform's roots), presenting `identity`
/// when given. `setting` names the CA file's setting in errors.
pub fn client_config(
    ca_file: Option<&Path>,
    setting: &str,
    identity: Option<&TlsConfig>,
) -> Result<ClientConfig, GatewayError> {
    crate::tls::install_provider();
    let builder = ClientConfig::builder().with_root_certificates(roots(ca_file, setting)?);
    match identity {
        None => Ok(builder.with_no_client_auth()),
        Some(files) => {
            let (certs, key) = crate::tls::identity(files)?;
            builder
                .with_client_auth_cert(certs, key)
                .map_err(|e| GatewayError::Tls(format!("{}: {e}", files.cert_file.display())))
        }
    }
}

/// The CA file's certificates, or the platform's roots without one.
fn roots(ca_file: Option<&Path>, setting: &str) -> Result<RootCertStore, GatewayError> {
    let mut roots = RootCertStore::empty();
    match ca_file {
        Some(path) => {
            let name = |e: &dyn std::fmt::Display| {
                GatewayError::Tls(format!("{setting} {}: {e}", path.display()))
            };
            for cert in CertificateDer::pem_file_iter(path).map_err(|e| name(&e))? {
                roots
                    .add(cert.map_err(|e| name(&e))?)
                    .map_err(|e| name(&e))?;
            }
            if roots.is_empty() {
                return Err(name(&"no certificate in the file"));
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            roots.add_parsable_certificates(found.certs);
            if roots.is_empty() {
                let why = found
                    .errors
                    .first()
                    .map_or_else(|| "none found".to_string(), ToString::to_string);
                return Err(GatewayError::Tls(format!(
                    "no usable root certificates on this system ({why}); set {setting}"
                )));
            }
        }
    }
    Ok(roots)
}
