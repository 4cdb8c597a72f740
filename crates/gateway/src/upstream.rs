//! Upstreams: where a route's requests go, and the keep-alive connection pool shared by all of
//! them (one pool per process, idle connections kept per host).

use std::time::Duration;

use bytes::Bytes;
use http::uri::{Authority, PathAndQuery, Uri};
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// A parsed upstream base URL (`http://host:port[/base]`).
#[derive(Debug, Clone)]
pub struct Upstream {
    authority: Authority,
    base: String,
}

impl Upstream {
    /// Parses a base URL; only plain `http://` upstreams (the gateway terminates TLS in front of
    /// the shop, which usually sits on the same host or network).
    pub fn parse(url: &str) -> Result<Upstream, String> {
        let uri: Uri = url.parse().map_err(|_| format!("`{url}` is not a URL"))?;
        if uri.scheme_str() != Some("http") {
            return Err(format!("`{url}`: only http:// upstreams are supported"));
        }
        let authority = uri
            .authority()
            .cloned()
            .ok_or_else(|| format!("`{url}` has no host"))?;
        if uri.query().is_some() {
            return Err(format!("`{url}`: an upstream has no query string"));
        }
        let base = uri.path().trim_end_matches('/').to_string();
        Ok(Upstream { authority, base })
    }

    /// The upstream URI for a request to `path_and_query`.
    pub fn uri_for(&self, path_and_query: Option<&PathAndQuery>) -> Result<Uri, http::Error> {
        let pq = path_and_query.map_or("/", PathAndQuery::as_str);
        Uri::builder()
            .scheme("http")
            .authority(self.authority.clone())
            .path_and_query(format!("{}{pq}", self.base))
            .build()
    }
}

/// The pooled HTTP/1.1 client to upstreams.
pub type Pool = Client<HttpConnector, Full<Bytes>>;

/// A pool keeping up to 256 idle connections per upstream for 90 s.
pub fn pool() -> Pool {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    connector.set_connect_timeout(Some(Duration::from_secs(5)));
    Client::builder(TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(90))
        .pool_max_idle_per_host(256)
        .build(connector)
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
        assert!(
            Upstream::parse("https://x")
                .unwrap_err()
                .contains("only http")
        );
        assert!(Upstream::parse("nonsense url").is_err());
    }
}
