//! SARIF output validated against the official SARIF 2.1.0 JSON Schema (the copy shipped in the
//! `serde-sarif` crate's sources, located through `cargo metadata`).

mod common;

use std::path::PathBuf;
use std::process::Command;

use ensuresec_prevention::{Limits, RuleSet, audit, load, report};
use serde_json::Value;

/// The official schema, from the `serde-sarif` package cargo fetched for this test.
fn sarif_schema() -> Value {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    // Only the host's packages: they are the ones cargo has fetched to build this test.
    let rustc = Command::new("rustc")
        .arg("-vV")
        .output()
        .expect("rustc -vV runs");
    let host = String::from_utf8_lossy(&rustc.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(String::from))
        .expect("rustc names its host");
    let out = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--offline",
            "--filter-platform",
            &host,
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: Value = serde_json::from_slice(&out.stdout).expect("metadata is JSON");
    let manifest = meta["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .find(|p| p["name"] == "serde-sarif")
        .and_then(|p| p["manifest_path"].as_str())
        .expect("serde-sarif is a dev-dependency");
    let path = PathBuf::from(manifest)
        .with_file_name("src")
        .join("schema.json");
    let text = std::fs::read_to_string(&path).expect("schema file");
    // The one erratum of the published schema: its `language` patterns have a stray `]` and are
    // not valid regular expressions (so the schema fails its own meta-schema). They are corrected
    // to what their descriptions say: two letters, optionally `-` and two more.
    let broken = r#""^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$""#;
    let text = text.replace(broken, r#""^[a-zA-Z]{2}(-[a-zA-Z]{2})?$""#);
    let schema: Value = serde_json::from_str(&text).expect("schema is JSON");
    assert_eq!(
        schema["title"],
        "Static Analysis Results Format (SARIF) Version 2.1.0 JSON Schema"
    );
    schema
}

fn validate(sarif: &Value) -> Vec<String> {
    // Formats are asserted (`uri`, `date-time` …).
    let validator = jsonschema::options()
        .should_validate_formats(true)
        .build(&sarif_schema())
        .expect("the schema compiles");
    validator
        .iter_errors(sarif)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

#[test]
fn sarif_of_the_bad_shop_is_valid_and_complete() {
    let rules = RuleSet::builtin();
    let spec = load(&common::spec_path("shop-bad.yaml"), Limits::default()).expect("loads");
    let report = audit(&spec, &rules);
    let sarif = report::sarif(&rules, &report, "0.1.0");
    let errors = validate(&sarif);
    assert!(errors.is_empty(), "{errors:#?}");
    let results = sarif["runs"][0]["results"].as_array().expect("results");
    assert_eq!(results.len(), report.findings.len());
    let driver_rules = sarif["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .expect("rules");
    for r in results {
        let index = r["ruleIndex"].as_u64().expect("index") as usize;
        assert_eq!(driver_rules[index]["id"], r["ruleId"]);
        assert!(r["locations"][0]["physicalLocation"]["region"]["startLine"].as_u64() > Some(0));
    }
}

#[test]
fn a_broken_sarif_log_is_refused_by_the_validator() {
    // The validation is not vacuous: a result without a message breaks the schema.
    let rules = RuleSet::builtin();
    let spec = load(&common::spec_path("shop-bad.yaml"), Limits::default()).expect("loads");
    let mut sarif = report::sarif(&rules, &audit(&spec, &rules), "0.1.0");
    sarif["runs"][0]["results"][0]
        .as_object_mut()
        .expect("result")
        .remove("message");
    assert!(!validate(&sarif).is_empty());
}

#[test]
fn sarif_of_vampi_is_valid() {
    let Some(dir) = common::openapi_corpus() else {
        return;
    };
    let rules = RuleSet::builtin();
    let spec = load(&dir.join("vampi-openapi3.yml"), Limits::default()).expect("loads");
    let errors = validate(&report::sarif(&rules, &audit(&spec, &rules), "0.1.0"));
    assert!(errors.is_empty(), "{errors:#?}");
}
