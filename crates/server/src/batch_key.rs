//! The `Idempotency-Key` request header of `POST /v1/events`: a client's name for one batch, so
//! that the batch sent again after a timeout or a lost answer is stored once.

use axum::http::HeaderMap;

use crate::error::ApiError;

/// The header's name, as the documentation and errors spell it.
pub const HEADER: &str = "Idempotency-Key";

/// The response header that tells a client its batch was stored before and not again.
pub const REPLAYED: &str = "Idempotent-Replayed";

/// Longest key taken, in bytes: room for any UUID, ULID or hash a client may use.
pub const MAX_BYTES: usize = 255;

/// The key sent with the request, if any. A key is 1 to [`MAX_BYTES`] visible ASCII
/// characters; a structured-field string (the key in double quotes) is taken without its quotes.
pub fn from_headers(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let mut values = headers.get_all(HEADER).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    let bad = |message: String| ApiError::BadParam {
        param: HEADER.to_string(),
        message,
    };
    if values.next().is_some() {
        return Err(bad("sent more than once; send one key per batch".into()));
    }
    let raw = value.as_bytes();
    let key = match raw {
        [b'"', inner @ .., b'"'] => inner,
        _ => raw,
    };
    if key.is_empty() {
        return Err(bad("empty; leave the header out or send a key".into()));
    }
    if key.len() > MAX_BYTES {
        return Err(bad(format!(
            "{} bytes, over the limit of {MAX_BYTES}",
            key.len()
        )));
    }
    match key
        .iter()
        .position(|b| !(0x21..=0x7e).contains(b) || *b == b'"')
    {
        Some(at) => Err(bad(format!(
            "byte {} is not a visible ASCII character other than a double quote",
            at + 1
        ))),
        // Only visible ASCII is left, so this cannot fail.
        None => Ok(Some(String::from_utf8_lossy(key).into_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;
    use proptest::prelude::*;

    fn key(values: &[&[u8]]) -> Result<Option<String>, ApiError> {
        let mut headers = HeaderMap::new();
        for v in values {
            headers.append(HEADER, HeaderValue::from_bytes(v).unwrap());
        }
        from_headers(&headers)
    }

    fn refusal(values: &[&[u8]]) -> String {
        match key(values) {
            Err(ApiError::BadParam { param, message }) => {
                assert_eq!(param, HEADER);
                message
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn a_key_is_read_bare_or_quoted() {
        assert_eq!(key(&[]).unwrap(), None);
        assert_eq!(
            key(&[b"8e03978e-40d5-43e8-bc93-6894a57f9324"]).unwrap(),
            Some("8e03978e-40d5-43e8-bc93-6894a57f9324".into())
        );
        assert_eq!(key(&[b"\"batch-7\""]).unwrap(), Some("batch-7".into()));
        let longest = vec![b'k'; MAX_BYTES];
        assert_eq!(key(&[&longest]).unwrap().map(|k| k.len()), Some(MAX_BYTES));
    }

    #[test]
    fn a_bad_key_is_refused_with_what_is_wrong() {
        assert!(refusal(&[b""]).contains("empty"));
        assert!(refusal(&[b"\"\""]).contains("empty"));
        assert!(refusal(&[&vec![b'k'; MAX_BYTES + 1]]).contains("over the limit of 255"));
        assert!(refusal(&[b"two words"]).contains("byte 4"));
        assert!(refusal(&[b"caf\xc3\xa9"]).contains("byte 4"));
        assert!(refusal(&[b"a\"b"]).contains("byte 2"));
        assert!(refusal(&[b"a", b"b"]).contains("more than once"));
    }

    proptest! {
        #[test]
        fn every_visible_ascii_key_up_to_the_limit_is_taken_as_sent(key in "[!#-~]{1,255}") {
            prop_assert_eq!(super::tests::key(&[key.as_bytes()]).unwrap(), Some(key));
        }

        #[test]
        fn any_header_value_is_taken_or_refused_naming_the_header(
            // What a client can put in a header value: tab, visible ASCII and space, and
            // bytes above ASCII.
            bytes in proptest::collection::vec(
                prop_oneof![Just(b'\t'), 0x20u8..=0x7e, 0x80u8..=0xff], 0..300)
        ) {
            match super::tests::key(&[&bytes]) {
                Ok(Some(k)) => {
                    prop_assert!((1..=MAX_BYTES).contains(&k.len()));
                    prop_assert!(k.bytes().all(|b| b.is_ascii_graphic() && b != b'"'));
                    let quoted = format!("\"{k}\"");
                    prop_assert!(bytes == k.as_bytes() || bytes == quoted.as_bytes());
                }
                Ok(None) => prop_assert!(false, "a header sent is never ignored"),
                Err(ApiError::BadParam { param, .. }) => prop_assert_eq!(param, HEADER),
                Err(other) => prop_assert!(false, "unexpected error {:?}", other),
            }
        }
    }
}
