//! Headers the gateway adds or removes: security headers on responses, hop-by-hop headers on
//! both legs, forwarding headers towards the upstream.

use std::net::IpAddr;

use http::{HeaderMap, HeaderName, HeaderValue, header};

use crate::config::HeadersConfig;

/// Security headers, ready to insert.
#[derive(Debug, Default, Clone)]
pub struct SecurityHeaders {
    set: Vec<(HeaderName, HeaderValue)>,
}

impl SecurityHeaders {
    /// From the configuration (values were validated with the configuration).
    pub fn new(c: &HeadersConfig) -> SecurityHeaders {
        let mut set = Vec::new();
        let mut add = |name: HeaderName, v: &Option<String>| {
            if let Some(v) = v
                && let Ok(v) = HeaderValue::from_str(v)
            {
                set.push((name, v));
            }
        };
        add(header::STRICT_TRANSPORT_SECURITY, &c.hsts);
        add(header::CONTENT_SECURITY_POLICY, &c.csp);
        add(header::REFERRER_POLICY, &c.referrer_policy);
        if c.nosniff {
            set.push((
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ));
        }
        SecurityHeaders { set }
    }

    /// Sets them on a response; an upstream's own CSP is kept (it knows its pages best).
    pub fn apply(&self, headers: &mut HeaderMap) {
        for (name, value) in &self.set {
            if name == header::CONTENT_SECURITY_POLICY && headers.contains_key(name) {
                continue;
            }
            headers.insert(name.clone(), value.clone());
        }
    }
}

const HOP_BY_HOP: [HeaderName; 7] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    HeaderName::from_static("proxy-connection"),
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
];

/// Removes hop-by-hop headers, including those the `Connection` header names.
pub fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|n| HeaderName::from_bytes(n.trim().as_bytes()).ok())
        .collect();
    for n in named.iter().chain(HOP_BY_HOP.iter()) {
        headers.remove(n);
    }
}

/// Sets `X-Forwarded-For`, `X-Forwarded-Proto` and `X-Forwarded-Host` for the upstream. From an
/// untrusted peer the incoming chain (and `Forwarded`) is discarded; from a trusted one the peer
/// is appended to it.
pub fn set_forwarding(
    headers: &mut HeaderMap,
    peer: IpAddr,
    peer_trusted: bool,
    tls: bool,
    host: Option<&str>,
) {
    let xff = HeaderName::from_static("x-forwarded-for");
    let chain = if peer_trusted {
        let prior: Vec<&str> = headers
            .get_all(&xff)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        if prior.is_empty() {
            peer.to_string()
        } else {
            format!("{}, {peer}", prior.join(", "))
        }
    } else {
        headers.remove(header::FORWARDED);
        peer.to_string()
    };
    if let Ok(v) = HeaderValue::from_str(&chain) {
        headers.insert(xff, v);
    }
    headers.insert(
        HeaderName::from_static("x-forwarded-proto"),
        HeaderValue::from_static(if tls { "https" } else { "http" }),
    );
    if let Some(h) = host.and_then(|h| HeaderValue::from_str(h).ok()) {
        headers.insert(HeaderName::from_static("x-forwarded-host"), h);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hop_by_hop_headers_go_with_those_connection_names() {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONNECTION,
            HeaderValue::from_static("close, x-secret"),
        );
        h.insert("x-secret", HeaderValue::from_static("1"));
        h.insert(
            header::TRANSFER_ENCODING,
            HeaderValue::from_static("chunked"),
        );
        h.insert(header::ACCEPT, HeaderValue::from_static("*/*"));
        strip_hop_by_hop(&mut h);
        assert_eq!(h.len(), 1);
        assert!(h.contains_key(header::ACCEPT));
    }

    #[test]
    fn an_untrusted_chain_is_replaced() {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", HeaderValue::from_static("6.6.6.6"));
        set_forwarding(
            &mut h,
            "192.0.2.1".parse().unwrap(),
            false,
            true,
            Some("shop"),
        );
        assert_eq!(h["x-forwarded-for"], "192.0.2.1");
        assert_eq!(h["x-forwarded-proto"], "https");
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", HeaderValue::from_static("6.6.6.6"));
        set_forwarding(&mut h, "10.0.0.1".parse().unwrap(), true, false, None);
        assert_eq!(h["x-forwarded-for"], "6.6.6.6, 10.0.0.1");
    }

    #[test]
    fn security_headers_keep_the_upstream_csp() {
        let s = SecurityHeaders::new(&HeadersConfig {
            csp: Some("default-src 'self'".into()),
            nosniff: true,
            ..HeadersConfig::default()
        });
        let mut h = HeaderMap::new();
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("x"),
        );
        s.apply(&mut h);
        assert_eq!(h[header::CONTENT_SECURITY_POLICY], "x");
        assert_eq!(h[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    }
}
