//! Violation reports browsers send for a Content-Security-Policy: the `report-uri` format
//! (`application/csp-report`, one `{"csp-report": {…}}` object) and the Reporting API
//! (`application/reports+json`, a list of reports, of which `csp-violation` ones are kept).
//! Browsers post them unauthenticated, so everything is bounded: the body, the number of
//! reports, every string.

use ensuresec_model::event::CspViolation;
use serde_json::Value;

use crate::error::IntegrityError;

/// Largest report body accepted, in bytes.
pub const MAX_REPORT_BYTES: usize = 64 * 1024;
/// Most reports taken from one Reporting API body.
pub const MAX_REPORTS: usize = 50;
/// Longest string kept from a report, in characters.
pub const MAX_FIELD_CHARS: usize = 2048;

/// The body's format, from its content type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    /// `application/csp-report` (report-uri).
    CspReport,
    /// `application/reports+json` (Reporting API, report-to).
    ReportingApi,
    /// `application/json`: told apart by its shape (some browsers send report-uri reports so).
    Json,
}

impl ReportFormat {
    /// The format of a `Content-Type` value; `None` for anything else.
    pub fn of(content_type: &str) -> Option<ReportFormat> {
        let mime = content_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        match mime.as_str() {
            "application/csp-report" => Some(ReportFormat::CspReport),
            "application/reports+json" => Some(ReportFormat::ReportingApi),
            "application/json" => Some(ReportFormat::Json),
            _ => None,
        }
    }
}

fn bad(message: impl Into<String>) -> IntegrityError {
    IntegrityError::Parse {
        file: "CSP report".into(),
        line: 1,
        message: message.into(),
    }
}

/// Parses a report body into violations (without `client_ip` and `asset`, which the receiver
/// knows). A Reporting API body with no CSP report gives an empty list.
pub fn parse(format: ReportFormat, body: &[u8]) -> Result<Vec<CspViolation>, IntegrityError> {
    if body.len() > MAX_REPORT_BYTES {
        return Err(IntegrityError::Limit {
            what: "CSP report bytes".into(),
            limit: MAX_REPORT_BYTES as u64,
        });
    }
    let value: Value = serde_json::from_slice(body).map_err(|e| IntegrityError::Parse {
        file: "CSP report".into(),
        line: e.line(),
        message: e.to_string(),
    })?;
    let format = match (format, &value) {
        (ReportFormat::Json, Value::Array(_)) => ReportFormat::ReportingApi,
        (ReportFormat::Json, _) => ReportFormat::CspReport,
        (f, _) => f,
    };
    match format {
        ReportFormat::CspReport => {
            let r = value
                .get("csp-report")
                .ok_or_else(|| bad("expected an object with `csp-report`"))?;
            Ok(vec![from_report_uri(r)?])
        }
        _ => {
            let list = value
                .as_array()
                .ok_or_else(|| bad("expected a list of reports"))?;
            if list.len() > MAX_REPORTS {
                return Err(IntegrityError::Limit {
                    what: "reports in one body".into(),
                    limit: MAX_REPORTS as u64,
                });
            }
            let mut out = Vec::new();
            for (i, report) in list.iter().enumerate() {
                if report.get("type").and_then(Value::as_str) != Some("csp-violation") {
                    continue;
                }
                let body = report
                    .get("body")
                    .ok_or_else(|| bad(format!("report [{i}]: no `body`")))?;
                out.push(
                    from_reporting_api(body, report.get("url"))
                        .map_err(|e| bad(format!("report [{i}]: {e}")))?,
                );
            }
            Ok(out)
        }
    }
}

fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.is_empty() => Some(s.chars().take(MAX_FIELD_CHARS).collect()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn line(v: Option<&Value>) -> Option<u32> {
    v.and_then(Value::as_u64)
        .and_then(|n| u32::try_from(n).ok())
}

/// `report-uri` reports name their fields in kebab case.
fn from_report_uri(r: &Value) -> Result<CspViolation, IntegrityError> {
    let document_uri =
        text(r.get("document-uri")).ok_or_else(|| bad("`csp-report.document-uri` is missing"))?;
    Ok(CspViolation {
        document_uri,
        blocked_uri: text(r.get("blocked-uri")),
        effective_directive: text(r.get("effective-directive"))
            .or_else(|| text(r.get("violated-directive"))),
        disposition: text(r.get("disposition")),
        original_policy: text(r.get("original-policy")),
        source_file: text(r.get("source-file")),
        line: line(r.get("line-number")),
        sample: text(r.get("script-sample")),
        client_ip: None,
        asset: None,
    })
}

/// Reporting API bodies name them in camel case.
fn from_reporting_api(b: &Value, url: Option<&Value>) -> Result<CspViolation, IntegrityError> {
    let document_uri = text(b.get("documentURL"))
        .or_else(|| text(url))
        .ok_or_else(|| bad("`body.documentURL` is missing"))?;
    Ok(CspViolation {
        document_uri,
        blocked_uri: text(b.get("blockedURL")),
        effective_directive: text(b.get("effectiveDirective")),
        disposition: text(b.get("disposition")),
        original_policy: text(b.get("originalPolicy")),
        source_file: text(b.get("sourceFile")),
        line: line(b.get("lineNumber")),
        sample: text(b.get("sample")),
        client_ip: None,
        asset: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_formats_become_violations() {
        let uri = br#"{"csp-report":{"document-uri":"https://shop.example/checkout","blocked-uri":"https://evil.example/x.js","violated-directive":"script-src-elem","original-policy":"script-src 'self'","disposition":"enforce","line-number":12}}"#;
        let v = parse(ReportFormat::CspReport, uri).expect("a valid report");
        assert_eq!(v.len(), 1);
        assert_eq!(
            v[0].blocked_uri.as_deref(),
            Some("https://evil.example/x.js")
        );
        assert_eq!(v[0].effective_directive.as_deref(), Some("script-src-elem"));
        assert_eq!(v[0].line, Some(12));

        let api = br#"[{"type":"csp-violation","age":1,"url":"https://shop.example/checkout","body":{"documentURL":"https://shop.example/checkout","blockedURL":"inline","effectiveDirective":"script-src-elem","disposition":"report","sample":"steal()"}},{"type":"deprecation","body":{}}]"#;
        let v = parse(ReportFormat::ReportingApi, api).expect("a valid report list");
        assert_eq!(v.len(), 1, "only CSP reports are kept");
        assert_eq!(v[0].sample.as_deref(), Some("steal()"));
        assert_eq!(v[0].disposition.as_deref(), Some("report"));
        assert_eq!(parse(ReportFormat::Json, api).expect("by shape").len(), 1);
    }

    #[test]
    fn bad_bodies_are_errors_that_say_what_is_wrong() {
        let e = parse(ReportFormat::CspReport, b"{}").expect_err("no csp-report");
        assert!(e.to_string().contains("csp-report"), "{e}");
        let e = parse(ReportFormat::CspReport, br#"{"csp-report":{}}"#).expect_err("no uri");
        assert!(e.to_string().contains("document-uri"), "{e}");
        let big = vec![b' '; MAX_REPORT_BYTES + 1];
        assert!(matches!(
            parse(ReportFormat::CspReport, &big),
            Err(IntegrityError::Limit { .. })
        ));
        assert_eq!(
            ReportFormat::of("application/csp-report; charset=utf-8"),
            Some(ReportFormat::CspReport)
        );
        assert_eq!(ReportFormat::of("text/plain"), None);
    }
}
