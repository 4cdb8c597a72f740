//! Every embedded rule file's own test cases (`ensuresec rules test`) pass, and every rule
//! carries at least one positive case.

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

use ensuresec_webattack::{rules, selftest};

#[test]
fn embedded_rule_cases_pass() {
    let rules = rules::embedded().expect("embedded rules load");
    let (failures, count) = selftest::run(&rules);
    let report: Vec<String> = failures.iter().map(ToString::to_string).collect();
    assert!(
        report.is_empty(),
        "{} of {count} cases failed:\n{}",
        report.len(),
        report.join("\n")
    );
    assert!(count > 150, "only {count} embedded cases");
}

#[test]
fn every_rule_documents_and_tests_itself() {
    let rules = rules::embedded().expect("embedded rules load");
    for r in &rules {
        assert!(!r.description.is_empty(), "{} has no description", r.id);
        assert!(
            !r.should_match.is_empty() || matches!(r.operator, rules::Operator::Absent),
            "{} has no positive test case",
            r.id
        );
    }
}
