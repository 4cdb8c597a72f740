//! Request body parsers: urlencoded, multipart and JSON, each bounded by [`crate::Limits`].
//!
//! The parser is chosen by `Content-Type` alone, as a server would; an unknown type leaves the
//! body to rules on the raw `body` target.

mod json;
mod multipart;

use crate::request::{FieldSink, parse_urlencoded};

pub(crate) use json::parse_json;
pub(crate) use multipart::parse_multipart;

/// Dispatches `body` to the parser its content type names.
pub(crate) fn parse_body(content_type: &str, body: &[u8], sink: &mut FieldSink<'_>) {
    let ct = content_type.trim().to_ascii_lowercase();
    let mime = ct.split(';').next().unwrap_or("").trim();
    if mime == "application/x-www-form-urlencoded" {
        parse_urlencoded(body, sink);
    } else if mime == "multipart/form-data" {
        parse_multipart(content_type, body, sink);
    } else if mime == "application/json" || mime.ends_with("+json") {
        parse_json(body, sink);
    }
}
