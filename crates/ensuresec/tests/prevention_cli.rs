//! `ensuresec audit api`: output formats and the exit codes CI relies on (0 clean, 1 findings at
//! or above `--fail-on`, 2 bad input).

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

use std::path::PathBuf;
use std::process::Command;

fn ensuresec() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ensuresec"));
    c.env("ENSURESEC_LOG", "warn");
    c
}

fn spec(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../prevention/tests/specs")
        .join(name)
}

#[test]
fn exit_codes_follow_fail_on() {
    let bad = spec("shop-bad.yaml");
    let out = ensuresec()
        .args(["audit", "api"])
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("bola-unscoped-object-id"), "{text}");
    assert!(text.contains("fix:"), "{text}");

    let out = ensuresec()
        .args(["audit", "api", "--fail-on", "never"])
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));

    let good = spec("shop-good.yaml");
    let out = ensuresec()
        .args(["audit", "api", "--fail-on", "info"])
        .arg(&good)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn bad_input_exits_with_2_and_names_the_place() {
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.yaml");
    std::fs::write(&broken, "openapi: 3.1.0\npaths:\n  /a: {get: [\n").unwrap();
    let out = ensuresec()
        .args(["audit", "api"])
        .arg(&broken)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("broken.yaml:"), "{err}");

    let rules = dir.path().join("rules.yaml");
    std::fs::write(&rules, "rules: {}\nparams: {}\n").unwrap();
    let out = ensuresec()
        .args(["audit", "api", "--rules"])
        .arg(&rules)
        .arg(spec("shop-good.yaml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn json_and_sarif_outputs_parse() {
    let bad = spec("shop-bad.yaml");
    for format in ["json", "sarif"] {
        let out = ensuresec()
            .args(["audit", "api", "--fail-on", "never", "--format", format])
            .arg(&bad)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let n = if format == "json" {
            v["findings"].as_array().unwrap().len()
        } else {
            v["runs"][0]["results"].as_array().unwrap().len()
        };
        assert!(n >= 24, "{format}: {n}");
    }
}

fn model(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../prevention/models")
        .join(name)
}

#[test]
fn verify_workflow_finds_the_race_and_passes_the_fix() {
    let out = ensuresec()
        .args(["verify", "workflow"])
        .arg(model("webshop-refund-race.yaml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("[VIOLATED] always at most one refund per capture in 12 steps"),
        "{text}"
    );
    assert!(
        text.contains("the attacker replays customer's `refund` request"),
        "{text}"
    );

    let out = ensuresec()
        .args(["verify", "workflow", "--format", "json"])
        .arg(model("webshop.yaml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["unique_states"].as_u64().unwrap() > 100);
    assert_eq!(v["verdicts"][0]["outcome"]["outcome"], "holds");

    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yaml");
    std::fs::write(&bad, "workflow: x\nroles: []\n").unwrap();
    let out = ensuresec()
        .args(["verify", "workflow"])
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8(out.stderr).unwrap().contains("bad.yaml"));
}

#[test]
fn both_engines_report_the_same_counterexample() {
    let run = |engine: &str| {
        let out = ensuresec()
            .args(["verify", "workflow", "--format", "json", "--engine", engine])
            .arg(model("webshop-refund-race.yaml"))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "engine {engine}");
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        (v["unique_states"].clone(), v["verdicts"].clone())
    };
    let (compiled_states, compiled) = run("compiled");
    let (stateright_states, stateright) = run("stateright");
    assert!(compiled_states.as_u64().unwrap() > 100);
    assert_eq!(compiled_states, stateright_states);
    assert_eq!(compiled, stateright);
}

#[test]
fn certificates_are_signed_recorded_and_verified() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let cert = dir.path().join("race.cert");
    let model_copy = dir.path().join("race.yaml");
    std::fs::copy(model("webshop-refund-race.yaml"), &model_copy).unwrap();
    let out = ensuresec()
        .args(["verify", "workflow"])
        .arg(&model_copy)
        .arg("--certify")
        .arg(&cert)
        .arg("--data-dir")
        .arg(&data)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&cert).unwrap();
    assert!(
        text.starts_with("ensuresec prevention certificate v1\ncheck: workflow-check\n"),
        "{text}"
    );
    assert!(text.contains("verdict: fail\n"), "{text}");
    assert!(
        text.contains("failing: at most one refund per capture"),
        "{text}"
    );
    // Recorded in the audit log's inbox, which the server appends to the log.
    let inbox: Vec<_> = std::fs::read_dir(data.join("ledger-inbox"))
        .unwrap()
        .collect();
    assert_eq!(inbox.len(), 1);
    let record = std::fs::read_to_string(inbox[0].as_ref().unwrap().path()).unwrap();
    assert!(record.contains("\"certificate\""), "{record}");

    let verify = |extra: &[&str]| {
        ensuresec()
            .args(["verify", "certificate"])
            .arg(&cert)
            .arg("--data-dir")
            .arg(&data)
            .args(extra)
            .output()
            .unwrap()
    };
    let out = verify(&["--check-files"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    std::fs::write(&model_copy, "changed").unwrap();
    let out = verify(&["--check-files"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8(out.stdout).unwrap().contains("CHANGED"));

    std::fs::write(&cert, text.replace("verdict: fail", "verdict: pass")).unwrap();
    let out = verify(&[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8(out.stdout).unwrap().contains("INVALID"));
}
