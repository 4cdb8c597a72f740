//! Runs the test cases embedded in rule files (`ensuresec rules test`).

use bytes::Bytes;

use crate::engine::{Engine, EngineConfig, eval_value};
use crate::request::InspectRequest;
use crate::rules::{Operator, Rule, TestInput, TestRequest};
use crate::transform::apply_chain;

/// One embedded test case that did not give the expected answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestFailure {
    /// Rule id.
    pub rule_id: String,
    /// Where the rule is defined (`file:line`).
    pub location: String,
    /// Whether the case expected a match.
    pub expected_match: bool,
    /// The input, for the report.
    pub input: String,
}

impl std::fmt::Display for TestFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let want = if self.expected_match {
            "match"
        } else {
            "no match"
        };
        write!(
            f,
            "{} ({}): expected {want} for {}",
            self.rule_id, self.location, self.input
        )
    }
}

/// Builds the request a [`TestRequest`] describes.
#[must_use]
pub fn to_request(t: &TestRequest) -> InspectRequest {
    let mut headers: Vec<(String, String)> = t
        .headers
        .iter()
        .filter_map(|(k, v)| Some((k.clone(), v.clone()?)))
        .collect();
    for (k, v) in [
        ("Host", "localhost"),
        ("User-Agent", "Mozilla/5.0"),
        ("Accept", "*/*"),
    ] {
        if !t.headers.keys().any(|h| h.eq_ignore_ascii_case(k)) {
            headers.push((k.to_owned(), v.to_owned()));
        }
    }
    if !t.body.is_empty() {
        if !t
            .headers
            .keys()
            .any(|h| h.eq_ignore_ascii_case("content-type"))
        {
            headers.push((
                "Content-Type".into(),
                "application/x-www-form-urlencoded".into(),
            ));
        }
        if !t
            .headers
            .keys()
            .any(|h| h.eq_ignore_ascii_case("content-length"))
        {
            headers.push(("Content-Length".into(), t.body.len().to_string()));
        }
    }
    InspectRequest {
        method: t.method.clone(),
        uri: t.uri.clone(),
        http_version: t.version.clone(),
        headers,
        body: Bytes::from(t.body.clone().into_bytes()),
        partial: false,
    }
}

fn case_matches(rule: &Rule, input: &TestInput) -> bool {
    match input {
        TestInput::Value(v) => {
            if matches!(rule.operator, Operator::Absent) {
                return false;
            }
            eval_value(rule, &apply_chain(&rule.transforms, v.as_bytes())).is_some()
        }
        TestInput::Request(t) => {
            let mut one = rule.clone();
            one.paranoia = 1;
            match Engine::new(vec![one], EngineConfig::default()) {
                Ok(engine) => engine
                    .inspect(&to_request(t))
                    .findings
                    .iter()
                    .any(|f| f.rule_id == rule.id),
                Err(_) => false,
            }
        }
    }
}

/// Runs every embedded test case of `rules`; returns the failures (empty means all passed) and
/// the number of cases run.
#[must_use]
pub fn run(rules: &[Rule]) -> (Vec<TestFailure>, usize) {
    let mut failures = Vec::new();
    let mut count = 0;
    for r in rules {
        for (expected, cases) in [(true, &r.should_match), (false, &r.should_not_match)] {
            for c in cases {
                count += 1;
                if case_matches(r, c) != expected {
                    failures.push(TestFailure {
                        rule_id: r.id.clone(),
                        location: format!("{}:{}", r.location.file, r.location.line),
                        expected_match: expected,
                        input: format!("{c:?}"),
                    });
                }
            }
        }
    }
    (failures, count)
}
