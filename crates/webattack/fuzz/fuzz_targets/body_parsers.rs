//! Request parsing (query, cookies, urlencoded, multipart and JSON bodies) and full inspection on
//! arbitrary bodies under each content type: no panic, limits respected.
#![no_main]

use bytes::Bytes;
use ensuresec_webattack::{Engine, EngineConfig, InspectRequest, Limits, parse};
use libfuzzer_sys::fuzz_target;

const TYPES: [&str; 4] = [
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=XX",
    "application/json",
    "text/xml",
];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else { return };
    let split = rest.len() / 3;
    let (uri, body) = rest.split_at(split);
    let req = InspectRequest {
        method: "POST".into(),
        uri: format!("/{}", String::from_utf8_lossy(uri)),
        http_version: "HTTP/1.1".into(),
        headers: vec![
            ("Content-Type".into(), TYPES[usize::from(selector) % TYPES.len()].into()),
            ("Cookie".into(), String::from_utf8_lossy(uri).into_owned()),
        ],
        body: Bytes::copy_from_slice(body),
        partial: false,
    };
    let limits = Limits::default();
    let parsed = parse(&req, &limits);
    assert!(parsed.fields.iter().all(|f| f.value.len() <= limits.max_value_bytes));
    let engine = Engine::embedded(EngineConfig::at_paranoia(4)).expect("embedded rules compile");
    let _ = engine.inspect(&req);
});
