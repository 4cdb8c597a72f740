//! SARIF 2.1.0: one run, every rule of the rule set as a reporting descriptor, one result per
//! finding with a physical location (file and line) and the JSON pointer as a logical location.
//! Built with serde_json: the format is a few nested objects, and the output is validated
//! against the official schema in the tests.

use serde_json::{Value, json};

use crate::audit::{Report, RuleSet, Severity};

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

/// GitHub code scanning reads `security-severity` (0.0–10.0) to rank security results.
fn security_severity(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
        Severity::Info => "1.0",
    }
}

/// A relative URI reference for a path: forward slashes, spaces and `%` escaped.
fn uri(path: &std::path::Path) -> String {
    path.to_string_lossy()
        .replace('\\', "/")
        .replace('%', "%25")
        .replace(' ', "%20")
        .replace('#', "%23")
}

/// The report as a SARIF 2.1.0 log.
pub fn sarif(rules: &RuleSet, report: &Report, tool_version: &str) -> Value {
    let ids: Vec<&String> = rules.rules.keys().collect();
    let descriptors: Vec<Value> = rules
        .rules
        .iter()
        .map(|(id, r)| {
            json!({
                "id": id,
                "name": id,
                "shortDescription": { "text": r.title },
                "fullDescription": { "text": r.explanation },
                "help": { "text": r.fix },
                "defaultConfiguration": { "level": level(r.severity) },
                "properties": {
                    "tags": ["security", format!("OWASP-{}", r.owasp.code())],
                    "security-severity": security_severity(r.severity),
                },
            })
        })
        .collect();
    let results: Vec<Value> = report
        .findings
        .iter()
        .map(|f| {
            let index = ids.iter().position(|id| **id == f.rule).unwrap_or(0);
            json!({
                "ruleId": f.rule,
                "ruleIndex": index,
                "level": level(f.severity),
                "message": { "text": format!("{} ({} {})", f.message, f.owasp.code(), f.owasp.name()) },
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": { "uri": uri(&f.file) },
                        "region": { "startLine": f.line.max(1) },
                    },
                    "logicalLocations": [{ "fullyQualifiedName": format!("#{}", f.pointer), "kind": "member" }],
                }],
                "partialFingerprints": { "jsonPointer/v1": format!("{}#{}", f.rule, f.pointer) },
            })
        })
        .collect();
    json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "ensuresec",
                "semanticVersion": tool_version,
                "informationUri": "https://github.com/ensuresec/ensuresec",
                "rules": descriptors,
            }},
            "results": results,
        }],
    })
}
