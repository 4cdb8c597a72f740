//! The challenge's HTTP side (see [`crate::challenge`] for the tokens): who gets the page, the
//! page and its script, the verification POST that sets the pass cookie.

use std::net::IpAddr;
use std::time::Duration;

use bytes::Bytes;
use http::request::Parts;
use http::{HeaderValue, Method, Response, StatusCode, header};
use hyper::body::Incoming;

use crate::challenge::{self, Challenger, MAX_FORM, PASS_COOKIE};
use crate::limits::read_body;
use crate::pages;
use crate::proxy::{Body, cookie};

/// A browser asking for a page: GET or HEAD accepting `text/html`. Only such a request can show
/// the page and follow its form; anything else is refused outright.
pub fn is_browser(parts: &Parts) -> bool {
    matches!(parts.method, Method::GET | Method::HEAD)
        && parts
            .headers
            .get_all(header::ACCEPT)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| v.contains("text/html"))
}

/// Whether the request carries a valid pass for `client`.
pub fn has_pass(ch: &Challenger, parts: &Parts, client: IpAddr, now: i64) -> bool {
    cookie(parts, PASS_COOKIE).is_some_and(|v| ch.passes(v, client, now).is_ok())
}

/// The answer to a challenged request: the page for a browser, 403 for anything else.
pub fn answer(
    ch: &Challenger,
    parts: &Parts,
    client: IpAddr,
    now: i64,
    request_id: &str,
) -> Response<Body> {
    if !is_browser(parts) {
        return pages::denied(request_id);
    }
    let target = parts.uri.path_and_query().map_or("/", |pq| pq.as_str());
    let html = challenge::page(
        &ch.issue(client, now),
        ch.bits(),
        challenge::safe_return(target),
        request_id,
    );
    // 403: whatever caches or monitors the page, it is not the content asked for.
    pages::html_response(StatusCode::FORBIDDEN, html)
}

/// The solving script.
pub fn script() -> Response<Body> {
    let mut r = Response::new(pages::full(Bytes::from_static(
        challenge::SCRIPT.as_bytes(),
    )));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/javascript; charset=utf-8"),
    );
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    r
}

/// The verification POST (`token`, `nonce`, `return`, form-encoded): a good solution gets a
/// `303` back to where the client was going, with the pass cookie; a bad one a 403 page.
pub async fn verify(
    ch: &Challenger,
    body: Incoming,
    client: IpAddr,
    tls: bool,
    now: i64,
    timeout: Duration,
    request_id: &str,
) -> Response<Body> {
    let form = match read_body(body, MAX_FORM, timeout).await {
        Ok(b) => b,
        Err(_) => return pages::error(StatusCode::BAD_REQUEST, request_id),
    };
    let (mut token, mut nonce, mut target) = (String::new(), String::new(), String::from("/"));
    for (k, v) in form_urlencoded::parse(&form) {
        match &*k {
            "token" => token = v.into_owned(),
            "nonce" => nonce = v.into_owned(),
            "return" => target = v.into_owned(),
            _ => {}
        }
    }
    if let Err(why) = ch.verify(&token, &nonce, client, now) {
        tracing::info!(request_id, %client, reason = why.as_str(), "challenge failed");
        return pages::page(
            StatusCode::FORBIDDEN,
            "Check failed",
            "The browser check did not succeed. Reload the page to try again; if it keeps \
             failing, contact the shop and quote the request id.",
            request_id,
        );
    }
    let mut cookie = format!(
        "{PASS_COOKIE}={}; Max-Age={}; Path=/; HttpOnly; SameSite=Lax",
        ch.pass(client, now),
        ch.pass_seconds()
    );
    if tls {
        cookie.push_str("; Secure");
    }
    let mut r = Response::new(pages::full(Bytes::new()));
    *r.status_mut() = StatusCode::SEE_OTHER;
    let location = challenge::safe_return(&target);
    if let (Ok(loc), Ok(c)) = (
        HeaderValue::from_str(location),
        HeaderValue::from_str(&cookie),
    ) {
        r.headers_mut().insert(header::LOCATION, loc);
        r.headers_mut().insert(header::SET_COOKIE, c);
    }
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}
