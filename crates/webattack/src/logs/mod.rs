//! Access-log parsers: Combined/Common Log Format (Apache and nginx defaults), nginx JSON
//! (`escape=json`), Caddy JSON and generic JSON lines, with auto-detection.
//!
//! Parsers work on byte slices (no IO) and never panic: a bad line is a [`LogError`] and the
//! stream goes on. Requests rebuilt from logs are marked [`InspectRequest::partial`], since logs
//! keep only a few headers and no body.

mod clf;
mod event;
mod json;

use crate::request::InspectRequest;

pub use clf::parse_clf;
pub use event::{PARTIAL_LABEL, parse_time, to_event};
pub use json::parse_json_line;

/// Longest line accepted; longer lines are rejected rather than parsed.
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// Supported access-log formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LogFormat {
    /// Combined Log Format (Apache `combined`, nginx default `combined`): CLF plus Referer and
    /// User-Agent.
    Combined,
    /// Common Log Format (Apache `common`).
    Common,
    /// nginx `log_format ... escape=json` with nginx variable names as keys.
    NginxJson,
    /// Caddy's structured access log (`http.log.access`).
    CaddyJson,
    /// Any other JSON object per line, read by well-known key names.
    JsonLines,
}

impl LogFormat {
    /// Every format, in the order auto-detection considers them.
    pub const ALL: [LogFormat; 5] = [
        Self::Combined,
        Self::Common,
        Self::NginxJson,
        Self::CaddyJson,
        Self::JsonLines,
    ];

    /// The format named `name` (as [`LogFormat::name`] gives it).
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.name() == name)
    }

    /// Name for reports and CLI flags.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Combined => "combined",
            Self::Common => "common",
            Self::NginxJson => "nginx-json",
            Self::CaddyJson => "caddy-json",
            Self::JsonLines => "json-lines",
        }
    }
}

/// One access-log entry turned into an inspectable request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogRecord {
    /// The request (partial: only the headers the log kept).
    pub request: InspectRequest,
    /// Client address as logged.
    pub client_ip: String,
    /// Response status, when logged.
    pub status: Option<u16>,
    /// Time as logged (not interpreted: the caller owns clocks and time zones).
    pub time: String,
    /// Response size in bytes, when logged.
    pub bytes: Option<u64>,
}

/// Why a line could not be parsed; the stream can always go on with the next line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LogError {
    /// Blank line.
    #[error("empty log line")]
    Empty,
    /// Longer than [`MAX_LINE_BYTES`].
    #[error("log line longer than {MAX_LINE_BYTES} bytes")]
    TooLong,
    /// Structure not recognised; names the missing or bad part.
    #[error("malformed log line: {0}")]
    Malformed(&'static str),
}

/// Guesses the format from the first non-blank line of a sample.
#[must_use]
pub fn detect(sample: &[u8]) -> Option<LogFormat> {
    let line = sample
        .split(|&b| b == b'\n')
        .map(trim_line)
        .find(|l| !l.is_empty())?;
    if line.first() == Some(&b'{') {
        return Some(json::detect(line));
    }
    let rec = parse_clf(line).ok()?;
    if rec.request.headers.is_empty() && !has_trailing_quoted(line) {
        Some(LogFormat::Common)
    } else {
        Some(LogFormat::Combined)
    }
}

fn has_trailing_quoted(line: &[u8]) -> bool {
    memchr::memchr_iter(b'"', line).count() >= 6
}

fn trim_line(l: &[u8]) -> &[u8] {
    let l = l.strip_suffix(b"\r").unwrap_or(l);
    let start = l
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(l.len());
    &l[start..]
}

/// Parses one line in `format`.
pub fn parse_line(format: LogFormat, line: &[u8]) -> Result<LogRecord, LogError> {
    let line = trim_line(line);
    if line.is_empty() {
        return Err(LogError::Empty);
    }
    if line.len() > MAX_LINE_BYTES {
        return Err(LogError::TooLong);
    }
    match format {
        LogFormat::Combined | LogFormat::Common => parse_clf(line),
        LogFormat::NginxJson | LogFormat::CaddyJson | LogFormat::JsonLines => parse_json_line(line),
    }
}

/// Iterates over the records of a whole buffer (one entry per line; blank lines skipped).
pub fn parse_all(
    format: LogFormat,
    data: &[u8],
) -> impl Iterator<Item = Result<LogRecord, LogError>> + '_ {
    data.split(|&b| b == b'\n')
        .filter(|l| !trim_line(l).is_empty())
        .map(move |l| parse_line(format, l))
}

/// Splits a request line (`GET /x HTTP/1.1`) into method, target and version.
pub(crate) fn split_request_line(rl: &str) -> Option<(String, String, String)> {
    let mut parts = rl.splitn(3, ' ');
    let method = parts.next().filter(|m| !m.is_empty() && *m != "-")?;
    let uri = parts.next().unwrap_or("/");
    let version = parts.next().unwrap_or("HTTP/1.0");
    Some((method.to_owned(), uri.to_owned(), version.trim().to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detection() {
        for (line, want) in [
            (
                r#"1.2.3.4 - - [10/Oct/2024:13:55:36 +0000] "GET / HTTP/1.1" 200 12 "-" "curl/8""#,
                LogFormat::Combined,
            ),
            (
                r#"1.2.3.4 - frank [10/Oct/2024:13:55:36 -0700] "GET /a.gif HTTP/1.0" 200 2326"#,
                LogFormat::Common,
            ),
            (
                r#"{"remote_addr":"1.2.3.4","request":"GET / HTTP/1.1","status":"200"}"#,
                LogFormat::NginxJson,
            ),
            (
                r#"{"level":"info","logger":"http.log.access","request":{"method":"GET","uri":"/"},"status":200}"#,
                LogFormat::CaddyJson,
            ),
            (
                r#"{"method":"GET","path":"/","ip":"1.2.3.4"}"#,
                LogFormat::JsonLines,
            ),
        ] {
            assert_eq!(detect(line.as_bytes()), Some(want), "{line}");
        }
        assert_eq!(detect(b"\n\n"), None);
        for f in LogFormat::ALL {
            assert_eq!(LogFormat::from_name(f.name()), Some(f));
        }
        assert_eq!(LogFormat::from_name("auto"), None);
        assert_eq!(detect(b"garbage"), None);
    }

    #[test]
    fn blank_and_long_lines() {
        assert_eq!(
            parse_line(LogFormat::Combined, b"  \r"),
            Err(LogError::Empty)
        );
        let long = vec![b'a'; MAX_LINE_BYTES + 1];
        assert_eq!(
            parse_line(LogFormat::Combined, &long),
            Err(LogError::TooLong)
        );
    }
}
