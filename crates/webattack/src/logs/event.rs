//! From a parsed access-log record to a platform event (`http_request`), for the live log tail.

use std::collections::BTreeMap;
use std::net::IpAddr;

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use ensuresec_model::event::HttpRequest;
use ensuresec_model::{Event, EventData};

use super::{LogError, LogRecord};

/// Label put on events rebuilt from access logs: their header set is partial (see
/// [`crate::InspectRequest::partial`]), whatever headers the log kept.
pub const PARTIAL_LABEL: (&str, &str) = ("headers", "partial");

/// Longest body kept in an event.
const MAX_EVENT_BODY: usize = 16 * 1024;

/// Reads a logged time: Common Log Format (`10/Oct/2024:13:55:36 +0000`), RFC 3339
/// (`2024-10-10T13:55:36Z`, nginx `$time_iso8601`), or Unix seconds (Caddy's `ts`, fractions
/// allowed). `None` when it is none of these.
#[must_use]
pub fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    let t = text.trim();
    if let Ok(d) = DateTime::parse_from_str(t, "%d/%b/%Y:%H:%M:%S %z") {
        return Some(d.with_timezone(&Utc));
    }
    if let Ok(d) = DateTime::parse_from_rfc3339(t) {
        return Some(d.with_timezone(&Utc));
    }
    if let Ok(d) = NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S") {
        return Some(Utc.from_utc_datetime(&d));
    }
    let secs: f64 = t
        .parse()
        .ok()
        .filter(|s: &f64| s.is_finite() && *s >= 0.0)?;
    // Milliseconds since the epoch are common too (13 digits).
    let secs = if secs > 1e11 { secs / 1000.0 } else { secs };
    let whole = secs.trunc() as i64;
    let nanos = ((secs - secs.trunc()) * 1e9) as u32;
    Utc.timestamp_opt(whole, nanos).single()
}

/// Turns a log record into an `http_request` event from `source`, labelled
/// [`PARTIAL_LABEL`]. The record's own time is used when it parses; `fallback` otherwise.
///
/// Fails with [`LogError::Malformed`] when the client address is not an IP address.
pub fn to_event(rec: &LogRecord, source: &str, fallback: DateTime<Utc>) -> Result<Event, LogError> {
    let client_ip: IpAddr = rec
        .client_ip
        .trim()
        .parse()
        .map_err(|_| LogError::Malformed("client address"))?;
    let req = &rec.request;
    let (path, query) = match req.uri.split_once('?') {
        Some((p, q)) => (p.to_owned(), Some(q.to_owned())),
        None => (req.uri.clone(), None),
    };
    let mut host = None;
    let mut user_agent = None;
    let mut referer = None;
    let mut headers = Vec::new();
    for (name, value) in &req.headers {
        let slot = if name.eq_ignore_ascii_case("host") {
            &mut host
        } else if name.eq_ignore_ascii_case("user-agent") {
            &mut user_agent
        } else if name.eq_ignore_ascii_case("referer") {
            &mut referer
        } else {
            headers.push((name.clone(), value.clone()));
            continue;
        };
        if slot.is_none() {
            *slot = Some(value.clone());
        } else {
            headers.push((name.clone(), value.clone()));
        }
    }
    let body = (!req.body.is_empty()).then(|| {
        let b = &req.body[..req.body.len().min(MAX_EVENT_BODY)];
        String::from_utf8_lossy(b).into_owned()
    });
    let mut labels = BTreeMap::new();
    labels.insert(PARTIAL_LABEL.0.to_owned(), PARTIAL_LABEL.1.to_owned());
    Ok(Event {
        time: parse_time(&rec.time).unwrap_or(fallback),
        ingest_time: None,
        source: source.to_owned(),
        labels,
        data: EventData::HttpRequest(HttpRequest {
            client_ip,
            method: req.method.clone(),
            host,
            path,
            query,
            http_version: Some(req.http_version.clone()),
            status: rec.status,
            user_agent,
            referer,
            headers,
            body,
            bytes_sent: rec.bytes,
            duration_ms: None,
            session: None,
            account: None,
            device: None,
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::{LogFormat, parse_line};

    #[test]
    fn times_in_every_logged_form() {
        let want = Utc
            .with_ymd_and_hms(2024, 10, 10, 13, 55, 36)
            .single()
            .expect("valid");
        for t in [
            "10/Oct/2024:13:55:36 +0000",
            "10/Oct/2024:15:55:36 +0200",
            "2024-10-10T13:55:36Z",
            "2024-10-10T13:55:36+00:00",
            "2024-10-10 13:55:36",
            "1728568536",
            "1728568536.000",
            "1728568536000",
        ] {
            assert_eq!(parse_time(t), Some(want), "{t}");
        }
        for t in ["", "-", "yesterday", "NaN", "-5", "inf"] {
            assert_eq!(parse_time(t), None, "{t}");
        }
    }

    #[test]
    fn a_combined_line_becomes_a_partial_http_event() {
        let line = br#"203.0.113.9 - - [10/Oct/2024:13:55:36 +0000] "GET /search?q=x HTTP/1.1" 404 12 "https://shop.example/" "curl/8""#;
        let rec = parse_line(LogFormat::Combined, line).expect("valid");
        let fallback = Utc.timestamp_opt(0, 0).single().expect("epoch");
        let e = to_event(&rec, "access.log", fallback).expect("valid address");
        assert_eq!(e.source, "access.log");
        assert_eq!(e.labels.get("headers").map(String::as_str), Some("partial"));
        assert_eq!(parse_time("10/Oct/2024:13:55:36 +0000"), Some(e.time));
        let EventData::HttpRequest(r) = e.data else {
            panic!("not an http event")
        };
        assert_eq!(r.path, "/search");
        assert_eq!(r.query.as_deref(), Some("q=x"));
        assert_eq!(r.status, Some(404));
        assert_eq!(r.user_agent.as_deref(), Some("curl/8"));
        assert_eq!(r.referer.as_deref(), Some("https://shop.example/"));
        assert!(r.headers.is_empty());

        let mut bad = rec.clone();
        bad.client_ip = "unknown".into();
        assert_eq!(
            to_event(&bad, "x", fallback),
            Err(LogError::Malformed("client address"))
        );
        bad.client_ip = "::1".into();
        bad.time = "garbage".into();
        assert_eq!(to_event(&bad, "x", fallback).map(|e| e.time), Ok(fallback));
    }
}
