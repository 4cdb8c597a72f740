//! The `Idempotency-Key` header parser on arbitrary header values (one per line of the input):
//! a key or a refusal naming the header, never a panic; a key taken is 1 to 255 visible ASCII
//! characters without a double quote, and is what was sent, with or without its quotes.
#![no_main]

use ensuresec_server::batch_key::{HEADER, MAX_BYTES, from_headers};
use ensuresec_server::error::ApiError;
use http::{HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut headers = HeaderMap::new();
    let mut sent = Vec::new();
    for value in data.split(|b| *b == b'\n') {
        if let Ok(v) = HeaderValue::from_bytes(value) {
            headers.append(HEADER, v);
            sent.push(value);
        }
    }
    match from_headers(&headers) {
        Ok(None) => assert!(sent.is_empty()),
        Ok(Some(key)) => {
            assert_eq!(sent.len(), 1);
            assert!((1..=MAX_BYTES).contains(&key.len()));
            assert!(key.bytes().all(|b| b.is_ascii_graphic() && b != b'"'));
            let quoted = format!("\"{key}\"");
            assert!(sent[0] == key.as_bytes() || sent[0] == quoted.as_bytes());
        }
        Err(ApiError::BadParam { param, .. }) => assert_eq!(param, HEADER),
        Err(other) => panic!("unexpected error {other:?}"),
    }
});
