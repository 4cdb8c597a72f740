//! Inspection: the request as the web-attack engine sees it (method, URI, headers, cookies and
//! the bounded body), and what the route makes of the verdict.

use bytes::Bytes;
use ensuresec_webattack::{Engine, InspectRequest, Verdict};
use http::request::Parts;

use crate::config::InspectMode;

/// What happens to a request after inspection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Not inspected (route mode `off`).
    Skipped,
    /// Below the threshold.
    Clean,
    /// At or above the threshold, passed on (detection-only).
    Detected,
    /// At or above the threshold, refused with 403.
    Blocked,
}

impl Outcome {
    /// The label value in events.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Skipped => "skipped",
            Outcome::Clean => "clean",
            Outcome::Detected => "detected",
            Outcome::Blocked => "blocked",
        }
    }
}

/// The engine's view of a request.
pub fn request(parts: &Parts, body: Bytes) -> InspectRequest {
    let mut headers: Vec<(String, String)> = parts
        .headers
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    // HTTP/2 carries the host as `:authority`; the engine expects a Host header.
    if !parts.headers.contains_key(http::header::HOST)
        && let Some(a) = parts.uri.authority()
    {
        headers.push(("host".to_string(), a.as_str().to_string()));
    }
    InspectRequest {
        method: parts.method.as_str().to_string(),
        uri: parts
            .uri
            .path_and_query()
            .map_or_else(|| "/".to_string(), |pq| pq.as_str().to_string()),
        http_version: crate::proxy::version_str(parts.version).to_string(),
        headers,
        body,
        partial: false,
    }
}

/// Inspects and decides.
pub fn judge(
    engine: &Engine,
    mode: InspectMode,
    threshold: u32,
    parts: &Parts,
    body: &Bytes,
) -> (Outcome, Option<Verdict>) {
    if mode == InspectMode::Off {
        return (Outcome::Skipped, None);
    }
    let verdict = engine.inspect(&request(parts, body.clone()));
    let outcome = match (verdict.score >= threshold, mode) {
        (false, _) => Outcome::Clean,
        (true, InspectMode::Blocking) => Outcome::Blocked,
        (true, _) => Outcome::Detected,
    };
    (outcome, Some(verdict))
}
