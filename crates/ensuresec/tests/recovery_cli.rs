//! `ensuresec diagnose` and `GET /v1/diagnosis` against the real binary: the root cause from
//! recorded observations and from live probes, the plan as a dry run, an approved execution
//! recorded in the audit log's inbox, and the authenticated API route.

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use support::{Server, TOKEN, client, output_text};

fn scenario(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../recovery/scenarios")
        .join(file)
}

fn diagnose(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ensuresec"))
        .env("ENSURESEC_LOG", "warn")
        .env("NO_COLOR", "1")
        .arg("diagnose")
        .arg("--assets")
        .arg(scenario("assets.yaml"))
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .output()
        .unwrap()
}

/// The database is down, and with it the API; login answers (the returned listener). The
/// recovery file probes the three as TCP ports, and restarting the database runs `touch` on the
/// returned flag path.
fn database_down(dir: &Path) -> (std::net::TcpListener, PathBuf, PathBuf) {
    let identity = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let flag = dir.join("restarted");
    let path = dir.join("recovery.yaml");
    std::fs::write(
        &path,
        format!(
            "probes:\n  - asset: order-db\n    tcp: {{ address: \"{}\" }}\n  - asset: shop-api\n    tcp: {{ address: \"{}\" }}\n  - asset: identity\n    tcp: {{ address: \"{}\" }}\nactions:\n  - asset: order-db\n    steps:\n      - restart: {{ command: [touch, \"{}\"] }}\nverify: {{ timeout_seconds: 1, interval_ms: 50 }}\n",
            closed_port(),
            closed_port(),
            identity.local_addr().unwrap(),
            flag.display()
        ),
    )
    .unwrap();
    (identity, path, flag)
}

fn closed_port() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().to_string()
}

#[test]
fn diagnose_from_observations_prints_the_root_cause_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let observations = dir.path().join("symptoms.json");
    std::fs::write(
        &observations,
        r#"[
          {"asset": "shop-api", "health": "faulty", "at": "2026-12-04T12:00:00Z", "source": "probe:http", "detail": "status 503"},
          {"asset": "promotions", "health": "faulty", "at": "2026-12-04T12:00:00Z", "source": "probe:http", "detail": "status 503"},
          {"asset": "identity", "health": "ok", "at": "2026-12-04T12:00:00Z", "source": "probe:http", "detail": "status 200"}
        ]"#,
    )
    .unwrap();
    let data = dir.path().join("data");
    let o = diagnose(&data, &["--observations", observations.to_str().unwrap()]);
    assert!(o.status.success(), "{}", output_text(&o));
    let out = output_text(&o);
    assert!(out.contains("│ 1    ┆ order-db"), "{out}");
    assert!(out.contains("`shop-api` depends on `order-db`"), "{out}");

    let o = diagnose(
        &data,
        &["--observations", observations.to_str().unwrap(), "--json"],
    );
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["diagnosis"]["candidates"][0]["assets"][0], "order-db");
    assert_eq!(v["plan"], Value::Null);

    std::fs::write(&observations, r#"[{"asset": "nope", "health": "ok"}]"#).unwrap();
    let o = diagnose(&data, &["--observations", observations.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(
        output_text(&o).contains("symptoms.json"),
        "{}",
        output_text(&o)
    );
}

#[test]
fn plan_is_a_dry_run_and_execute_needs_approval_and_records_every_step() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (_identity, recovery, flag) = database_down(dir.path());
    let r = recovery.to_str().unwrap();

    let o = diagnose(&data, &["--recovery", r, "--probe", "--plan"]);
    assert!(o.status.success(), "{}", output_text(&o));
    let out = output_text(&o);
    assert!(out.contains("order-db"), "{out}");
    assert!(out.contains("dry run"), "{out}");
    assert!(
        out.contains(&format!(
            "restart `order-db`: run `touch {}`",
            flag.display()
        )),
        "{out}"
    );
    assert!(!flag.exists(), "a dry run runs nothing");

    let o = diagnose(&data, &["--recovery", r, "--probe", "--execute"]);
    assert!(!o.status.success());
    assert!(
        output_text(&o).contains("--approved-by"),
        "{}",
        output_text(&o)
    );
    assert!(!flag.exists());

    // The command runs, but nothing brings the port back: the re-probe fails, exit 3.
    let o = diagnose(
        &data,
        &[
            "--recovery",
            r,
            "--probe",
            "--execute",
            "--approved-by",
            "alice",
            "--reason",
            "orders fail since 14:00",
        ],
    );
    assert_eq!(o.status.code(), Some(3), "{}", output_text(&o));
    assert!(flag.exists(), "the approved restart ran");
    assert!(
        output_text(&o).contains("NOT recovered"),
        "{}",
        output_text(&o)
    );
    let inbox: Vec<String> = std::fs::read_dir(data.join("ledger-inbox"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    assert!(inbox.iter().all(|r| r.contains("\"recovery\"")));
    assert!(inbox.iter().any(|r| r.contains("recovery_approved")
        && r.contains("alice")
        && r.contains("orders fail since 14:00")));
    assert!(inbox.iter().any(|r| r.contains("\"failed\"")));
    assert!(inbox.iter().any(|r| r.contains("recovery_finished")));
}

#[test]
fn diagnosis_route_needs_a_token_and_uses_the_probes() {
    let dir = tempfile::tempdir().unwrap();
    let (_identity, recovery, _flag) = database_down(dir.path());
    let assets = scenario("assets.yaml");
    let server = Server::start_with_env(
        &dir.path().join("data"),
        &["--assets", assets.to_str().unwrap()],
        &[("ENSURESEC_RECOVERY__FILE", recovery.to_str().unwrap())],
    );
    let c = client();
    assert_eq!(
        c.get(server.url("/v1/diagnosis")).send().unwrap().status(),
        401
    );
    let v: Value = c
        .get(server.url("/v1/diagnosis?top=3"))
        .bearer_auth(TOKEN)
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(v["candidates"][0]["assets"][0], "order-db", "{v:#}");
    assert!(
        v["exonerated"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a == "customer-db")
    );
    let bad = c
        .get(server.url("/v1/diagnosis?max_size=9"))
        .bearer_auth(TOKEN)
        .send()
        .unwrap();
    assert_eq!(bad.status(), 400);
}
