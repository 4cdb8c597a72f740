//! Payment fraud in a real `ensuresec serve`: `POST /v1/payments/score` (tokens, strict input,
//! shared state), payment events scored in the pipeline and fraud rings raised as alerts, the
//! model swapped on SIGHUP without a failed request, the feature state and the ring graph kept
//! across a restart, and `fraud evaluate --events`.

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

mod support;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::{Value, json};
use support::{Server, TOKEN, client, post_events, wait_for};

fn request(id: &str, card: &str) -> Value {
    json!({
        "payment_id": id,
        "time": "2026-11-21T10:00:00Z",
        "amount": {"minor": 4_999, "currency": "EUR"},
        "merchant": "shop-1",
        "card": {"fingerprint": card, "bin": "424242", "country": "DE"},
        "billing": {"country": "DE"},
        "ip": "192.0.2.1",
        "ip_country": "DE",
        "device": format!("dev-{card}")
    })
}

fn score(server: &Server, body: &Value) -> reqwest::blocking::Response {
    client()
        .post(server.url("/v1/payments/score"))
        .bearer_auth(TOKEN)
        .json(body)
        .send()
        .unwrap()
}

fn status(server: &Server) -> Value {
    client()
        .get(server.url("/v1/payments/status"))
        .bearer_auth(TOKEN)
        .send()
        .unwrap()
        .json()
        .unwrap()
}

#[test]
fn score_needs_a_token_names_bad_fields_and_keeps_state() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), &[]);
    let c = client();
    let url = server.url("/v1/payments/score");
    let body = request("p1", "card-1");
    assert_eq!(c.post(&url).json(&body).send().unwrap().status(), 401);
    let r = c
        .post(&url)
        .bearer_auth("es_wrong")
        .json(&body)
        .send()
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(
        status(&server)["entities"],
        0,
        "refused requests count nothing"
    );

    let r = score(&server, &body);
    assert_eq!(r.status(), 200);
    let a: Value = r.json().unwrap();
    assert_eq!(a["payment_id"], "p1");
    assert_eq!(a["decision"], "approve", "{a}");
    assert!(a["probability"].as_f64().unwrap() < 0.1, "{a}");

    // The server reads the wall clock; a minute either side of its 300 s limit is far more
    // than a request takes.
    #[allow(clippy::disallowed_methods)]
    let ahead = |seconds| (chrono::Utc::now() + chrono::Duration::seconds(seconds)).to_rfc3339();
    let cases: [(&str, Value, &str); 7] = [
        ("/merchant", Value::Null, "merchant"),
        ("/amount/currency", "EURO".into(), "amount.currency"),
        ("/amount/minor", 1_000_000_000_000i64.into(), "amount.minor"),
        ("/card/bin", "4242".into(), "card.bin"),
        ("/time", ahead(360).into(), "time"),
        ("/time", "9999-12-31T00:00:00Z".into(), "time"),
        ("/time", "1985-06-01T00:00:00Z".into(), "time"),
    ];
    for (pointer, value, field) in cases {
        let mut bad = request("bad", "card-2");
        if value.is_null() {
            bad.as_object_mut().unwrap().remove("merchant");
        } else {
            *bad.pointer_mut(pointer).unwrap() = value;
        }
        let r = score(&server, &bad);
        assert_eq!(r.status(), 400, "{pointer}");
        let e: Value = r.json().unwrap();
        assert_eq!(e["error"]["code"], "invalid_payment", "{e}");
        assert_eq!(e["error"]["field"], field, "{e}");
    }
    let mut unknown = request("bad", "card-2");
    unknown["colour"] = "red".into();
    let e: Value = score(&server, &unknown).json().unwrap();
    assert_eq!(e["error"]["field"], "colour", "{e}");
    let r = c
        .post(&url)
        .bearer_auth(TOKEN)
        .body("{not json")
        .send()
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = c
        .post(&url)
        .bearer_auth(TOKEN)
        .body(vec![b' '; 17 * 1024])
        .send()
        .unwrap();
    assert_eq!(r.status(), 413);
    assert_eq!(
        status(&server)["entities"].as_u64().unwrap(),
        3,
        "only the valid payment was counted: its card, device and IP address"
    );
    let mut soon = request("p-soon", "card-1");
    soon["time"] = ahead(240).into();
    assert_eq!(score(&server, &soon).status(), 200, "within the clock skew");

    // A blocking rule declines and is the first reason.
    let mut blocked = request("p2", "card-3");
    blocked["three_ds"] = "failed".into();
    blocked["amount"]["minor"] = 250_000.into();
    let a: Value = score(&server, &blocked).json().unwrap();
    assert_eq!(a["decision"], "decline", "{a}");
    assert_eq!(a["reasons"][0]["code"], "three-ds-failed-high-value", "{a}");

    // The state is shared between requests: a burst on one card is card testing.
    let mut last = Value::Null;
    for i in 0..7 {
        let mut r = request(&format!("burst{i}"), "card-4");
        r["time"] = format!("2026-11-21T10:00:{:02}Z", i + 10).into();
        last = score(&server, &r).json().unwrap();
    }
    assert_ne!(last["decision"], "approve", "{last}");
    assert_eq!(last["reasons"][0]["code"], "card-testing", "{last}");
}

fn payment_event(second: u32, id: &str, card: &str, extra: Value) -> String {
    let mut data = json!({
        "payment_id": id, "card_fingerprint": card,
        "amount": {"minor": 8_000, "currency": "EUR"}, "outcome": "approved",
        "bin": "424242", "merchant": "shop-1", "billing_country": "DE"
    });
    for (k, v) in extra.as_object().unwrap() {
        data[k] = v.clone();
    }
    json!({"type": "payment_authorization", "time": format!("2026-11-21T10:{:02}:{:02}Z", second / 60, second % 60),
        "source": "psp", "data": data})
    .to_string()
}

fn alerts(server: &Server, rule: &str) -> Vec<Value> {
    let v: Value = client()
        .get(server.url(&format!("/v1/alerts?detector=fraud&rule={rule}")))
        .bearer_auth(TOKEN)
        .send()
        .unwrap()
        .json()
        .unwrap();
    v["items"].as_array().cloned().unwrap_or_default()
}

/// Asserts that a ring's evidence links its members into one tree (the whole group is
/// listed), each link a stolen card and another entity of its payment.
fn assert_links_span_the_ring(evidence: &Value) {
    let members: Vec<&str> = evidence["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["value"].as_str().unwrap())
        .collect();
    assert_eq!(members.len(), evidence["size"].as_u64().unwrap() as usize);
    let links = evidence["links"].as_array().expect("links");
    assert_eq!(links.len(), members.len() - 1, "{evidence}");
    let mut hangs = vec![false; members.len()];
    for link in links {
        let [i, j] = [0, 1].map(|k| link[k].as_u64().unwrap() as usize);
        assert!(!std::mem::replace(&mut hangs[i], true), "{evidence}");
        let cards = [members[i], members[j]]
            .iter()
            .filter(|m| m.starts_with("stolen"))
            .count();
        assert_eq!(cards, 1, "a card and another entity: {link} in {evidence}");
    }
}

#[test]
fn payment_events_are_scored_and_a_ring_becomes_an_incident() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), &[]);
    let mut lines = Vec::new();
    // Four stolen cards cashed out on two devices to one drop address.
    for i in 0..4 {
        lines.push(payment_event(
            i,
            &format!("ring{i}"),
            &format!("stolen{i}"),
            json!({"device": format!("dev-{}", i % 2), "shipping_country": "DE",
                   "shipping_address_hash": "drop-1"}),
        ));
    }
    // A failed 3-D Secure on a large amount: declined by the blocking rule.
    lines.push(payment_event(
        30,
        "big",
        "other",
        json!({"three_ds": "failed", "amount": {"minor": 300_000, "currency": "EUR"}}),
    ));
    // No billing country: not scored, counted.
    let mut unscorable: Value =
        serde_json::from_str(&payment_event(31, "nb", "x", json!({}))).unwrap();
    unscorable["data"]
        .as_object_mut()
        .unwrap()
        .remove("billing_country");
    lines.push(unscorable.to_string());
    assert_eq!(post_events(&server, lines.join("\n")).status(), 200);

    let decline = wait_for("the decline alert", 30, || {
        alerts(&server, "payment-decline").into_iter().next()
    });
    assert_eq!(decline["entity"]["value"], "other", "{decline}");
    assert_eq!(decline["evidence"]["assessment"]["decision"], "decline");
    assert!(alerts(&server, "fraud-ring").is_empty());

    let labels: Vec<String> = (0..3).map(chargeback).collect();
    assert_eq!(post_events(&server, labels.join("\n")).status(), 200);
    let ring = wait_for("the fraud-ring alert", 30, || {
        alerts(&server, "fraud-ring").into_iter().next()
    });
    let evidence = &ring["evidence"]["ring"];
    assert_eq!(evidence["frauds"], 3, "{ring}");
    assert_eq!(evidence["payments"], 4, "{ring}");
    let members: Vec<String> = evidence["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["value"].as_str().unwrap().to_string())
        .collect();
    for m in ["stolen0", "stolen3", "dev-0", "dev-1", "drop-1"] {
        assert!(members.iter().any(|x| x == m), "{m} not in {members:?}");
    }
    assert!(!members.iter().any(|x| x == "other"), "{members:?}");
    assert_links_span_the_ring(evidence);
    assert!(
        ring["incident_id"].as_u64().is_some(),
        "the correlator put the ring in an incident: {ring}"
    );
    assert_eq!(status(&server)["unscored_events"], 1);
}

/// Labelled rows over online features: fraud follows card velocity and failed 3-D Secure.
fn training_csv(path: &Path, extra_column: bool) {
    let mut out = String::from("time,amount,card_count_1h,three_ds_failed,account_age_days");
    out.push_str(if extra_column {
        ",device_cards,label\n"
    } else {
        ",label\n"
    });
    let mut numbers = ensuresec_fraud::fixtures::Uniform::new(7);
    let mut next = || numbers.draw();
    for i in 0..3000 {
        let count = (next() * 10.0).floor();
        let failed = f64::from(u8::from(next() < 0.1));
        let amount = 5.0 + next() * 500.0;
        let age = (next() * 1000.0).floor();
        let devices = (next() * 4.0).floor();
        let risk = -5.0 + 0.9 * count + 2.0 * failed;
        let fraud = next() < 1.0 / (1.0 + (-risk).exp());
        out.push_str(&format!("{i},{amount:.2},{count},{failed},{age}"));
        if extra_column {
            out.push_str(&format!(",{devices}"));
        }
        out.push_str(&format!(",{}\n", u8::from(fraud)));
    }
    std::fs::write(path, out).unwrap();
}

/// Trains a small model on `training_csv`'s rows with `fraud train`, plus `more` arguments.
fn train(dir: &Path, name: &str, extra_column: bool, more: &[&str]) -> std::path::PathBuf {
    let csv = dir.join(format!("{name}.csv"));
    training_csv(&csv, extra_column);
    let model = dir.join(format!("{name}.json"));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ensuresec"))
        .args([
            "fraud",
            "train",
            "--label",
            "label",
            "--time",
            "time",
            "--leaves",
            "7",
            "--max-trees",
            "100",
            "--members",
            "2",
            "--threads",
            "1",
        ])
        .args(more)
        .arg(&csv)
        .arg("--out")
        .arg(&model)
        .output()
        .unwrap();
    support::assert_success(&out);
    model
}

/// Sends `server` a signal (`HUP`, `TERM`) with `kill`, as an operator would.
fn signal(server: &Server, name: &str) {
    let ok = std::process::Command::new("kill")
        .args([&format!("-{name}"), &server.child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill -{name}");
}

/// `ensuresec fraud inspect FILE`: its JSON when it succeeds, else the test fails.
fn inspect(file: &Path) -> Value {
    let out = fraud_cli(&["inspect", file.to_str().unwrap()]);
    support::assert_success(&out);
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Runs `ensuresec fraud ARGS`.
fn fraud_cli(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_ensuresec"))
        .arg("fraud")
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn inspect_refuses_what_a_start_would_refuse() {
    let dir = tempfile::tempdir().unwrap();
    let other = dir.path().join("other.bin");
    std::fs::write(&other, "time,amount\n1,2\n").unwrap();
    let out = fraud_cli(&["inspect", other.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(
            "neither a fraud feature state file, a fraud ring file nor a journal of either"
        ),
        "{err}"
    );
    // A ring file cut short: refused with its name and the reason.
    let cut = dir.path().join("cut.bin");
    std::fs::write(&cut, b"ensuresec fraud rings\n\x02\0\0\0").unwrap();
    let out = fraud_cli(&["inspect", cut.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cut.bin") && err.contains("ends inside the header"),
        "{err}"
    );
}

/// Stops `server` as an operator or a service manager does (SIGTERM) and waits for it.
fn terminate(mut server: Server) {
    signal(&server, "TERM");
    assert!(server.child.wait().unwrap().success(), "a clean exit");
}

/// Payment `i` of a card-testing burst on `card`: one every second from 10:00:10.
fn burst(i: u32, card: &str) -> Value {
    let mut r = request(&format!("burst{i}"), card);
    r["time"] = format!("2026-11-21T10:00:{:02}Z", i + 10).into();
    r
}

#[test]
fn the_feature_state_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let burst = |i: u32| burst(i, "card-9");
    let server = Server::start(&data, &[]);
    for i in 0..6 {
        let a: Value = score(&server, &burst(i)).json().unwrap();
        assert_ne!(a["reasons"][0]["code"], "card-testing", "not yet: {a}");
    }
    let entities = status(&server)["entities"].as_u64().unwrap();
    terminate(server);
    assert!(
        data.join("fraud-state.bin").exists(),
        "written on the way out"
    );
    // What a crash in the middle of a save would have left: removed at the next start.
    let leftover = data.join(".fraud-state.bin.q1w2e3.ensuresec.tmp");
    std::fs::write(&leftover, b"half a state").unwrap();
    let inspected = inspect(&data.join("fraud-state.bin"));
    assert_eq!(inspected["format"], "fraud feature state", "{inspected}");
    assert_eq!(
        inspected["total"].as_u64().unwrap(),
        entities,
        "{inspected}"
    );
    assert_eq!(inspected["entities"]["card"], 1, "{inspected}");
    assert_eq!(
        inspected["recent_payments"], 6,
        "remembered by id: {inspected}"
    );

    let server = Server::start(&data, &[]);
    server.printed(&format!("({entities} entities read back)"));
    assert!(
        !leftover.exists(),
        "the leftover of an interrupted save is removed"
    );
    assert_eq!(status(&server)["entities"].as_u64().unwrap(), entities);
    let a: Value = score(&server, &burst(6)).json().unwrap();
    assert_eq!(
        a["reasons"][0]["code"], "card-testing",
        "the burst goes on: {a}"
    );

    // The same payment on a server that forgot: nothing to see.
    let fresh = Server::start(&dir.path().join("other"), &[]);
    let a: Value = score(&fresh, &burst(6)).json().unwrap();
    assert_eq!(a["decision"], "approve", "{a}");
}

#[test]
fn entities_not_seen_for_their_time_to_live_are_forgotten_in_memory_and_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("ensuresec.toml");
    // One shard per kind, so a pass of six steps takes a second.
    std::fs::write(
        &config,
        "[fraud]\nttl_days = 1\nmax_entities = 1000\nreserved_entities = 1000\nsweep_secs = 1\n",
    )
    .unwrap();
    let data = dir.path().join("data");
    let server = Server::start(&data, &["--config", config.to_str().unwrap()]);
    assert_eq!(score(&server, &request("p-old", "old")).status(), 200);
    // Two days later: the old card and device have not been seen for their time to live.
    let mut later = request("p-new", "new");
    later["time"] = "2026-11-23T10:00:00Z".into();
    assert_eq!(score(&server, &later).status(), 200);
    // The new card and device and the IP address both used (which started afresh).
    let s = wait_for("the sweep", 30, || {
        let s = status(&server);
        (s["entities"] == 3).then_some(s)
    });
    assert_eq!(
        (s["expired"].as_u64(), s["evicted"].as_u64()),
        (Some(3), Some(0)),
        "{s}"
    );
    assert_eq!(
        support::metric(&server, "ensuresec_fraud_expired"),
        Some(3.0)
    );
    terminate(server);
    let inspected = inspect(&data.join("fraud-state.bin"));
    assert_eq!(inspected["total"], 3, "{inspected}");
    assert_eq!(inspected["expired"], 3, "{inspected}");
    assert_eq!(inspected["newest_seen"], "2026-11-23T10:00:00+00:00");
}

#[test]
fn the_feature_state_survives_a_kill_9_through_the_journal() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let burst = |i: u32| burst(i, "card-7");
    let mut server = Server::start(&data, &[]);
    let mut answers = Vec::new();
    for i in 0..6 {
        let a: Value = score(&server, &burst(i)).json().unwrap();
        assert_ne!(a["reasons"][0]["code"], "card-testing", "not yet: {a}");
        answers.push(a);
    }
    // The journal is written every 50 ms: wait until it holds the six, then crash.
    wait_for("the six payments in the journal", 30, || {
        (status(&server)["journaled"].as_u64().unwrap() >= 6).then_some(())
    });
    signal(&server, "KILL");
    server.child.wait().unwrap();
    let state = data.join("fraud-state.bin");
    assert!(
        !state.exists(),
        "no state file: the crash came before any write of it"
    );
    let journal = inspect(&data.join("fraud-state.bin.journal.0"));
    assert_eq!(journal["format"], "fraud journal", "{journal}");
    assert_eq!(journal["records"], 6, "{journal}");
    assert_eq!(
        journal["entities"], 3,
        "card, device and IP address: {journal}"
    );

    let server = Server::start(&data, &[]);
    server.printed("fraud journal: 6 payments and declines counted again from 1 file(s)");
    // The client retries the last payment, unsure whether it was counted: it was, so it is
    // answered as it was the first time and not counted again.
    let retried: Value = score(&server, &burst(5)).json().unwrap();
    let p = |a: &Value| a["probability"].as_f64().unwrap();
    assert!(
        (p(&retried) - p(&answers[5])).abs() < 1e-9,
        "{retried} after {}",
        answers[5]
    );
    assert_eq!(retried["reasons"], answers[5]["reasons"]);
    assert_eq!(status(&server)["repeated"], 1);
    let a: Value = score(&server, &burst(6)).json().unwrap();
    assert_eq!(
        a["reasons"][0]["code"], "card-testing",
        "the burst goes on after the crash: {a}"
    );
}

#[test]
fn payment_events_detected_again_after_a_crash_are_not_counted_twice() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut server = Server::start(&data, &[]);
    let lines: Vec<String> = (1..=3)
        .map(|i| payment_event(i, &format!("ev{i}"), "card-6", json!({})))
        .collect();
    assert_eq!(post_events(&server, lines.join("\n")).status(), 200);
    wait_for("the three payments in the fraud journal", 30, || {
        (status(&server)["journaled"].as_u64().unwrap() >= 3).then_some(())
    });
    server.kill_hard();
    // What a crash leaves between the journal's sync and the commit of the findings: the
    // store's detection progress behind what the feature state counted.
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        use ensuresec_store::{DetectionProgress, Findings, SqliteOptions, SqliteStore, Store};
        let store = SqliteStore::open(&data, SqliteOptions::default()).unwrap();
        let rewound = Findings {
            progress: Some(DetectionProgress { next_seq: vec![1] }),
            ..Findings::default()
        };
        store.record(rewound).await.unwrap();
    });

    let server = Server::start(&data, &[]);
    server.printed("detection resumed over 3 events stored but not detected");
    server.printed("fraud journal: 3 payments and declines counted again from 1 file(s)");
    wait_for("the three payments scored again", 30, || {
        (status(&server)["repeated"].as_u64().unwrap() == 3).then_some(())
    });
    // Counted once, the card has three payments in the hour; twice, six would be card
    // testing (five or more).
    let mut probe = request("probe", "card-6");
    probe["time"] = "2026-11-21T10:05:00Z".into();
    let a: Value = score(&server, &probe).json().unwrap();
    assert_eq!(a["decision"], "approve", "{a}");
    assert!(
        a["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["code"] != "card-testing"),
        "{a}"
    );
}

#[test]
fn a_full_journal_has_the_state_written_early() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("ensuresec.toml");
    // Written only at stop by the timer; the journal's size decides here.
    std::fs::write(
        &config,
        "[fraud]\nsave_state_secs = 0\njournal_max_records = 5\n",
    )
    .unwrap();
    let data = dir.path().join("data");
    let server = Server::start(&data, &["--config", config.to_str().unwrap()]);
    for i in 0..6 {
        score(&server, &burst(i, "card-5"));
    }
    let saved = "ensuresec_fraud_state_saves_total{file=\"features\",outcome=\"saved\"}";
    wait_for("the state written because the journal is full", 30, || {
        support::metric(&server, saved).filter(|n| *n >= 1.0)
    });
    let state = inspect(&data.join("fraud-state.bin"));
    assert_eq!(state["entities"]["card"], 1, "{state}");
    assert!(state["journal_from"].as_u64().unwrap() >= 1, "{state}");
    // Made from the journal, not copied under the scorer's lock.
    let from_journal = support::metric(&server, "ensuresec_fraud_saves_from_journal");
    assert!(from_journal.is_some_and(|n| n >= 1.0), "{from_journal:?}");
}

/// A chargeback for payment `ring{i}` of card `stolen{i}`, as a line of events.
fn chargeback(i: u32) -> String {
    json!({"type": "chargeback", "time": format!("2026-11-21T11:00:0{i}Z"), "source": "psp",
        "data": {"payment_id": format!("ring{i}"), "card_fingerprint": format!("stolen{i}"),
                 "amount": {"minor": 8_000, "currency": "EUR"}, "reason_code": "10.4"}})
    .to_string()
}

/// Four stolen cards on two devices to one drop address, and the first chargeback, as lines
/// of events: seven entities in one group, one fraud of four payments.
fn half_a_ring() -> String {
    let mut lines: Vec<String> = (0..4)
        .map(|i| {
            payment_event(
                i,
                &format!("ring{i}"),
                &format!("stolen{i}"),
                json!({"device": format!("dev-{}", i % 2), "shipping_country": "DE",
                       "shipping_address_hash": "drop-1"}),
            )
        })
        .collect();
    lines.push(chargeback(0));
    lines.join("\n")
}

#[test]
fn the_ring_graph_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::start(&data, &[]);
    // Four stolen cards on two devices to one drop address, and the first chargeback.
    assert_eq!(post_events(&server, half_a_ring()).status(), 200);
    // Stopping drains the pipeline first, so the graph written holds all of it.
    terminate(server);
    assert!(
        data.join("fraud-rings.bin").exists(),
        "written on the way out"
    );
    let inspected = inspect(&data.join("fraud-rings.bin"));
    assert_eq!(inspected["format"], "fraud ring graph", "{inspected}");
    assert_eq!(inspected["newer"]["entities"], 7, "{inspected}");
    assert_eq!(inspected["newer"]["payments"], 4, "{inspected}");
    assert_eq!(inspected["newer"]["frauds"], 1, "{inspected}");
    assert_eq!(inspected["newer"]["largest_group"], 7, "{inspected}");
    assert_eq!(
        inspected["newer"]["linked"], 6,
        "one tree of links: {inspected}"
    );

    // Cards, devices and the address: seven entities; the chargebacks weeks later still find
    // their payments, and the ring is raised.
    let server = Server::start(&data, &[]);
    server.printed("fraud-rings.bin (7 entities read back)");
    assert_eq!(
        post_events(&server, [chargeback(1), chargeback(2)].join("\n")).status(),
        200
    );
    let ring = wait_for("the fraud-ring alert after the restart", 30, || {
        alerts(&server, "fraud-ring").into_iter().next()
    });
    let evidence = &ring["evidence"]["ring"];
    assert_eq!(evidence["frauds"], 3, "{ring}");
    assert_eq!(evidence["payments"], 4, "{ring}");
    assert_eq!(evidence["size"], 7, "{ring}");
    // The links were made before the stop: the file kept them.
    assert_links_span_the_ring(evidence);
    let rings = &status(&server)["rings"];
    assert_eq!(rings["nodes"], 7, "{rings}");
    assert_eq!(rings["payments"], 4, "{rings}");
    assert_eq!(rings["unknown_labels"], 0, "{rings}");
    assert_eq!(
        support::metric(&server, "ensuresec_fraud_ring_nodes"),
        Some(7.0)
    );
}

#[test]
fn the_ring_graph_survives_a_kill_9_through_its_journal() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut server = Server::start(&data, &[]);
    assert_eq!(post_events(&server, half_a_ring()).status(), 200);
    // The journal is written every 50 ms: wait until it holds the four payments and the
    // chargeback, then crash before any write of the graph's file.
    wait_for("the ring graph's five records in its journal", 30, || {
        support::metric(&server, "ensuresec_fraud_ring_journaled").filter(|n| *n >= 5.0)
    });
    signal(&server, "KILL");
    server.child.wait().unwrap();
    assert!(!data.join("fraud-rings.bin").exists(), "never written");
    let journal = inspect(&data.join("fraud-rings.bin.journal.0"));
    assert_eq!(journal["format"], "fraud ring journal", "{journal}");
    assert_eq!(journal["records"], 5, "{journal}");
    assert_eq!(journal["entities"], 7, "{journal}");

    let server = Server::start(&data, &[]);
    server.printed(
        "fraud journal: 5 payments and labels of the ring graph counted again from 1 file(s)",
    );
    assert_eq!(
        post_events(&server, [chargeback(1), chargeback(2)].join("\n")).status(),
        200
    );
    let ring = wait_for("the fraud-ring alert after the crash", 30, || {
        alerts(&server, "fraud-ring").into_iter().next()
    });
    let evidence = &ring["evidence"]["ring"];
    assert_eq!(evidence["frauds"], 3, "{ring}");
    assert_eq!(evidence["payments"], 4, "{ring}");
    assert_eq!(evidence["size"], 7, "{ring}");
    assert_links_span_the_ring(evidence);
}

#[test]
fn state_saves_are_counted_and_a_failing_one_is_seen() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("ensuresec.toml");
    // The feature state's folder does not exist: every save of it fails; the ring graph's
    // saves succeed.
    let sections = |journal_sync_ms: u32| {
        format!(
            "[fraud]\nsave_state_secs = 1\njournal_sync_ms = {journal_sync_ms}\nstate_file = {:?}\n[fraud.rings]\nstate_file = {:?}\n",
            dir.path()
                .join("gone/fraud-state.bin")
                .display()
                .to_string(),
            dir.path().join("rings.bin").display().to_string(),
        )
    };
    // With the journal, whose first file is made at start, the start itself is refused.
    std::fs::write(&config, sections(50)).unwrap();
    let refused = std::process::Command::new(env!("CARGO_BIN_EXE_ensuresec"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path().join("data"))
        .arg("--config")
        .arg(&config)
        .output()
        .unwrap();
    assert!(!refused.status.success());
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("gone/fraud-state.bin.journal.0"), "{err}");
    std::fs::write(&config, sections(0)).unwrap();
    let server = Server::start(
        &dir.path().join("data"),
        &["--config", config.to_str().unwrap()],
    );
    let series = |file: &str, outcome: &str| {
        format!("ensuresec_fraud_state_saves_total{{file=\"{file}\",outcome=\"{outcome}\"}}")
    };
    wait_for("a failed save of the feature state", 30, || {
        support::metric(&server, &series("features", "failed")).filter(|n| *n >= 1.0)
    });
    wait_for("a save of the ring graph", 30, || {
        support::metric(&server, &series("rings", "saved")).filter(|n| *n >= 1.0)
    });
    assert!(dir.path().join("rings.bin").exists());
    assert_eq!(support::metric(&server, &series("features", "saved")), None);
}

/// Replaces `to` with `from` in one step, as an operator's deploy would (write, then rename).
fn replace(from: &Path, to: &Path) {
    let staged = to.with_extension("staged");
    std::fs::copy(from, &staged).unwrap();
    std::fs::rename(&staged, to).unwrap();
}

/// A server whose `[fraud] exchange_rates` is the file `name` in `dir`, holding `text`, with
/// `more` lines of `[fraud]`.
fn serve_with_rates(dir: &Path, name: &str, text: &str, more: &str) -> Server {
    let rates = dir.join(name);
    std::fs::write(&rates, text).unwrap();
    let config = dir.join("ensuresec.toml");
    std::fs::write(
        &config,
        format!(
            "[fraud]\nexchange_rates = {:?}\n{more}",
            rates.display().to_string()
        ),
    )
    .unwrap();
    Server::start(&dir.join("data"), &["--config", config.to_str().unwrap()])
}

/// Whether a payment of `minor` units of `currency` with 3-D Secure failed is blocked: the
/// default rules block at 1000 or more, counted in the reference currency.
fn blocked_with_3ds_failed(server: &Server, minor: i64, currency: &str) -> bool {
    let mut payment = request(&format!("p-{currency}"), &format!("card-{currency}"));
    payment["amount"] = json!({"minor": minor, "currency": currency});
    payment["three_ds"] = "failed".into();
    let r: Value = score(server, &payment).json().unwrap();
    assert!(r.get("decision").is_some(), "{r}");
    r.get("blocked_by").is_some()
}

/// The status of scoring a payment in `currency`, and the field its error names if refused.
fn score_in(server: &Server, currency: &str) -> (u16, Value) {
    let mut payment = request(&format!("q-{currency}"), &format!("card-q-{currency}"));
    payment["amount"]["currency"] = currency.into();
    let r = score(server, &payment);
    let status = r.status().as_u16();
    let body: Value = r.json().unwrap();
    (status, body["error"]["field"].clone())
}

#[test]
fn exchange_rates_count_amounts_in_one_currency_and_are_read_again_on_sighup() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve_with_rates(
        dir.path(),
        "rates.yaml",
        "reference: EUR\nrates: {JPY: 0.0062}\n",
        "",
    );
    assert_eq!(status(&server)["reference_currency"], "EUR");
    assert!(status(&server)["exchange_rates_date"].is_null());

    // 100,000 yen with 3-D Secure failed is about 620 euros: under the blocking rule's 1000.
    assert!(!blocked_with_3ds_failed(&server, 100_000, "JPY"));
    // In euros the same figure is 1,000.
    assert!(blocked_with_3ds_failed(&server, 100_000, "EUR"));
    assert_eq!(score_in(&server, "GBP"), (400, json!("amount.currency")));

    let staged = dir.path().join("rates-next.yaml");
    std::fs::write(&staged, "reference: EUR\nrates: {JPY: 0.0062, GBP: 1.17}\n").unwrap();
    replace(&staged, &dir.path().join("rates.yaml"));
    signal(&server, "HUP");
    wait_for("the new rates", 30, || {
        (score_in(&server, "GBP").0 == 200).then_some(())
    });
}

/// The ECB's daily file as it comes out of its zip: what one euro buys, the day on top.
const ECB_DAY: &str = "Date, USD, JPY, BGN, \n04 December 2026, 1.0845, 162.38, N/A, \n";

#[test]
fn the_ecb_reference_rates_file_is_read_as_published_and_its_day_shown() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve_with_rates(dir.path(), "eurofxref.csv", ECB_DAY, "");
    let s = status(&server);
    assert_eq!(s["reference_currency"], "EUR", "{s}");
    assert_eq!(s["exchange_rates_date"], "2026-12-04", "{s}");
    assert_eq!(
        support::metric(&server, "ensuresec_fraud_exchange_rates_date_seconds"),
        Some(1_796_342_400.0),
        "midnight UTC of 2026-12-04"
    );

    // 100,000 yen are about 616 euros at 162.38: under the blocking rule's 1000.
    assert!(!blocked_with_3ds_failed(&server, 100_000, "JPY"));
    // 2,000 dollars are about 1,844 euros: over it.
    assert!(blocked_with_3ds_failed(&server, 200_000, "USD"));
    // Not quoted that day: no rate, a 400 naming the field.
    assert_eq!(score_in(&server, "BGN"), (400, json!("amount.currency")));
}

#[test]
fn the_ecb_rates_count_amounts_in_dollars_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve_with_rates(
        dir.path(),
        "eurofxref.csv",
        ECB_DAY,
        "exchange_rates_reference = \"USD\"\n",
    );
    let s = status(&server);
    assert_eq!(s["reference_currency"], "USD", "{s}");
    assert_eq!(s["exchange_rates_date"], "2026-12-04", "{s}");
    // The blocking rule's 1000 is now in dollars: 1,000 dollars reach it (922 euros would
    // not), 900 euros (976 dollars) do not.
    assert!(blocked_with_3ds_failed(&server, 100_000, "USD"));
    assert!(!blocked_with_3ds_failed(&server, 90_000, "EUR"));
    assert_eq!(score_in(&server, "BGN"), (400, json!("amount.currency")));
}

#[test]
fn sighup_swaps_the_model_refuses_a_bad_one_and_drops_no_request() {
    let dir = tempfile::tempdir().unwrap();
    let first = train(dir.path(), "first", false, &[]);
    let second = train(dir.path(), "second", true, &[]);
    let live = dir.path().join("model.json");
    replace(&first, &live);
    let config = dir.path().join("ensuresec.toml");
    std::fs::write(
        &config,
        format!("[fraud]\nmodel = {:?}\n", live.display().to_string()),
    )
    .unwrap();
    let server = Server::start(
        &dir.path().join("data"),
        &["--config", config.to_str().unwrap()],
    );
    let s = status(&server);
    assert_eq!(s["model"]["features"], 4, "{s}");
    assert_eq!(s["model_loads"], 1);

    // Requests keep coming while the model changes under them.
    let stop = Arc::new(AtomicBool::new(false));
    let scorer = {
        let stop = stop.clone();
        let url = server.url("/v1/payments/score");
        std::thread::spawn(move || {
            let c = client();
            let (mut ok, mut failed) = (0u32, Vec::new());
            for i in 0..200_000u32 {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let r = c
                    .post(&url)
                    .bearer_auth(TOKEN)
                    .json(&request(&format!("p{i}"), &format!("c{}", i % 50)))
                    .send();
                match r {
                    Ok(r) if r.status() == 200 => ok += 1,
                    Ok(r) => failed.push(r.status().to_string()),
                    Err(e) => failed.push(e.to_string()),
                }
            }
            (ok, failed)
        })
    };

    // A file that is not a model is refused; the model in use stays.
    let garbage = dir.path().join("garbage.json");
    std::fs::write(&garbage, "{\"format\": \"something else\"}").unwrap();
    replace(&garbage, &live);
    signal(&server, "HUP");
    let s = wait_for("the refusal", 30, || {
        let s = status(&server);
        (s["model_refused"] == 1).then_some(s)
    });
    assert_eq!(s["model"]["features"], 4, "{s}");

    // A good new model is swapped in.
    replace(&second, &live);
    signal(&server, "HUP");
    let s = wait_for("the swap", 60, || {
        let s = status(&server);
        (s["model_loads"] == 2).then_some(s)
    });
    assert_eq!(s["model"]["features"], 5, "{s}");
    let after: Value = score(&server, &request("after", "c-after")).json().unwrap();
    assert!(after["probability"].as_f64().is_some(), "{after}");

    stop.store(true, Ordering::Relaxed);
    let (ok, failed) = scorer.join().unwrap();
    assert!(
        failed.is_empty(),
        "requests failed during the swaps: {failed:?}"
    );
    assert!(ok > 0);
}

#[test]
fn evaluate_events_reports_precision_and_recall_on_labelled_payments() {
    let dir = tempfile::tempdir().unwrap();
    let mut lines = vec![
        payment_event(0, "ok", "c1", json!({})),
        payment_event(
            1,
            "bad",
            "c2",
            json!({"three_ds": "failed", "amount": {"minor": 300_000, "currency": "EUR"}}),
        ),
        payment_event(2, "missed", "c3", json!({})),
    ];
    for (id, label) in [("bad", "fraud"), ("missed", "fraud"), ("ok", "legitimate")] {
        lines.push(
            json!({"type": "fraud_verdict", "time": "2026-11-22T10:00:00Z", "source": "analysts",
                   "data": {"payment_id": id, "verdict": label}})
            .to_string(),
        );
    }
    let events = dir.path().join("events.ndjson");
    std::fs::write(&events, lines.join("\n")).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ensuresec"))
        .args(["fraud", "evaluate", "--events"])
        .arg(&events)
        .current_dir(dir.path())
        .output()
        .unwrap();
    support::assert_success(&out);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["labelled"], 3, "{report}");
    assert_eq!(report["frauds"], 2, "{report}");
    let decline = report["thresholds"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["decision"] == "decline")
        .unwrap();
    assert_eq!(decline["precision"], 1.0, "{report}");
    assert_eq!(decline["recall"], 0.5, "{report}");

    // A bad line is named.
    std::fs::write(&events, format!("{}\n{{\"type\":\"nope\"}}\n", lines[0])).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ensuresec"))
        .args(["fraud", "evaluate", "--events"])
        .arg(&events)
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("line 2"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn evaluate_reports_the_models_size_speed_and_figures_on_labelled_rows() {
    let dir = tempfile::tempdir().unwrap();
    let model = train(dir.path(), "m", false, &[]);
    let file: Value = serde_json::from_str(&std::fs::read_to_string(&model).unwrap()).unwrap();
    let trees = file["trees"]["trees"].as_array().unwrap().len();
    // `--members 2`: two boosters, seeds 0 and 1, all of their trees in the file.
    let members = file["training"]["members"].as_array().unwrap();
    let seeds: Vec<&Value> = members.iter().map(|m| &m["seed"]).collect();
    assert_eq!(seeds, [0, 1], "{:#}", file["training"]);
    let member_trees: u64 = members.iter().map(|m| m["trees"].as_u64().unwrap()).sum();
    assert_eq!(
        (member_trees, file["training"]["trees"].as_u64()),
        (trees as u64, Some(trees as u64))
    );
    let predictions = dir.path().join("predictions.csv");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ensuresec"))
        .args([
            "fraud", "evaluate", "--label", "label", "--time", "time", "--model",
        ])
        .arg(&model)
        .arg(dir.path().join("m.csv"))
        .arg("--predictions")
        .arg(&predictions)
        .output()
        .unwrap();
    support::assert_success(&out);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["model"]["trees"], trees, "{report}");
    assert!(
        report["model"]["nodes"].as_u64().unwrap() > trees as u64,
        "{report}"
    );
    assert!(
        report["model"]["explained_rows_per_second_one_thread"]
            .as_f64()
            .unwrap()
            > 0.0
    );
    assert_eq!(report["ranking"]["rows"], 3000, "{report}");
    assert!(
        report["ranking"]["roc_auc"].as_f64().unwrap() > 0.8,
        "{report}"
    );
    assert_eq!(
        report["thresholds"].as_array().unwrap().len(),
        3,
        "{report}"
    );
    let lines = std::fs::read_to_string(&predictions).unwrap();
    assert_eq!(
        lines.lines().count(),
        3001,
        "a header and one probability per row"
    );
}

#[test]
fn a_seed_repeats_its_model_and_another_seed_samples_differently() {
    let dir = tempfile::tempdir().unwrap();
    let read = |path: &Path| std::fs::read_to_string(path).unwrap();
    let first = read(&train(dir.path(), "first", true, &["--seed", "5"]));
    let again = read(&train(dir.path(), "again", true, &["--seed", "5"]));
    let default = read(&train(dir.path(), "default", true, &[]));
    assert_eq!(
        first, again,
        "one seed and the same rows give the same file"
    );
    let first: Value = serde_json::from_str(&first).unwrap();
    let default: Value = serde_json::from_str(&default).unwrap();
    let seeds = |model: &Value| -> Vec<u64> {
        let members = model["training"]["members"].as_array().unwrap();
        members
            .iter()
            .map(|m| m["seed"].as_u64().unwrap())
            .collect()
    };
    assert_eq!((seeds(&first), seeds(&default)), (vec![5, 6], vec![0, 1]));
    assert_ne!(
        first["trees"], default["trees"],
        "other seeds sample other columns and rows"
    );
    // A refused option writes no file, and its error names the flag the user typed with its
    // allowed values.
    let out_file = dir.path().join("refused.json");
    let refused = |option: &[&str]| {
        let csv = dir.path().join("first.csv");
        let out_path = out_file.to_str().unwrap();
        let mut args = vec![
            "train", "--label", "label", "--time", "time", "--out", out_path,
        ];
        args.extend_from_slice(option);
        args.push(csv.to_str().unwrap());
        let out = fraud_cli(&args);
        assert!(!out.status.success() && !out_file.exists());
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    // Three members from the largest seed would run past it.
    let stderr = refused(&["--seed", &u64::MAX.to_string()]);
    assert!(stderr.contains("--seed must be"), "{stderr}");
    let stderr = refused(&["--validation", "0.9"]);
    assert!(
        stderr.contains("--validation must be between 0.05 and 0.5"),
        "{stderr}"
    );
}

#[test]
fn score_reads_requests_and_refuses_bad_files_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let requests = dir.path().join("requests.ndjson");
    std::fs::write(
        &requests,
        r#"{"payment_id":"p1","time":"2026-03-01T12:00:00Z","amount":{"minor":4999,"currency":"EUR"},"merchant":"shop","card":{"fingerprint":"fp1","bin":"424242","country":"DE"},"billing":{"country":"DE","postal_code":"10115"},"three_ds":"failed"}
"#,
    )
    .unwrap();
    let score = |extra: &[&std::ffi::OsStr]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_ensuresec"))
            .args(["fraud", "score"])
            .arg(&requests)
            .args(extra)
            .output()
            .unwrap()
    };
    let out = score(&[]);
    support::assert_success(&out);
    let a: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(a["payment_id"], "p1", "{a}");
    assert!(a["probability"].as_f64().unwrap() > 0.0, "{a}");

    let postal = dir.path().join("postal.txt");
    std::fs::write(&postal, "DE\t10115\tBerlin\t\t\t\t\t\t\tnorth\t13.4\t4\n").unwrap();
    let out = score(&["--postal-centroids".as_ref(), postal.as_os_str()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("postal.txt: line 1: field 10 (latitude)"),
        "{err}"
    );

    let missing = dir.path().join("no-model.json");
    let out = score(&["--model".as_ref(), missing.as_os_str()]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no-model.json"));

    let rates = dir.path().join("rates.yaml");
    std::fs::write(&rates, "reference: EUR\nrates: {USD: 0.95}\n").unwrap();
    let out = score(&["--exchange-rates".as_ref(), rates.as_os_str()]);
    support::assert_success(&out);
    std::fs::write(&rates, "reference: EUR\nrates: {USD: 0}\n").unwrap();
    let out = score(&["--exchange-rates".as_ref(), rates.as_os_str()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("rates.yaml") && err.contains("`rates.USD`"),
        "{err}"
    );

    std::fs::write(&rates, "reference: EUR\nrates: {USD: 0.95}\n").unwrap();
    let in_ = |currency: &str| {
        score(&[
            "--exchange-rates".as_ref(),
            rates.as_os_str(),
            "--exchange-rates-reference".as_ref(),
            currency.as_ref(),
        ])
    };
    support::assert_success(&in_("USD"));
    let out = in_("GBP");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no rate for `GBP`"), "{err}");
}
