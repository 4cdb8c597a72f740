//! Upstreams: where a route's requests go (`http://` or `https://`), and the keep-alive
//! connection pool shared by all of them (one pool per process, idle connections kept per host).
//! TLS to upstreams is rustls, trusting the platform's root certificates, or only the
//! configured CA file (for a shop behind a private CA).

use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use http::uri::{Authority, PathAndQuery, Scheme, Uri};
use http_body_util::Full;
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use rustls::{ClientConfig, RootCertStore};

use crate::error::GatewayError;

/// A parsed upstream base URL (`http[s]://host:port[/base]`).
#[derive(Debug, Clone)]
pub struct Upstream {
    scheme: Scheme,
    authority: Authority,
    base: String,
}

impl Upstream {
    /// Parses a base URL: `http://` or `https://`, a host, an optional base path, no query.
    pub fn parse(url: &str) -> Result<Upstream, String> {
        let uri: Uri = url.parse().map_err(|_| format!("`{url}` is not a URL"))?;
        let scheme = match uri.scheme_str() {
            Some("http") => Scheme::HTTP,
            Some("https") => Scheme::HTTPS,
            _ => {
                return Err(format!(
                    "`{url}`: an upstream URL starts with http:// or https://"
                ));
            }
        };
        let authority = uri
            .authority()
            .cloned()
            .ok_or_else(|| format!("`{url}` has no host"))?;
        if uri.query().is_some() {
            return Err(format!("`{url}`: an upstream has no query string"));
        }
        let base = uri.path().trim_end_matches('/').to_string();
        Ok(Upstream {
            scheme,
            authority,
            base,
        })
    }

    /// Whether requests go over TLS.
    pub fn is_tls(&self) -> bool {
        self.scheme == Scheme::HTTPS
    }

    /// The upstream URI for a request to `path_and_query`.
    pub fn uri_for(&self, path_and_query: Option<&PathAndQuery>) -> Result<Uri, http::Error> {
        let pq = path_and_query.map_or("/", PathAndQuery::as_str);
        Uri::builder()
            .scheme(self.scheme.clone())
            .authority(self.authority.clone())
            .path_and_query(format!("{}{pq}", self.base))
            .build()
    }
}

/// The pooled HTTP/1.1 client to upstreams, plain or TLS.
pub type Pool = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// The roots upstream certificates are checked against: the CA file's certificates when one is
/// configured, else the platform's (read only when some upstream uses TLS).
fn client_tls(ca_file: Option<&Path>, any_tls: bool) -> Result<ClientConfig, GatewayError> {
    if ca_file.is_none() && !any_tls {
        crate::tls::install_provider();
        return Ok(ClientConfig::builder()
            .with_root_certificates(RootCertStore::empty())
            .with_no_client_auth());
    }
    // ALPN is left to the connector, which offers what the pool speaks (HTTP/1.1).
    crate::client_tls::client_config(ca_file, "gateway.upstream_ca_file", None)
}

/// A pool keeping up to 256 idle connections per upstream for 90 s; `any_tls` when some route
/// goes to an `https://` upstream.
pub fn pool(ca_file: Option<&Path>, any_tls: bool) -> Result<Pool, GatewayError> {
    let mut http = HttpConnector::new();
    http.set_nodelay(true);
    http.set_connect_timeout(Some(Duration::from_secs(5)));
    http.enforce_http(false);
    let connector = HttpsConnectorBuilder::new()
        .with_tls_config(client_tls(ca_file, any_tls)?)
        .https_or_http()
        .enable_http1()
        .wrap_connector(http);
    Ok(Client::builder(TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(90))
        .pool_max_idle_per_host(256)
        .build(connector))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_appended_to_the_base() {
        let u = Upstream::parse("http://127.0.0.1:9000/shop/").unwrap();
        let pq = PathAndQuery::from_static("/cart?x=1");
        assert_eq!(
            u.uri_for(Some(&pq)).unwrap().to_string(),
            "http://127.0.0.1:9000/shop/cart?x=1"
        );
        assert!(!u.is_tls());
        let tls = Upstream::parse("https://shop.internal:8443").unwrap();
        assert!(tls.is_tls());
        assert_eq!(
            tls.uri_for(Some(&pq)).unwrap().to_string(),
            "https://shop.internal:8443/cart?x=1"
        );
        assert!(
            Upstream::parse("ftp://x")
                .unwrap_err()
                .contains("http:// or https://")
        );
        assert!(Upstream::parse("nonsense url").is_err());
    }

    #[test]
    fn a_ca_file_without_certificates_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, "not a certificate\n").unwrap();
        let err = client_tls(Some(&path), true).unwrap_err().to_string();
        assert!(
            err.contains("upstream_ca_file") && err.contains("ca.pem"),
            "{err}"
        );
    }
}
