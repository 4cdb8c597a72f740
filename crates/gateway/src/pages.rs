//! The pages the gateway answers with itself: blocked, banned, rate-limited, bad request,
//! fail-safe. Small, self-contained HTML with the request id the operator can look up.

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode, header};
use http_body_util::{BodyExt, Full};

use crate::proxy::Body;

/// `s` made safe inside HTML text and attribute values.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A body from bytes.
pub fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed()
}

/// An HTML answer with `status`, a title, a sentence and the request id.
pub fn page(status: StatusCode, title: &str, text: &str, request_id: &str) -> Response<Body> {
    let html = format!(
        "<!doctype html><html lang=\"en\"><meta charset=\"utf-8\"><title>{t}</title>\
         <body style=\"font-family:sans-serif;max-width:40em;margin:4em auto\"><h1>{t}</h1>\
         <p>{x}</p><p>Request id: <code>{id}</code></p></body></html>",
        t = escape(title),
        x = escape(text),
        id = escape(request_id),
    );
    html_response(status, html)
}

/// An HTML answer with a ready page.
pub fn html_response(status: StatusCode, html: String) -> Response<Body> {
    let mut r = Response::new(full(html));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// 403 for a request the web-attack engine blocked.
pub fn blocked(request_id: &str) -> Response<Body> {
    page(
        StatusCode::FORBIDDEN,
        "Request blocked",
        "This request looked like an attack and was not passed on. If you think this is a \
         mistake, contact the shop and quote the request id.",
        request_id,
    )
}

/// 403 for a banned or challenged client.
pub fn denied(request_id: &str) -> Response<Body> {
    page(
        StatusCode::FORBIDDEN,
        "Access denied",
        "Requests from your address or account are refused for now. Contact the shop and quote \
         the request id.",
        request_id,
    )
}

/// 429 with `Retry-After`.
pub fn too_many(request_id: &str, retry_after_seconds: u64) -> Response<Body> {
    let mut r = page(
        StatusCode::TOO_MANY_REQUESTS,
        "Too many requests",
        "Please slow down and try again in a moment.",
        request_id,
    );
    r.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from(retry_after_seconds.max(1)),
    );
    r
}

/// A plain error page (400, 404, 408, 413, 502, 504).
pub fn error(status: StatusCode, request_id: &str) -> Response<Body> {
    let reason = status.canonical_reason().unwrap_or("Error");
    let mut r = page(
        status,
        reason,
        "The request could not be served.",
        request_id,
    );
    if status == StatusCode::BAD_REQUEST || status == StatusCode::REQUEST_TIMEOUT {
        r.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    r
}

/// 503 with `Retry-After` and the fail-safe page.
pub fn failsafe(message: &str) -> Response<Body> {
    let mut r = html_response(
        StatusCode::SERVICE_UNAVAILABLE,
        ensuresec_respond::failsafe::refusal_page(message),
    );
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("120"));
    r
}
