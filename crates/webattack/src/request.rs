//! The request the engine inspects, and its parsing into named, bounded targets.
//!
//! Parsing is where hostile input first meets the engine, so every collection here is bounded by
//! [`Limits`] and every limit hit, like every malformed encoding, becomes a [`ParseAnomaly`]: it is
//! reported in the verdict and exposed to rules through the `anomaly` target, never dropped.

use bytes::Bytes;

use crate::body;
use crate::transform::url::{decode_once, is_valid_url_encoding};

/// One HTTP request as seen by a gateway or rebuilt from an access log.
///
/// The engine owns no socket: callers build this from whatever they have. Header names keep their
/// case; lookups are case-insensitive.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InspectRequest {
    /// Request method as sent (`GET`, `POST`, ...).
    pub method: String,
    /// Request target as sent: path plus optional `?query`, still percent-encoded.
    pub uri: String,
    /// Protocol version as sent, e.g. `HTTP/1.1`.
    pub http_version: String,
    /// Headers in arrival order; names may repeat.
    pub headers: Vec<(String, String)>,
    /// Raw body bytes (possibly empty).
    pub body: Bytes,
    /// True when the request was rebuilt from an access log, which keeps only some headers and
    /// no body: checks that need the full header set (missing Host, POST without length, ...)
    /// are then skipped instead of firing on every request.
    pub partial: bool,
}

impl InspectRequest {
    /// A body-less request, the common case for access logs.
    #[must_use]
    pub fn get(uri: impl Into<String>) -> Self {
        Self {
            method: "GET".to_owned(),
            uri: uri.into(),
            http_version: "HTTP/1.1".to_owned(),
            headers: Vec::new(),
            body: Bytes::new(),
            partial: false,
        }
    }

    /// First value of header `name` (case-insensitive), because most rules care about one.
    #[must_use]
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Bounds on what parsing will extract from one request; exceeding any is a [`ParseAnomaly`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Maximum number of arguments (query + body) kept.
    pub max_args: usize,
    /// Maximum number of headers kept.
    pub max_headers: usize,
    /// Maximum number of cookies kept.
    pub max_cookies: usize,
    /// Maximum body bytes parsed and inspected; the rest is ignored.
    pub max_body_bytes: usize,
    /// Maximum JSON nesting depth followed.
    pub max_json_depth: usize,
    /// Maximum multipart parts parsed.
    pub max_multipart_parts: usize,
    /// Maximum bytes of any single target value inspected; longer values are truncated.
    pub max_value_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_args: 255,
            max_headers: 100,
            max_cookies: 100,
            max_body_bytes: 128 * 1024,
            max_json_depth: 16,
            max_multipart_parts: 64,
            max_value_bytes: 16 * 1024,
        }
    }
}

/// Something odd found while parsing: a limit hit or a malformed encoding.
///
/// Anomalies are themselves a detection signal (evasion often relies on parser differentials), so
/// they are exposed to rules as the values of the `anomaly` target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ParseAnomaly {
    /// More arguments than [`Limits::max_args`].
    TooManyArgs,
    /// More headers than [`Limits::max_headers`].
    TooManyHeaders,
    /// More cookies than [`Limits::max_cookies`].
    TooManyCookies,
    /// Body longer than [`Limits::max_body_bytes`]; only the head was inspected.
    BodyTooLarge,
    /// JSON nested deeper than [`Limits::max_json_depth`].
    JsonTooDeep,
    /// More multipart parts than [`Limits::max_multipart_parts`].
    TooManyParts,
    /// A value longer than [`Limits::max_value_bytes`] was truncated.
    ValueTruncated,
    /// A `%` not followed by two hex digits in the URI or a urlencoded body.
    InvalidUrlEncoding,
    /// The body claimed to be JSON but did not parse.
    MalformedJson,
    /// The multipart body is malformed (missing boundary, unterminated part, bad headers).
    MalformedMultipart,
    /// `Content-Length` disagrees with the body or is not a number.
    BadContentLength,
    /// A GET or HEAD request carries a body.
    BodyOnGet,
    /// An HTTP/1 POST has neither `Content-Length` nor `Transfer-Encoding`.
    PostWithoutLength,
    /// Both `Content-Length` and `Transfer-Encoding` are present (a request-smuggling hint).
    LengthAndChunked,
}

impl ParseAnomaly {
    /// Stable snake_case name, the value rules match against.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::TooManyArgs => "too_many_args",
            Self::TooManyHeaders => "too_many_headers",
            Self::TooManyCookies => "too_many_cookies",
            Self::BodyTooLarge => "body_too_large",
            Self::JsonTooDeep => "json_too_deep",
            Self::TooManyParts => "too_many_parts",
            Self::ValueTruncated => "value_truncated",
            Self::InvalidUrlEncoding => "invalid_url_encoding",
            Self::MalformedJson => "malformed_json",
            Self::MalformedMultipart => "malformed_multipart",
            Self::BadContentLength => "bad_content_length",
            Self::BodyOnGet => "body_on_get",
            Self::PostWithoutLength => "post_without_length",
            Self::LengthAndChunked => "length_and_chunked",
        }
    }
}

/// The part of a request a value came from; rules select values by target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Target {
    /// The method.
    Method,
    /// The raw request target (path and query, undecoded).
    Uri,
    /// The path, percent-decoded once.
    Path,
    /// The last path segment, percent-decoded once.
    Basename,
    /// The raw query string (after `?`, undecoded).
    Query,
    /// Argument names (query and body), decoded once.
    ArgName,
    /// Argument values (query and body), decoded once.
    Arg,
    /// Header names.
    HeaderName,
    /// Header values.
    Header,
    /// Cookie names.
    CookieName,
    /// Cookie values.
    Cookie,
    /// The raw body, bounded by [`Limits::max_body_bytes`].
    Body,
    /// File names of multipart uploads.
    Filename,
    /// The protocol version.
    Protocol,
    /// Names of [`ParseAnomaly`] hits.
    Anomaly,
    /// Headers of multipart body parts (field name = header name, lowercase).
    PartHeader,
    /// Form field names of multipart file uploads.
    FileField,
}

impl Target {
    /// All targets, in bit order.
    pub const ALL: [Target; 17] = [
        Self::Method,
        Self::Uri,
        Self::Path,
        Self::Basename,
        Self::Query,
        Self::ArgName,
        Self::Arg,
        Self::HeaderName,
        Self::Header,
        Self::CookieName,
        Self::Cookie,
        Self::Body,
        Self::Filename,
        Self::Protocol,
        Self::Anomaly,
        Self::PartHeader,
        Self::FileField,
    ];

    /// Name used in rule files.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Method => "method",
            Self::Uri => "uri",
            Self::Path => "path",
            Self::Basename => "basename",
            Self::Query => "query",
            Self::ArgName => "arg_names",
            Self::Arg => "args",
            Self::HeaderName => "header_names",
            Self::Header => "headers",
            Self::CookieName => "cookie_names",
            Self::Cookie => "cookies",
            Self::Body => "body",
            Self::Filename => "filenames",
            Self::Protocol => "protocol",
            Self::Anomaly => "anomaly",
            Self::PartHeader => "part_headers",
            Self::FileField => "file_fields",
        }
    }

    /// Inverse of [`Target::name`].
    #[must_use]
    pub fn from_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.name() == s)
    }

    /// Bit of this target in a target mask.
    #[must_use]
    pub fn bit(self) -> u32 {
        1 << (self as u32)
    }
}

/// One value extracted from a request, ready for transforms and operators.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// Where it came from.
    pub target: Target,
    /// Argument, header or cookie name (empty for targets without names).
    pub name: String,
    /// The value bytes.
    pub value: Vec<u8>,
}

/// A request split into fields, plus what went wrong while splitting it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParsedRequest {
    /// Extracted fields in request order.
    pub fields: Vec<Field>,
    /// Anomalies met, each at most once, in first-seen order.
    pub anomalies: Vec<ParseAnomaly>,
    /// Copied from [`InspectRequest::partial`].
    pub partial: bool,
}

impl ParsedRequest {
    /// Records an anomaly once.
    pub(crate) fn anomaly(&mut self, a: ParseAnomaly) {
        if !self.anomalies.contains(&a) {
            self.anomalies.push(a);
        }
    }

    /// Whether any field of `target` named `name` (case-insensitive) exists.
    #[must_use]
    pub fn has(&self, target: Target, name: &str) -> bool {
        self.fields
            .iter()
            .any(|f| f.target == target && f.name.eq_ignore_ascii_case(name))
    }
}

/// Builds fields while enforcing [`Limits`].
pub(crate) struct FieldSink<'l> {
    pub(crate) out: ParsedRequest,
    pub(crate) limits: &'l Limits,
    args: usize,
}

impl<'l> FieldSink<'l> {
    fn new(limits: &'l Limits) -> Self {
        Self {
            out: ParsedRequest::default(),
            limits,
            args: 0,
        }
    }

    fn clip(&mut self, mut v: Vec<u8>) -> Vec<u8> {
        if v.len() > self.limits.max_value_bytes {
            v.truncate(self.limits.max_value_bytes);
            self.out.anomaly(ParseAnomaly::ValueTruncated);
        }
        v
    }

    /// Pushes a field without counting it against `max_args`.
    pub(crate) fn push(&mut self, target: Target, name: &str, value: Vec<u8>) {
        let value = self.clip(value);
        self.out.fields.push(Field {
            target,
            name: name.to_owned(),
            value,
        });
    }

    /// Pushes an argument name/value pair; returns false once `max_args` is reached.
    pub(crate) fn arg(&mut self, name: Vec<u8>, value: Vec<u8>) -> bool {
        if self.args >= self.limits.max_args {
            self.out.anomaly(ParseAnomaly::TooManyArgs);
            return false;
        }
        self.args += 1;
        let name_s = String::from_utf8_lossy(&name).into_owned();
        let name = self.clip(name);
        self.out.fields.push(Field {
            target: Target::ArgName,
            name: name_s.clone(),
            value: name,
        });
        let value = self.clip(value);
        self.out.fields.push(Field {
            target: Target::Arg,
            name: name_s,
            value,
        });
        true
    }

    pub(crate) fn anomaly(&mut self, a: ParseAnomaly) {
        self.out.anomaly(a);
    }
}

/// Splits `application/x-www-form-urlencoded` data (a query string or a body) into arguments.
pub(crate) fn parse_urlencoded(data: &[u8], sink: &mut FieldSink<'_>) {
    if !is_valid_url_encoding(data) {
        sink.anomaly(ParseAnomaly::InvalidUrlEncoding);
    }
    for pair in data.split(|&b| b == b'&') {
        if pair.is_empty() {
            continue;
        }
        let (name, value) = match memchr::memchr(b'=', pair) {
            Some(i) => (&pair[..i], &pair[i + 1..]),
            None => (pair, &b""[..]),
        };
        if !sink.arg(decode_once(name, true), decode_once(value, true)) {
            break;
        }
    }
}

/// Parses a request into fields, bounded by `limits`. Never fails: oddities become anomalies.
#[must_use]
pub fn parse(req: &InspectRequest, limits: &Limits) -> ParsedRequest {
    let mut sink = FieldSink::new(limits);
    sink.out.partial = req.partial;
    sink.push(Target::Method, "", req.method.as_bytes().to_vec());
    sink.push(Target::Protocol, "", req.http_version.as_bytes().to_vec());
    sink.push(Target::Uri, "", req.uri.as_bytes().to_vec());

    let uri = req.uri.as_bytes();
    let (path, query) = match memchr::memchr(b'?', uri) {
        Some(i) => (&uri[..i], Some(&uri[i + 1..])),
        None => (uri, None),
    };
    // Strip a fragment, which a browser never sends but a raw client may.
    let path = match memchr::memchr(b'#', path) {
        Some(i) => &path[..i],
        None => path,
    };
    if !is_valid_url_encoding(path) {
        sink.anomaly(ParseAnomaly::InvalidUrlEncoding);
    }
    let decoded_path = decode_once(path, false);
    let base = match memchr::memrchr(b'/', &decoded_path) {
        Some(i) => decoded_path[i + 1..].to_vec(),
        None => decoded_path.clone(),
    };
    sink.push(Target::Path, "", decoded_path);
    sink.push(Target::Basename, "", base);
    if let Some(q) = query {
        sink.push(Target::Query, "", q.to_vec());
        parse_urlencoded(q, &mut sink);
    }

    for (i, (name, value)) in req.headers.iter().enumerate() {
        if i >= limits.max_headers {
            sink.anomaly(ParseAnomaly::TooManyHeaders);
            break;
        }
        sink.push(Target::HeaderName, name, name.as_bytes().to_vec());
        sink.push(Target::Header, name, value.as_bytes().to_vec());
        if name.eq_ignore_ascii_case("cookie") {
            parse_cookies(value, &mut sink);
        }
    }

    if !req.partial {
        check_framing(req, &mut sink);
    }
    if !req.body.is_empty() {
        let body = if req.body.len() > limits.max_body_bytes {
            sink.anomaly(ParseAnomaly::BodyTooLarge);
            &req.body[..limits.max_body_bytes]
        } else {
            &req.body[..]
        };
        sink.push(Target::Body, "", body.to_vec());
        body::parse_body(req.header("content-type").unwrap_or(""), body, &mut sink);
    }
    for a in sink.out.anomalies.clone() {
        sink.out.fields.push(Field {
            target: Target::Anomaly,
            name: String::new(),
            value: a.name().as_bytes().to_vec(),
        });
    }
    sink.out
}

fn check_framing(req: &InspectRequest, sink: &mut FieldSink<'_>) {
    let cl = req.header("content-length");
    let te = req.header("transfer-encoding");
    if let Some(v) = cl {
        match v.trim().parse::<usize>() {
            Ok(n) if n == req.body.len() => {}
            _ => sink.anomaly(ParseAnomaly::BadContentLength),
        }
        if te.is_some() {
            sink.anomaly(ParseAnomaly::LengthAndChunked);
        }
    }
    let method = req.method.to_ascii_uppercase();
    let declared = cl.and_then(|v| v.trim().parse::<usize>().ok()).unwrap_or(0);
    if (method == "GET" || method == "HEAD") && (!req.body.is_empty() || declared > 0) {
        sink.anomaly(ParseAnomaly::BodyOnGet);
    }
    if method == "POST" && req.http_version.starts_with("HTTP/1") && cl.is_none() && te.is_none() {
        sink.anomaly(ParseAnomaly::PostWithoutLength);
    }
}

fn parse_cookies(header: &str, sink: &mut FieldSink<'_>) {
    let mut n = sink
        .out
        .fields
        .iter()
        .filter(|f| f.target == Target::CookieName)
        .count();
    for part in header.split(';') {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        if n >= sink.limits.max_cookies {
            sink.anomaly(ParseAnomaly::TooManyCookies);
            return;
        }
        n += 1;
        let (name, value) = part.split_once('=').unwrap_or((part, ""));
        sink.push(Target::CookieName, name, name.as_bytes().to_vec());
        sink.push(Target::Cookie, name, value.as_bytes().to_vec());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(p: &ParsedRequest, t: Target) -> Vec<(String, String)> {
        p.fields
            .iter()
            .filter(|f| f.target == t)
            .map(|f| {
                (
                    f.name.clone(),
                    String::from_utf8_lossy(&f.value).into_owned(),
                )
            })
            .collect()
    }

    #[test]
    fn query_args_are_decoded_once() {
        let p = parse(
            &InspectRequest::get("/a%20b/c.php?x=1%2527&y=a+b&z"),
            &Limits::default(),
        );
        assert_eq!(
            values(&p, Target::Arg),
            vec![
                ("x".into(), "1%27".into()),
                ("y".into(), "a b".into()),
                ("z".into(), String::new())
            ]
        );
        assert_eq!(
            values(&p, Target::Path),
            vec![(String::new(), "/a b/c.php".into())]
        );
        assert_eq!(
            values(&p, Target::Basename),
            vec![(String::new(), "c.php".into())]
        );
        assert!(p.anomalies.is_empty());
    }

    #[test]
    fn cookies_are_split() {
        let mut r = InspectRequest::get("/");
        r.headers.push(("Cookie".into(), "a=1; b=two=2;c".into()));
        let p = parse(&r, &Limits::default());
        assert_eq!(
            values(&p, Target::Cookie),
            vec![
                ("a".into(), "1".into()),
                ("b".into(), "two=2".into()),
                ("c".into(), String::new())
            ]
        );
    }

    #[test]
    fn arg_limit_is_reported() {
        let limits = Limits {
            max_args: 2,
            ..Limits::default()
        };
        let p = parse(&InspectRequest::get("/?a=1&b=2&c=3"), &limits);
        assert_eq!(values(&p, Target::Arg).len(), 2);
        assert_eq!(p.anomalies, vec![ParseAnomaly::TooManyArgs]);
        assert_eq!(
            values(&p, Target::Anomaly),
            vec![(String::new(), "too_many_args".into())]
        );
    }

    #[test]
    fn body_limit_is_reported() {
        let limits = Limits {
            max_body_bytes: 4,
            ..Limits::default()
        };
        let mut r = InspectRequest::get("/");
        r.method = "POST".into();
        r.body = Bytes::from_static(b"a=123456");
        let p = parse(&r, &limits);
        assert!(p.anomalies.contains(&ParseAnomaly::BodyTooLarge));
        assert_eq!(
            values(&p, Target::Body),
            vec![(String::new(), "a=12".into())]
        );
    }

    #[test]
    fn invalid_encoding_is_reported() {
        let p = parse(&InspectRequest::get("/?a=%zz"), &Limits::default());
        assert_eq!(p.anomalies, vec![ParseAnomaly::InvalidUrlEncoding]);
    }

    #[test]
    fn header_limit_is_reported() {
        let limits = Limits {
            max_headers: 1,
            ..Limits::default()
        };
        let mut r = InspectRequest::get("/");
        r.headers = vec![("A".into(), "1".into()), ("B".into(), "2".into())];
        let p = parse(&r, &limits);
        assert_eq!(values(&p, Target::Header).len(), 1);
        assert!(p.anomalies.contains(&ParseAnomaly::TooManyHeaders));
    }
}
