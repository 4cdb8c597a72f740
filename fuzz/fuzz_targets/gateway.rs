//! The gateway's own parsers on arbitrary bytes: the client address behind `Forwarded` and
//! `X-Forwarded-For` must be the peer or an address from the headers, never a panic; the
//! smuggling scanner must give the same answer however the bytes are chunked.
#![no_main]

use ensuresec_gateway::client_ip::client_ip;
use ensuresec_gateway::smuggling::Scanner;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let split = data.first().map_or(0, |b| usize::from(*b)).min(data.len());
    let (a, b) = data.split_at(split);
    let mut whole = Scanner::default();
    let at_once = whole.feed(data);
    let mut parts = Scanner::default();
    parts.feed(a);
    assert_eq!(parts.feed(b), at_once);

    let text = String::from_utf8_lossy(data);
    let mut headers = http::HeaderMap::new();
    for (name, value) in [
        ("forwarded", String::from_utf8_lossy(a)),
        ("x-forwarded-for", String::from_utf8_lossy(b)),
    ] {
        if let Ok(v) = http::HeaderValue::from_str(&value) {
            headers.append(name, v);
        }
    }
    let peer = "10.0.0.1".parse().expect("an address");
    let trusted = ["10.0.0.0/8".parse().expect("a range")];
    let ip = client_ip(peer, &headers, &trusted);
    assert!(ip == peer || text.contains(&ip.to_string()) || text.contains(':'));
});
