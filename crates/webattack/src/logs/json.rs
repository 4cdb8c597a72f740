//! JSON access logs: nginx `escape=json` formats keyed by nginx variable names, Caddy's
//! structured access log, and generic JSON lines read through common key names.

use bytes::Bytes;
use serde_json::{Map, Value};

use super::{LogError, LogFormat, LogRecord, split_request_line};
use crate::request::InspectRequest;

/// Most headers taken from one JSON record.
const MAX_HEADERS: usize = 64;

pub(super) fn detect(line: &[u8]) -> LogFormat {
    let Ok(Value::Object(m)) = serde_json::from_slice::<Value>(line) else {
        return LogFormat::JsonLines;
    };
    if m.get("request").is_some_and(Value::is_object)
        && (m.contains_key("logger") || m.contains_key("ts") || m.contains_key("duration"))
    {
        LogFormat::CaddyJson
    } else if m.contains_key("remote_addr") || m.get("request").is_some_and(Value::is_string) {
        LogFormat::NginxJson
    } else {
        LogFormat::JsonLines
    }
}

fn as_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn first<'a>(m: &'a Map<String, Value>, keys: &[&str]) -> Option<&'a Value> {
    keys.iter().find_map(|k| m.get(*k)).filter(|v| !v.is_null())
}

fn text_of(m: &Map<String, Value>, keys: &[&str]) -> Option<String> {
    first(m, keys)
        .and_then(as_text)
        .filter(|s| !s.is_empty() && s != "-")
}

fn headers_from(v: &Value, out: &mut Vec<(String, String)>) {
    let Value::Object(h) = v else { return };
    for (k, v) in h {
        if out.len() >= MAX_HEADERS {
            return;
        }
        match v {
            // Caddy logs header values as arrays.
            Value::Array(vals) => {
                for s in vals.iter().filter_map(as_text) {
                    out.push((k.clone(), s));
                }
            }
            other => {
                if let Some(s) = as_text(other) {
                    out.push((k.clone(), s));
                }
            }
        }
    }
}

/// Parses one JSON access-log line of any supported flavour.
pub fn parse_json_line(line: &[u8]) -> Result<LogRecord, LogError> {
    let root: Map<String, Value> = match serde_json::from_slice::<Value>(line) {
        Ok(Value::Object(m)) => m,
        Ok(_) => return Err(LogError::Malformed("json line is not an object")),
        Err(_) => return Err(LogError::Malformed("json syntax")),
    };
    // Caddy nests the request; others are flat.
    let (req, outer) = match root.get("request") {
        Some(Value::Object(r)) => (r, &root),
        _ => (&root, &root),
    };
    let mut headers = Vec::new();
    if let Some(h) = first(req, &["headers", "request_headers"]) {
        headers_from(h, &mut headers);
    }
    for (keys, name) in [
        (
            &["http_user_agent", "user_agent", "useragent", "ua"][..],
            "User-Agent",
        ),
        (&["http_referer", "referer", "referrer"][..], "Referer"),
        (
            &["http_x_forwarded_for", "x_forwarded_for"][..],
            "X-Forwarded-For",
        ),
        (&["http_cookie", "cookie"][..], "Cookie"),
        (&["host", "http_host", "server_name"][..], "Host"),
        (&["content_type", "http_content_type"][..], "Content-Type"),
    ] {
        if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case(name))
            && let Some(v) = text_of(req, keys).or_else(|| text_of(outer, keys))
        {
            headers.push((name.to_owned(), v));
        }
    }
    let (method, uri, http_version) = match text_of(req, &["request_line"]).or_else(|| {
        req.get("request")
            .and_then(as_text)
            .filter(|s| s.contains(' '))
    }) {
        Some(rl) => split_request_line(&rl).ok_or(LogError::Malformed("request line"))?,
        None => {
            let method = text_of(req, &["method", "request_method", "verb"])
                .ok_or(LogError::Malformed("method"))?;
            let mut uri = text_of(req, &["uri", "request_uri", "url", "path", "request_path"])
                .ok_or(LogError::Malformed("uri"))?;
            if let Some(q) = text_of(req, &["query", "query_string", "args"])
                && !uri.contains('?')
            {
                uri = format!("{uri}?{q}");
            }
            let version = text_of(
                req,
                &["proto", "server_protocol", "protocol", "http_version"],
            )
            .unwrap_or_else(|| "HTTP/1.1".to_owned());
            (method, uri, version)
        }
    };
    let body = text_of(req, &["request_body", "body"])
        .map(|b| Bytes::from(b.into_bytes()))
        .unwrap_or_default();
    let status = first(outer, &["status", "status_code", "response_status"])
        .and_then(as_text)
        .and_then(|s| s.parse().ok());
    let bytes = first(
        outer,
        &[
            "body_bytes_sent",
            "bytes_sent",
            "size",
            "bytes",
            "response_size",
        ],
    )
    .and_then(as_text)
    .and_then(|s| s.parse().ok());
    Ok(LogRecord {
        request: InspectRequest {
            method,
            uri,
            http_version,
            headers,
            body,
            partial: true,
        },
        client_ip: text_of(
            req,
            &[
                "remote_ip",
                "client_ip",
                "remote_addr",
                "ip",
                "clientip",
                "client",
            ],
        )
        .or_else(|| text_of(outer, &["remote_addr", "client_ip", "ip"]))
        .unwrap_or_default(),
        status,
        time: text_of(
            outer,
            &[
                "time_iso8601",
                "time_local",
                "time",
                "ts",
                "timestamp",
                "@timestamp",
            ],
        )
        .unwrap_or_default(),
        bytes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nginx_json() {
        let line = br#"{"time_iso8601":"2025-01-01T00:00:00+00:00","remote_addr":"198.51.100.7","request":"POST /cart?x=1 HTTP/1.1","status":"302","body_bytes_sent":"0","http_referer":"","http_user_agent":"Mozilla/5.0","request_body":"qty=-1"}"#;
        let r = parse_json_line(line).expect("valid");
        assert_eq!(
            (r.request.method.as_str(), r.request.uri.as_str()),
            ("POST", "/cart?x=1")
        );
        assert_eq!(r.client_ip, "198.51.100.7");
        assert_eq!(r.status, Some(302));
        assert_eq!(r.bytes, Some(0));
        assert_eq!(r.time, "2025-01-01T00:00:00+00:00");
        assert_eq!(r.request.header("user-agent"), Some("Mozilla/5.0"));
        assert_eq!(r.request.header("referer"), None);
        assert_eq!(&r.request.body[..], b"qty=-1");
    }

    #[test]
    fn caddy_json() {
        let line = br#"{"level":"info","ts":1700000000.5,"logger":"http.log.access","msg":"handled request","request":{"remote_ip":"192.0.2.1","remote_port":"5555","proto":"HTTP/2.0","method":"GET","host":"shop.example","uri":"/p?id=1","headers":{"User-Agent":["curl/8"],"Accept":["*/*"]}},"status":200,"size":42}"#;
        let r = parse_json_line(line).expect("valid");
        assert_eq!(r.request.uri, "/p?id=1");
        assert_eq!(r.request.http_version, "HTTP/2.0");
        assert_eq!(r.client_ip, "192.0.2.1");
        assert_eq!(r.status, Some(200));
        assert_eq!(r.bytes, Some(42));
        assert_eq!(r.time, "1700000000.5");
        assert_eq!(r.request.header("accept"), Some("*/*"));
        assert_eq!(r.request.header("host"), Some("shop.example"));
    }

    #[test]
    fn generic_json_lines() {
        let r = parse_json_line(
            br#"{"method":"GET","path":"/a","query":"b=1","ip":"10.0.0.1","status_code":404}"#,
        )
        .expect("valid");
        assert_eq!(r.request.uri, "/a?b=1");
        assert_eq!(r.status, Some(404));
        assert_eq!(r.client_ip, "10.0.0.1");
    }

    #[test]
    fn bad_json_is_an_error() {
        assert_eq!(
            parse_json_line(b"{"),
            Err(LogError::Malformed("json syntax"))
        );
        assert_eq!(
            parse_json_line(b"[1]"),
            Err(LogError::Malformed("json line is not an object"))
        );
        assert_eq!(
            parse_json_line(br#"{"status":200}"#),
            Err(LogError::Malformed("method"))
        );
    }
}
