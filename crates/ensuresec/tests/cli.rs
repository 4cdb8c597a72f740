//! The command line: config check, simulate, ingest (online and offline).

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

mod support;

use std::process::Command;

use support::Server;

fn ensuresec() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ensuresec"));
    c.env("ENSURESEC_LOG", "warn");
    c
}

#[test]
fn config_check_names_the_bad_key_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.toml");
    std::fs::write(
        &good,
        "[server]\nlisten = \"0.0.0.0:9000\"\n\n[storage]\nevent_retention_hours = 24\n",
    )
    .unwrap();
    let out = ensuresec()
        .arg("config")
        .arg("check")
        .arg(&good)
        .output()
        .unwrap();
    support::assert_success(&out);

    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[server]\nlisten = \"0.0.0.0:9000\"\n\n[storage]\nretention = 24\n",
    )
    .unwrap();
    let out = ensuresec()
        .arg("config")
        .arg("check")
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("line 5") && err.contains("retention"), "{err}");

    let typed = dir.path().join("typed.toml");
    std::fs::write(&typed, "[server]\nmax_body_bytes = \"big\"\n").unwrap();
    let out = ensuresec()
        .arg("config")
        .arg("check")
        .arg(&typed)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(err.contains("line 2"), "{err}");
}

#[test]
fn a_bad_config_file_stops_serve_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[pipeline]\npartitions = -1\n").unwrap();
    let out = ensuresec()
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.toml") && err.contains("line 2"), "{err}");
}

#[test]
fn environment_variables_override_the_file_and_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let out = ensuresec()
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("ENSURESEC_STORAGE__EVENT_RETENTION_HOURS", "soon")
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("ENSURESEC_STORAGE__EVENT_RETENTION_HOURS"),
        "{err}"
    );
}

fn simulate(args: &[&str]) -> String {
    let out = ensuresec()
        .args(["simulate", "--start", "2026-11-20T18:00:00Z"])
        .args(args)
        .output()
        .unwrap();
    support::assert_success(&out);
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn simulate_is_deterministic_by_seed() {
    let a = simulate(&[
        "--scenario",
        "credential-stuffing",
        "--seed",
        "9",
        "--count",
        "500",
    ]);
    let b = simulate(&[
        "--scenario",
        "credential-stuffing",
        "--seed",
        "9",
        "--count",
        "500",
    ]);
    let c = simulate(&[
        "--scenario",
        "credential-stuffing",
        "--seed",
        "10",
        "--count",
        "500",
    ]);
    assert_eq!(a.lines().count(), 500);
    assert_eq!(a, b);
    assert_ne!(a, c);
}

#[test]
fn offline_ingest_of_a_simulated_attack_opens_incidents() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("day.ndjson");
    let events = simulate(&[
        "--scenario",
        "mixed",
        "--rate",
        "20",
        "--duration-seconds",
        "3600",
        "--campaigns-per-hour",
        "12",
    ]);
    std::fs::write(&file, events).unwrap();
    let out = ensuresec()
        .args(["ingest", "--offline", "--data-dir"])
        .arg(dir.path().join("data"))
        .arg(&file)
        .output()
        .unwrap();
    let summary = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{summary}");
    // The summary table's last data row: events, batches, seconds, rate, alerts, incidents.
    let row: Vec<&str> = summary
        .lines()
        .rev()
        .find(|l| l.starts_with("| ") && l.chars().nth(2).is_some_and(|c| c.is_ascii_digit()))
        .unwrap()
        .split('|')
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    let incidents: u64 = row[5].parse().unwrap();
    assert!(incidents >= 2, "{summary}");
}

#[test]
fn online_ingest_reports_the_file_line_of_a_bad_event() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), &[]);
    let file = dir.path().join("events.ndjson");
    let mut lines = support::seven_logins();
    lines[5] = lines[5].replace("\"login\"", "\"levitate\"");
    std::fs::write(&file, lines.join("\n")).unwrap();
    let out = support::ingest_in_threes(&server.base, &file, &[]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("events.ndjson:6:") && err.contains("levitate"),
        "{err}"
    );
    assert!(
        err.contains("the 3 events before the failing batch are stored"),
        "{err}"
    );
}

#[test]
fn a_second_pipeline_on_the_same_data_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let _server = Server::start(&data, &[]);
    let file = dir.path().join("e.ndjson");
    std::fs::write(&file, support::failed_login("a", "192.0.2.1", 1)).unwrap();
    let out = ensuresec()
        .args(["ingest", "--offline", "--data-dir"])
        .arg(&data)
        .arg(&file)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("in use by another ensuresec process"), "{err}");
}

#[test]
fn a_simulated_delivery_day_keeps_its_labels_in_their_own_file() {
    let dir = tempfile::tempdir().unwrap();
    let labels = dir.path().join("truth.ndjson");
    let labels_arg = labels.to_str().unwrap();
    let events = simulate(&[
        "--scenario",
        "delivery",
        "--seed",
        "4",
        "--labels",
        labels_arg,
    ]);
    let mut types = std::collections::BTreeSet::new();
    for line in events.lines() {
        let e: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(
            e.get("labels")
                .is_none_or(|l| l.as_object().unwrap().is_empty()),
            "{line}"
        );
        types.insert(e["type"].as_str().unwrap().to_string());
    }
    for t in [
        "delivery_plan",
        "delivery_scan",
        "sensor_reading",
        "delivery_claim",
        "badge_access",
        "auth",
        "order",
    ] {
        assert!(types.contains(t), "{t} missing from {types:?}");
    }
    let truth = std::fs::read_to_string(&labels).unwrap();
    let kinds: std::collections::BTreeSet<String> = truth
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["kind"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert!(
        kinds.contains("takeover_redirect") && kinds.contains("cold_chain_break"),
        "{kinds:?}"
    );
    // The shop scenarios label their events themselves.
    let out = ensuresec()
        .args([
            "simulate",
            "--scenario",
            "sqli",
            "--count",
            "5",
            "--labels",
            labels_arg,
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--labels is for --scenario delivery"));
    // A day is a day: a duration would be silently ignored, so it is refused.
    let out = ensuresec()
        .args([
            "simulate",
            "--scenario",
            "delivery",
            "--duration-seconds",
            "60",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("do not apply to --scenario delivery"));
}

#[test]
fn delivery_evaluate_scores_a_day_and_writes_what_it_saw() {
    let dir = tempfile::tempdir().unwrap();
    let alerts = dir.path().join("alerts.ndjson");
    let out = ensuresec()
        .args([
            "delivery",
            "evaluate",
            "--days",
            "1",
            "--seed",
            "2",
            "--markdown",
            "--alerts",
        ])
        .arg(&alerts)
        .output()
        .unwrap();
    support::assert_success(&out);
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(
        table.contains("| attack | injected | detected |"),
        "{table}"
    );
    let row = table
        .lines()
        .find(|l| l.starts_with("| takeover_redirect |"))
        .unwrap_or_else(|| panic!("{table}"));
    // The chain ran over the behaviour and delivery alerts of the real detectors.
    let cells: Vec<&str> = row.split('|').map(str::trim).collect();
    assert_eq!(
        cells[2], cells[3],
        "every takeover injected was detected: {row}"
    );
    let written = std::fs::read_to_string(&alerts).unwrap();
    assert!(
        written
            .lines()
            .any(|l| l.contains("\"rule_id\":\"takeover-redirect\""))
    );
    assert!(
        written
            .lines()
            .any(|l| l.contains("\"rule_id\":\"account-takeover-address-change\""))
    );
}
