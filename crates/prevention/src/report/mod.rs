//! Machine-readable renderings of an audit: our JSON and SARIF 2.1.0 for code-scanning tools.
//! The human table is drawn by the binary, which owns the terminal.

mod sarif;

pub use sarif::sarif;

use serde_json::{Value, json};

use crate::audit::Report;
use crate::spec::Spec;

/// The report as JSON: the description's files with their SHA-256, a count per severity and per
/// OWASP category, and the findings.
pub fn json(spec: &Spec, report: &Report) -> Value {
    let mut by_severity = serde_json::Map::new();
    let mut by_owasp = serde_json::Map::new();
    for f in &report.findings {
        let n = by_severity.entry(f.severity.as_str()).or_insert(json!(0));
        *n = json!(n.as_u64().unwrap_or(0) + 1);
        let n = by_owasp.entry(f.owasp.code()).or_insert(json!(0));
        *n = json!(n.as_u64().unwrap_or(0) + 1);
    }
    json!({
        "files": spec.files.iter().map(|f| json!({
            "path": f.path.display().to_string(),
            "sha256": f.sha256,
        })).collect::<Vec<_>>(),
        "operations": report.operations,
        "summary": { "findings": report.findings.len(), "by_severity": by_severity, "by_owasp": by_owasp },
        "findings": report.findings.iter().map(|f| json!({
            "rule": f.rule,
            "owasp": f.owasp.code(),
            "owasp_name": f.owasp.name(),
            "severity": f.severity,
            "title": f.title,
            "message": f.message,
            "explanation": f.explanation,
            "fix": f.fix,
            "file": f.file.display().to_string(),
            "pointer": f.pointer,
            "line": f.line,
        })).collect::<Vec<_>>(),
    })
}
