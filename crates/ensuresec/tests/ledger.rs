#![allow(clippy::unwrap_used)] // in tests a panic is the failure report
//! The tamper-evident audit trail end to end (issue 4), with the real server, the real
//! `ensuresec witness` and the offline verifiers.

mod support;

use std::io::{BufRead, BufReader, Read as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ensuresec_auditlog::checkpoint::Checkpoint;
use ensuresec_auditlog::note::{SignerKey, parse_signer_key};
use ensuresec_auditlog::witness::AddCheckpoint;
use ensuresec_auditlog::{Log, LogConfig};
use serde_json::Value;
use support::{Server, TOKEN, client, post_events, stuffing};

fn ensuresec(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ensuresec"))
        .args(args)
        .env("ENSURESEC_LOG", "warn")
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The log's current verifier key, as `ensuresec ledger key` prints it (last line).
fn log_vkey(data: &Path) -> String {
    let o = ensuresec(&["ledger", "key", "--data-dir", data.to_str().unwrap()]);
    assert!(o.status.success(), "{o:?}");
    stdout(&o).lines().last().unwrap().trim().to_string()
}

/// Subscribes to the live stream, sends a credential-stuffing wave from `ip`, and returns the
/// incident as delivered (after the audit log stamped it).
fn attack_and_wait(server: &Server, ip: &str) -> Value {
    let stream = client()
        .get(server.url("/v1/stream"))
        .bearer_auth(TOKEN)
        .send()
        .unwrap();
    assert_eq!(post_events(server, stuffing(ip, 30)).status(), 200);
    let mut event = String::new();
    for line in BufReader::new(stream).lines() {
        let line = line.expect("the stream delivers before the client's time-out");
        if let Some(name) = line.strip_prefix("event: ") {
            event = name.to_string();
        } else if let Some(data) = line.strip_prefix("data: ")
            && event == "incident"
        {
            let v: Value = serde_json::from_str(data).unwrap();
            if v["entity"]["value"] == ip {
                return v;
            }
        }
    }
    panic!("the stream ended without the incident");
}

fn get(server: &Server, path: &str) -> reqwest::blocking::Response {
    client()
        .get(server.url(path))
        .bearer_auth(TOKEN)
        .send()
        .unwrap()
}

fn publish(server: &Server) -> Value {
    let r = client()
        .post(server.url("/v1/ledger/checkpoint"))
        .bearer_auth(TOKEN)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json().unwrap()
}

/// Offsets of each entry's data in entries.log (`len u32 | crc32 u32 | data`, big-endian).
fn entry_offsets(entries_log: &Path) -> Vec<(u64, usize)> {
    let bytes = std::fs::read(entries_log).unwrap();
    let mut out = Vec::new();
    let mut at = 0usize;
    while at + 8 <= bytes.len() {
        let len = u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
        out.push(((at + 8) as u64, len));
        at += 8 + len;
    }
    out
}

#[test]
fn an_incident_receipt_verifies_offline_and_a_flipped_byte_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut server = Server::start(&data, &[]);
    let incident = attack_and_wait(&server, "203.0.113.50");
    let index = incident["ledger_index"]
        .as_u64()
        .expect("incident stamped with its leaf index");
    let id = incident["id"].as_u64().unwrap();
    // The store kept the index.
    let stored: Value = get(&server, &format!("/v1/incidents/{id}")).json().unwrap();
    assert_eq!(stored["incident"]["ledger_index"], index);
    assert!(stored["alerts"][0]["ledger_index"].is_u64());

    let r = get(&server, &format!("/v1/ledger/receipt/incident/{id}"));
    assert_eq!(r.status(), 200);
    let receipt = r.text().unwrap();
    let file = dir.path().join("receipt.json");
    std::fs::write(&file, &receipt).unwrap();
    let vkey = get(&server, "/v1/ledger/key")
        .text()
        .unwrap()
        .lines()
        .last()
        .unwrap()
        .to_string();

    let o = ensuresec(&[
        "ledger",
        "verify-receipt",
        file.to_str().unwrap(),
        "--key",
        &vkey,
        "--format",
        "json",
    ]);
    assert!(o.status.success(), "{o:?}");
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    // The incident's latest record: it is recorded again when it changes (an alert joins it).
    assert!(v["index"].as_u64().unwrap() >= index, "{v}");
    assert_eq!(v["record"]["kind"], "incident");
    assert_eq!(v["record"]["record"]["id"], id);

    // A receipt whose entry was edited no longer verifies.
    let mut forged: Value = serde_json::from_str(&receipt).unwrap();
    let entry =
        String::from_utf8(STANDARD.decode(forged["entry"].as_str().unwrap()).unwrap()).unwrap();
    forged["entry"] = STANDARD.encode(entry.replace("\"high\"", "\"low\"")).into();
    std::fs::write(&file, forged.to_string()).unwrap();
    let o = ensuresec(&[
        "ledger",
        "verify-receipt",
        file.to_str().unwrap(),
        "--key",
        &vkey,
    ]);
    assert_eq!(o.status.code(), Some(1), "{o:?}");

    // Offline whole-log verification: fine, then a flipped byte is named by its index.
    server.kill_hard();
    let ledger = data.join("ledger");
    let o = ensuresec(&["ledger", "verify", ledger.to_str().unwrap(), "--key", &vkey]);
    assert!(o.status.success(), "{o:?}");
    let offsets = entry_offsets(&ledger.join("entries.log"));
    let (offset, len) = offsets[index as usize];
    let mut bytes = std::fs::read(ledger.join("entries.log")).unwrap();
    bytes[(offset as usize) + len / 2] ^= 0x01;
    std::fs::write(ledger.join("entries.log"), bytes).unwrap();
    let o = ensuresec(&[
        "ledger",
        "verify",
        ledger.to_str().unwrap(),
        "--key",
        &vkey,
        "--format",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["ok"], false);
    assert_eq!(v["first_bad_index"], index, "{v}");
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .contains(&format!("entry {index}")),
        "{v}"
    );
}

/// A running `ensuresec witness`, its stderr kept in a file.
struct WitnessProcess {
    child: Child,
    url: String,
    stderr: PathBuf,
}

impl WitnessProcess {
    fn start(dir: &Path, key: &Path, log_vkey: &str) -> WitnessProcess {
        let stderr = dir.join("witness.err");
        let mut child = Command::new(env!("CARGO_BIN_EXE_ensuresec"))
            .args(["witness", "--listen", "127.0.0.1:0", "--key"])
            .arg(key)
            .args(["--log-vkey", log_vkey, "--state"])
            .arg(dir.join("witness-state.json"))
            .env("ENSURESEC_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let url = loop {
            let line = lines.next().expect("witness printed its address").unwrap();
            if let Some(rest) = line.split("listening on ").nth(1) {
                let clean: String = rest.chars().filter(|c| !c.is_control()).collect();
                break clean
                    .replace("[1m", "")
                    .replace("[0m", "")
                    .trim()
                    .to_string();
            }
        };
        std::thread::spawn(move || for _ in lines {});
        WitnessProcess { child, url, stderr }
    }
}

impl Drop for WitnessProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_witness_process_cosigns_checkpoints_and_refuses_a_fork() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let vkey = log_vkey(&data);
    let o = ensuresec(&[
        "ledger",
        "keygen",
        "partner.example/witness",
        "--witness",
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{o:?}");
    let witness_vkey = stdout(&o).lines().last().unwrap().trim().to_string();
    let witness_key = dir.path().join("partner.example_witness.skey");
    let witness = WitnessProcess::start(dir.path(), &witness_key, &vkey);
    let config = dir.path().join("ensuresec.toml");
    std::fs::write(
        &config,
        format!(
            "[ledger]\ncheckpoint_interval_seconds = 3600\npolicy = 1\n[[ledger.witnesses]]\nurl = \"{}\"\nvkey = \"{witness_vkey}\"\n",
            witness.url
        ),
    )
    .unwrap();
    let mut server = Server::start(&data, &["--config", config.to_str().unwrap()]);
    attack_and_wait(&server, "203.0.113.60");
    let p = publish(&server);
    assert_eq!(p["counts"], true, "{p}");
    assert_eq!(p["witnesses"][0]["cosigned"], true, "{p}");
    let cosigned = get(&server, "/v1/ledger/checkpoint/cosigned")
        .text()
        .unwrap();
    assert!(
        cosigned.contains("— partner.example/witness "),
        "{cosigned}"
    );
    // A second checkpoint is consistent with the first: cosigned again, with a proof.
    attack_and_wait(&server, "203.0.113.61");
    let p2 = publish(&server);
    assert_eq!(p2["counts"], true, "{p2}");
    let size = p2["size"].as_u64().unwrap();
    assert!(size > p["size"].as_u64().unwrap());

    // The receipt carries the cosignature and meets a 1-of-1 policy offline.
    let receipt = get(&server, "/v1/ledger/receipt/0").text().unwrap();
    let file = dir.path().join("receipt.json");
    std::fs::write(&file, receipt).unwrap();
    let o = ensuresec(&[
        "ledger",
        "verify-receipt",
        file.to_str().unwrap(),
        "--key",
        &vkey,
        "--witness",
        &witness_vkey,
        "--policy",
        "1",
    ]);
    assert!(o.status.success(), "{o:?}");
    server.kill_hard();
    let o = ensuresec(&[
        "ledger",
        "verify",
        data.join("ledger").to_str().unwrap(),
        "--key",
        &vkey,
        "--witness",
        &witness_vkey,
    ]);
    assert!(o.status.success(), "{o:?}");

    // A fork: another history signed with the same log key, presented as an extension of the
    // checkpoint the witness cosigned.
    let skey = std::fs::read_to_string(data.join("ledger/log.skey")).unwrap();
    let SignerKey::Ed25519(signer) = parse_signer_key(&skey).unwrap() else {
        panic!("log key")
    };
    let origin = std::fs::read_to_string(data.join("ledger/origin"))
        .unwrap()
        .trim()
        .to_string();
    let fork_dir = dir.path().join("fork");
    let fork = Log::open(&fork_dir, LogConfig::default()).unwrap();
    for i in 0..size + 3 {
        fork.append_blocking(format!("{{\"kind\":\"forged\",\"n\":{i}}}").into_bytes())
            .unwrap();
    }
    let note = fork.publish_checkpoint(&origin, &signer).unwrap();
    assert_eq!(Checkpoint::parse(&note.text).unwrap().size, size + 3);
    let body = AddCheckpoint {
        old_size: size,
        proof: fork.reader().consistency_proof(size, size + 3).unwrap(),
        checkpoint: note.to_string().into_bytes(),
    }
    .to_body();
    let r = client()
        .post(format!("{}/add-checkpoint", witness.url))
        .body(body)
        .send()
        .unwrap();
    assert_eq!(r.status(), 422, "a fork must be refused");
    // A rollback to a smaller tree is refused too.
    let smaller = Log::open(dir.path().join("small"), LogConfig::default()).unwrap();
    smaller.append_blocking(b"x".to_vec()).unwrap();
    let note = smaller.publish_checkpoint(&origin, &signer).unwrap();
    let body = AddCheckpoint {
        old_size: 0,
        proof: vec![],
        checkpoint: note.to_string().into_bytes(),
    }
    .to_body();
    let r = client()
        .post(format!("{}/add-checkpoint", witness.url))
        .body(body)
        .send()
        .unwrap();
    assert_eq!(r.status(), 409);
    assert_eq!(r.text().unwrap().trim(), size.to_string());
    let mut log = String::new();
    std::fs::File::open(&witness.stderr)
        .unwrap()
        .read_to_string(&mut log)
        .unwrap();
    assert!(
        log.contains("REFUSED") && log.contains("fork"),
        "the witness logs the fork loudly: {log}"
    );
    assert!(log.contains("rollback"), "{log}");
}

#[test]
fn kill_9_during_appends_loses_no_acknowledged_record() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut server = Server::start(&data, &[]);
    let base = server.base.clone();
    // A steady stream of attacks, each from its own address, while incidents are watched.
    let stream = client()
        .get(server.url("/v1/stream"))
        .bearer_auth(TOKEN)
        .send()
        .unwrap();
    let sender = std::thread::spawn(move || {
        for n in 0..200u32 {
            let body = stuffing(&format!("198.51.100.{}", n % 250), 30);
            let sent = client()
                .post(format!("{base}/v1/events"))
                .bearer_auth(TOKEN)
                .header("content-type", "application/x-ndjson")
                .body(body)
                .send();
            if sent.is_err() {
                return; // the server is gone
            }
        }
    });
    let mut acknowledged: Vec<(u64, u64)> = Vec::new();
    let mut event = String::new();
    for line in BufReader::new(stream).lines() {
        let Ok(line) = line else { break };
        if let Some(name) = line.strip_prefix("event: ") {
            event = name.to_string();
        } else if let Some(d) = line.strip_prefix("data: ")
            && event == "incident"
        {
            let v: Value = serde_json::from_str(d).unwrap();
            acknowledged.push((
                v["id"].as_u64().unwrap(),
                v["ledger_index"].as_u64().unwrap(),
            ));
            if acknowledged.len() == 10 {
                server.kill_hard();
                break;
            }
        }
    }
    let _ = sender.join();
    assert_eq!(acknowledged.len(), 10);
    // Restart: recovery, then every acknowledged record is at its index.
    let server = Server::start(&data, &[]);
    for (id, index) in &acknowledged {
        let receipt: Value = get(&server, &format!("/v1/ledger/receipt/{index}"))
            .json()
            .unwrap();
        let entry: Value =
            serde_json::from_slice(&STANDARD.decode(receipt["entry"].as_str().unwrap()).unwrap())
                .unwrap();
        assert_eq!(entry["kind"], "incident");
        assert_eq!(entry["record"]["id"], *id, "entry {index}");
    }
    let vkey = get(&server, "/v1/ledger/key")
        .text()
        .unwrap()
        .lines()
        .last()
        .unwrap()
        .to_string();
    drop(server);
    let o = ensuresec(&[
        "ledger",
        "verify",
        data.join("ledger").to_str().unwrap(),
        "--key",
        &vkey,
    ]);
    assert!(o.status.success(), "{o:?}");
}
