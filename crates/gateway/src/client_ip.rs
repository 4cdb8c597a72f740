//! The client's address behind trusted proxies: `Forwarded` (RFC 7239) or `X-Forwarded-For`,
//! walked from the right; the first hop that is not a trusted proxy is the client. Headers from
//! an untrusted peer are not believed at all.

use std::net::{IpAddr, SocketAddr};

use http::HeaderMap;
use ipnet::IpNet;

/// Most hops looked at; a longer chain is cut (its left end is attacker-controlled anyway).
pub const MAX_HOPS: usize = 32;

/// One hop's address as written in `X-Forwarded-For` (`1.2.3.4`, `1.2.3.4:80`, `[::1]:80`,
/// `::1`) or in a `Forwarded` `for=` value (quotes removed). `None` for anything else
/// (`unknown`, obfuscated identifiers, garbage).
pub fn parse_hop(s: &str) -> Option<IpAddr> {
    let s = s.trim().trim_matches('"');
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Ok(sa) = s.parse::<SocketAddr>() {
        return Some(sa.ip());
    }
    let inner = s.strip_prefix('[')?.split(']').next()?;
    inner.parse().ok()
}

/// The hops of all `Forwarded` headers, left to right (`None` for a hop without a usable
/// `for=`).
pub fn forwarded_hops(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    let mut hops = Vec::new();
    for value in headers.get_all(http::header::FORWARDED) {
        let Ok(text) = value.to_str() else {
            hops.push(None);
            continue;
        };
        for element in text.split(',').take(MAX_HOPS) {
            let ip = element.split(';').find_map(|pair| {
                let (k, v) = pair.split_once('=')?;
                k.trim().eq_ignore_ascii_case("for").then(|| parse_hop(v))?
            });
            hops.push(ip);
        }
    }
    hops
}

/// The hops of all `X-Forwarded-For` headers, left to right.
pub fn xff_hops(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    headers
        .get_all("x-forwarded-for")
        .iter()
        .flat_map(|v| match v.to_str() {
            Ok(t) => t.split(',').take(MAX_HOPS).map(parse_hop).collect(),
            Err(_) => vec![None],
        })
        .collect()
}

/// The client address for a request from `peer`.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let hops = if headers.contains_key(http::header::FORWARDED) {
        forwarded_hops(headers)
    } else {
        xff_hops(headers)
    };
    let mut client = peer;
    for hop in hops.iter().rev().take(MAX_HOPS) {
        match hop {
            Some(ip) => {
                client = *ip;
                if !is_trusted(ip) {
                    break;
                }
            }
            // An unreadable hop ends the walk: what lies left of it cannot be attributed.
            None => break,
        }
    }
    client
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn untrusted_peers_are_not_believed() {
        let h = headers(&[("x-forwarded-for", "198.51.100.1")]);
        let peer = "203.0.113.9".parse().unwrap();
        assert_eq!(client_ip(peer, &h, &["10.0.0.0/8".parse().unwrap()]), peer);
    }

    #[test]
    fn the_first_untrusted_hop_from_the_right_is_the_client() {
        let trusted = ["10.0.0.0/8".parse().unwrap()];
        let h = headers(&[("x-forwarded-for", "6.6.6.6, 198.51.100.1, 10.0.0.2")]);
        let got = client_ip("10.0.0.1".parse().unwrap(), &h, &trusted);
        assert_eq!(got, "198.51.100.1".parse::<IpAddr>().unwrap());
        let h = headers(&[(
            "forwarded",
            "for=6.6.6.6, for=\"[2001:db8::17]:4711\";proto=https, for=10.0.0.3",
        )]);
        let got = client_ip("10.0.0.1".parse().unwrap(), &h, &trusted);
        assert_eq!(got, "2001:db8::17".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn garbage_stops_the_walk() {
        let trusted = ["10.0.0.0/8".parse().unwrap()];
        let h = headers(&[("x-forwarded-for", "6.6.6.6, nonsense, 10.0.0.2")]);
        let got = client_ip("10.0.0.1".parse().unwrap(), &h, &trusted);
        assert_eq!(got, "10.0.0.2".parse::<IpAddr>().unwrap());
        assert_eq!(parse_hop("unknown"), None);
        assert_eq!(parse_hop("1.2.3.4:80"), "1.2.3.4".parse().ok());
    }
}
