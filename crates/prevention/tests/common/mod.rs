//! Helpers shared by the integration tests: the shared corpus (absent on users' machines) and
//! the built-in rules.

#![allow(dead_code)] // each test binary uses a different subset of these helpers

use std::path::{Path, PathBuf};

use ensuresec_prevention::{Limits, Report, RuleSet, audit, load};

/// The shared OpenAPI corpus (`../shared` beside the project, or `$ENSURESEC_SHARED_DIR`), or
/// `None` (after printing why) when it is absent outside CI. Under `CI=true` an absent corpus
/// is a failure, so CI can never pass by skipping.
pub fn openapi_corpus() -> Option<PathBuf> {
    let shared = std::env::var_os("ENSURESEC_SHARED_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"),
        PathBuf::from,
    );
    let dir = shared.join("corpora/openapi");
    if dir.is_dir() {
        return Some(dir);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "shared corpus missing at {} (required when CI=true)",
        dir.display()
    );
    eprintln!(
        "SKIP: shared corpus not found at {}; skipping",
        dir.display()
    );
    None
}

/// The hand-written specs beside the tests.
pub fn spec_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/specs")
        .join(name)
}

/// Loads and audits a description with the built-in rules.
pub fn audit_file(path: &Path) -> Report {
    let spec = load(path, Limits::default()).unwrap_or_else(|e| panic!("{e}"));
    audit(&spec, &RuleSet::builtin())
}

/// The (rule, pointer) pairs of a report.
pub fn pairs(report: &Report) -> Vec<(String, String)> {
    report
        .findings
        .iter()
        .map(|f| (f.rule.clone(), f.pointer.clone()))
        .collect()
}

/// True when `rule` was reported at `pointer`.
pub fn has(report: &Report, rule: &str, pointer: &str) -> bool {
    report
        .findings
        .iter()
        .any(|f| f.rule == rule && f.pointer == pointer)
}

/// Every finding's line holds the key its pointer ends with (for keys; array items are skipped).
pub fn assert_lines_match_keys(report: &Report) {
    for f in &report.findings {
        let text = std::fs::read_to_string(&f.file).expect("readable");
        let last = f
            .pointer
            .rsplit('/')
            .next()
            .unwrap_or("")
            .replace("~1", "/")
            .replace("~0", "~");
        if f.pointer.is_empty() || last.parse::<usize>().is_ok() {
            continue;
        }
        let line = text.lines().nth(f.line as usize - 1).unwrap_or("");
        assert!(
            line.contains(&format!("{last}:"))
                || line.contains(&format!("\"{last}\""))
                || line.contains(&format!("'{last}':")),
            "{} at {} points to line {} `{line}`, which does not hold `{last}`",
            f.rule,
            f.pointer,
            f.line
        );
    }
}
