//! `serve` with `[integrity]`: a web shell planted in the watched root becomes an alert with its
//! evidence (hash, and the YARA rule and strings that matched), through the pipeline, within the
//! deadline; a planted file without malicious content is a plain "file planted" alert.

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

mod support;

use std::time::{Duration, Instant};

use support::{Server, TOKEN, client};

#[test]
fn a_planted_web_shell_becomes_an_alert_with_evidence() {
    let support::WebRoot { dir, www, data } = support::web_root_with_baseline();
    let config = dir.path().join("ensuresec.toml");
    std::fs::write(
        &config,
        format!(
            "[integrity]\nroot = \"{}\"\nasset = \"web-1\"\nscan_interval_seconds = 0\n",
            www.display()
        ),
    )
    .unwrap();
    let server = Server::start(&data, &["--config", config.to_str().unwrap()]);
    server.printed("for unplanned changes");

    std::fs::write(
        www.join("wp-shell.php"),
        "<?php @eval(base64_decode($_POST['z']));",
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let alert = loop {
        let alerts: serde_json::Value = client()
            .get(server.url("/v1/alerts?limit=100"))
            .bearer_auth(TOKEN)
            .send()
            .unwrap()
            .json()
            .unwrap();
        let found = alerts["items"]
            .as_array()
            .or(alerts.as_array())
            .and_then(|a| {
                a.iter()
                    .find(|x| x["rule_id"] == "integrity:malicious_content")
                    .cloned()
            });
        if let Some(a) = found {
            break a;
        }
        assert!(Instant::now() < deadline, "no integrity alert: {alerts}");
        std::thread::yield_now();
    };
    assert_eq!(alert["severity"], "critical");
    assert_eq!(alert["entity"]["value"], "web-1");
    assert_eq!(alert["evidence"]["path"], "wp-shell.php");
    assert_eq!(
        alert["evidence"]["hash_after"],
        blake3_hex(b"<?php @eval(base64_decode($_POST['z']));")
    );
    let matches = alert["evidence"]["matches"].as_array().unwrap();
    assert!(
        matches
            .iter()
            .any(|m| m["rule"] == "php_eval_of_request_input"
                && m["strings"][0]
                    .as_str()
                    .unwrap()
                    .contains("eval(base64_decode($_POST")),
        "{matches:?}"
    );

    std::fs::write(www.join("notes.txt"), "hello").unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let alerts = client()
            .get(server.url("/v1/alerts?limit=100"))
            .bearer_auth(TOKEN)
            .send()
            .unwrap()
            .text()
            .unwrap();
        if alerts.contains("file planted: notes.txt") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no alert for notes.txt: {alerts}"
        );
        std::thread::yield_now();
    }
}

fn blake3_hex(bytes: &[u8]) -> String {
    // The same hash the monitor computes, through the CLI-free path: the integrity crate.
    ensuresec_integrity::objects::hash_reader(bytes).unwrap().0
}
