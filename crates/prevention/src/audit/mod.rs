//! The OpenAPI security audit: checks mapped to the OWASP API Security Top 10 (2023), each
//! finding with its rule, severity, file, JSON pointer and line, an explanation and a fix.
//! The checks are in `checks/`, one file per concern; their texts and parameters are data
//! ([`ruleset`]).

mod checks;
pub mod model;
pub mod ruleset;

use std::collections::HashSet;
use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::spec::{Loc, Spec};
pub use ruleset::{RuleSet, RuleText, RulesError};

/// How bad a finding is; ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing.
    Info,
    /// Hardening.
    Low,
    /// A weakness an attacker can use with other flaws.
    Medium,
    /// A weakness an attacker can use directly.
    High,
    /// Direct compromise.
    Critical,
}

impl Severity {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
            Self::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The OWASP API Security Top 10 (2023) categories.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Owasp {
    /// Broken Object Level Authorization.
    API1,
    /// Broken Authentication.
    API2,
    /// Broken Object Property Level Authorization.
    API3,
    /// Unrestricted Resource Consumption.
    API4,
    /// Broken Function Level Authorization.
    API5,
    /// Unrestricted Access to Sensitive Business Flows.
    API6,
    /// Server Side Request Forgery.
    API7,
    /// Security Misconfiguration.
    API8,
    /// Improper Inventory Management.
    API9,
    /// Unsafe Consumption of APIs.
    API10,
}

impl Owasp {
    /// `API1:2023` …
    pub fn code(self) -> String {
        format!("{self:?}:2023")
    }

    /// The category's name.
    pub fn name(self) -> &'static str {
        match self {
            Self::API1 => "Broken Object Level Authorization",
            Self::API2 => "Broken Authentication",
            Self::API3 => "Broken Object Property Level Authorization",
            Self::API4 => "Unrestricted Resource Consumption",
            Self::API5 => "Broken Function Level Authorization",
            Self::API6 => "Unrestricted Access to Sensitive Business Flows",
            Self::API7 => "Server Side Request Forgery",
            Self::API8 => "Security Misconfiguration",
            Self::API9 => "Improper Inventory Management",
            Self::API10 => "Unsafe Consumption of APIs",
        }
    }
}

/// One weakness found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Rule id.
    pub rule: String,
    /// OWASP category.
    pub owasp: Owasp,
    /// Severity.
    pub severity: Severity,
    /// The rule's title.
    pub title: String,
    /// What was found here, naming the operation or property.
    pub message: String,
    /// Why it matters (the rule's text).
    pub explanation: String,
    /// What to do (the rule's text).
    pub fix: String,
    /// File of the description.
    pub file: PathBuf,
    /// JSON pointer into that file.
    pub pointer: String,
    /// 1-based line.
    pub line: u32,
}

/// Every finding of one audit, sorted by file, line and rule.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The findings.
    pub findings: Vec<Finding>,
    /// Operations examined.
    pub operations: usize,
}

impl Report {
    /// The highest severity found, if any.
    pub fn worst(&self) -> Option<Severity> {
        self.findings.iter().map(|f| f.severity).max()
    }

    /// Findings at or above `severity`.
    pub fn at_least(&self, severity: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity >= severity)
            .count()
    }
}

/// Collects findings for the checks, once per rule and location.
pub(crate) struct Sink<'a> {
    pub spec: &'a Spec,
    pub rules: &'a RuleSet,
    seen: HashSet<(&'static str, Loc)>,
    findings: Vec<Finding>,
}

impl<'a> Sink<'a> {
    /// Reports `rule` at `loc` unless it was already reported there.
    pub fn report(&mut self, rule: &'static str, loc: &Loc, message: String) {
        if !self.seen.insert((rule, loc.clone())) {
            return;
        }
        let text = self.rules.text(rule);
        self.findings.push(Finding {
            rule: rule.to_string(),
            owasp: text.owasp,
            severity: text.severity,
            title: text.title.clone(),
            message,
            explanation: text.explanation.clone(),
            fix: text.fix.clone(),
            file: self.spec.path(loc).to_path_buf(),
            pointer: loc.pointer.clone(),
            line: self.spec.line(loc),
        });
    }
}

/// Runs every check on a loaded description.
pub fn audit(spec: &Spec, rules: &RuleSet) -> Report {
    let ops = model::operations(spec);
    let mut sink = Sink {
        spec,
        rules,
        seen: HashSet::new(),
        findings: Vec::new(),
    };
    checks::run(&mut sink, &ops);
    let mut findings = sink.findings;
    findings.sort_by(|a, b| {
        (&a.file, a.line, &a.rule, &a.pointer).cmp(&(&b.file, b.line, &b.rule, &b.pointer))
    });
    Report {
        findings,
        operations: ops.len(),
    }
}
