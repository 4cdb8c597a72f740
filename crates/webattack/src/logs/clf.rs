//! Common and Combined Log Format: `host ident user [time] "request" status bytes ["referer"
//! "user-agent"]`, with Apache's `\"` and nginx's `\x22` escapes inside quoted fields.

use bytes::Bytes;

use super::{LogError, LogRecord, split_request_line};
use crate::request::InspectRequest;

/// Returns the next space-delimited field and the rest.
fn field(s: &[u8]) -> Option<(&[u8], &[u8])> {
    let i = memchr::memchr(b' ', s)?;
    Some((&s[..i], &s[i + 1..]))
}

/// Returns the content of a quoted field starting at `s[0] == '"'` and the rest after it.
fn quoted(s: &[u8]) -> Option<(&[u8], &[u8])> {
    if s.first() != Some(&b'"') {
        return None;
    }
    let body = &s[1..];
    let mut from = 0;
    loop {
        let i = from + memchr::memchr(b'"', &body[from..])?;
        let backslashes = body[..i].iter().rev().take_while(|&&b| b == b'\\').count();
        if backslashes % 2 == 0 {
            let rest = body.get(i + 1..).unwrap_or(b"");
            return Some((&body[..i], rest.strip_prefix(b" ").unwrap_or(rest)));
        }
        from = i + 1;
    }
}

/// Undoes `\"`, `\\` and `\xHH` escapes of Apache and nginx.
fn unescape(s: &[u8]) -> String {
    if memchr::memchr(b'\\', s).is_none() {
        return String::from_utf8_lossy(s).into_owned();
    }
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'\\' && i + 1 < s.len() {
            match s[i + 1] {
                b'x' if i + 3 < s.len() => {
                    let hex = std::str::from_utf8(&s[i + 2..i + 4])
                        .ok()
                        .and_then(|h| u8::from_str_radix(h, 16).ok());
                    if let Some(b) = hex {
                        out.push(b);
                        i += 4;
                        continue;
                    }
                }
                b'"' | b'\\' => {
                    out.push(s[i + 1]);
                    i += 2;
                    continue;
                }
                _ => {}
            }
        }
        out.push(s[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn text(s: &[u8]) -> String {
    String::from_utf8_lossy(s).into_owned()
}

/// Parses one Common or Combined Log Format line.
pub fn parse_clf(line: &[u8]) -> Result<LogRecord, LogError> {
    let (host, rest) = field(line).ok_or(LogError::Malformed("client address"))?;
    let (_ident, rest) = field(rest).ok_or(LogError::Malformed("ident"))?;
    // The user field may contain spaces only in broken logs; the time is bracketed.
    let open = memchr::memchr(b'[', rest).ok_or(LogError::Malformed("time"))?;
    let close = open + memchr::memchr(b']', &rest[open..]).ok_or(LogError::Malformed("time"))?;
    let time = &rest[open + 1..close];
    let rest = rest.get(close + 1..).unwrap_or(b"");
    let rest = rest.strip_prefix(b" ").unwrap_or(rest);
    let (request_line, rest) = quoted(rest).ok_or(LogError::Malformed("request line"))?;
    let (status, rest) = match field(rest) {
        Some(x) => x,
        None => (rest, &b""[..]),
    };
    let (bytes, rest) = match field(rest) {
        Some(x) => x,
        None => (rest, &b""[..]),
    };
    let (method, uri, http_version) =
        split_request_line(&unescape(request_line)).ok_or(LogError::Malformed("request line"))?;
    let mut headers = Vec::new();
    if let Some((referer, rest)) = quoted(rest) {
        if referer != b"-" && !referer.is_empty() {
            headers.push(("Referer".to_owned(), unescape(referer)));
        }
        if let Some((ua, _)) = quoted(rest)
            && ua != b"-"
            && !ua.is_empty()
        {
            headers.push(("User-Agent".to_owned(), unescape(ua)));
        }
    }
    Ok(LogRecord {
        request: InspectRequest {
            method,
            uri,
            http_version,
            headers,
            body: Bytes::new(),
            partial: true,
        },
        client_ip: text(host),
        status: std::str::from_utf8(status)
            .ok()
            .and_then(|s| s.parse().ok()),
        time: text(time),
        bytes: std::str::from_utf8(bytes).ok().and_then(|s| s.parse().ok()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combined_line() {
        let line = br#"203.0.113.9 - - [10/Oct/2024:13:55:36 +0000] "GET /search?q=%27+or+1%3D1 HTTP/1.1" 200 512 "https://shop.example/" "Mozilla/5.0 \"quoted\"""#;
        let r = parse_clf(line).expect("valid line");
        assert_eq!(r.client_ip, "203.0.113.9");
        assert_eq!(r.time, "10/Oct/2024:13:55:36 +0000");
        assert_eq!(r.status, Some(200));
        assert_eq!(r.bytes, Some(512));
        assert_eq!(r.request.method, "GET");
        assert_eq!(r.request.uri, "/search?q=%27+or+1%3D1");
        assert_eq!(r.request.http_version, "HTTP/1.1");
        assert_eq!(r.request.header("referer"), Some("https://shop.example/"));
        assert_eq!(
            r.request.header("user-agent"),
            Some("Mozilla/5.0 \"quoted\"")
        );
        assert!(r.request.partial);
    }

    #[test]
    fn nginx_hex_escapes_and_dash_bytes() {
        let line =
            br#"::1 - bob [01/Jan/2025:00:00:00 +0100] "GET /\x22x HTTP/2.0" 404 - "-" "a\x22b""#;
        let r = parse_clf(line).expect("valid line");
        assert_eq!(r.request.uri, "/\"x");
        assert_eq!(r.bytes, None);
        assert_eq!(r.request.header("user-agent"), Some("a\"b"));
        assert_eq!(r.request.header("referer"), None);
    }

    #[test]
    fn common_line() {
        let r = parse_clf(br#"127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326"#)
            .expect("valid line");
        assert_eq!(r.request.uri, "/apache_pb.gif");
        assert!(r.request.headers.is_empty());
    }

    #[test]
    fn malformed_lines_are_errors() {
        for (line, what) in [
            (&b"nospace"[..], "client address"),
            (b"1.2.3.4 - - no time here", "time"),
            (b"1.2.3.4 - - [t] GET / 200", "request line"),
            (b"1.2.3.4 - - [t] \"-\" 400 0", "request line"),
            (b"1.2.3.4 - - [t] \"GET /unterminated", "request line"),
        ] {
            assert_eq!(
                parse_clf(line),
                Err(LogError::Malformed(what)),
                "{}",
                String::from_utf8_lossy(line)
            );
        }
    }
}
