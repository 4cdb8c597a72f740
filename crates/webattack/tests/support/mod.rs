//! Shared evaluation helpers: locating the outside corpora, replaying CRS regression tests the
//! way go-ftw shapes them, and the libinjection sample files.
//!
//! Used by the integration tests and by `examples/evaluate.rs` (through `#[path]`).

#![allow(dead_code)] // each user needs a different subset

pub mod benign;
pub mod ftw;

use std::path::PathBuf;

use ensuresec_webattack::InspectRequest;

/// Root of `shared/corpora`, or `None` (with a printed skip message) when it is absent.
/// Under `CI=true` an absent corpus is a failure, not a skip.
pub fn corpus(sub: &str) -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/corpora")
        .join(sub);
    if dir.is_dir() {
        return Some(dir);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("corpus {} is missing and CI=true", dir.display());
    }
    eprintln!(
        "SKIP: corpus {} is absent (it lives in shared/, beside the project)",
        dir.display()
    );
    None
}

/// Percent-encodes everything but unreserved characters (as a form would).
pub fn form_encode(s: &[u8]) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for &b in s {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else if b == b' ' {
            out.push('+');
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A browser-like POST carrying `payload` as the value of form field `q`.
pub fn form_post(payload: &[u8]) -> InspectRequest {
    let body = format!("q={}", form_encode(payload));
    InspectRequest {
        method: "POST".into(),
        uri: "/search".into(),
        http_version: "HTTP/1.1".into(),
        headers: vec![
            ("Host".into(), "shop.example".into()),
            (
                "User-Agent".into(),
                "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0".into(),
            ),
            (
                "Accept".into(),
                "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8".into(),
            ),
            (
                "Content-Type".into(),
                "application/x-www-form-urlencoded".into(),
            ),
            ("Content-Length".into(), body.len().to_string()),
        ],
        body: body.into_bytes().into(),
        partial: false,
    }
}

/// Lines of a libinjection sample file (comments and blank lines skipped).
pub fn sample_lines(path: &std::path::Path) -> Vec<Vec<u8>> {
    let Ok(data) = std::fs::read(path) else {
        return Vec::new();
    };
    data.split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .filter(|l| !l.is_empty() && !l.starts_with(b"#"))
        .map(<[u8]>::to_vec)
        .collect()
}
