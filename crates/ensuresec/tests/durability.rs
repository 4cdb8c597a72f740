//! What was acknowledged is durable: a `kill -9` in the middle of heavy ingest loses no event
//! that the server answered 200 for, and an event acknowledged but not yet detected when the
//! server died is detected when it starts again.

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

mod support;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use ensuresec_store::{SqliteOptions, SqliteStore, Store};
use serde_json::Value;
use support::{Server, TOKEN, client, failed_login, metric, stuffing, wait_for};

#[test]
fn kill_9_loses_no_acknowledged_event() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut server = Server::start(&data, &[]);
    let acked: Arc<Mutex<Vec<(u64, u64)>>> = Arc::default();
    let acked_events = Arc::new(AtomicU64::new(0));
    let url = server.url("/v1/events");
    let mut writers = Vec::new();
    for w in 0..4 {
        let (acked, acked_events, url) = (acked.clone(), acked_events.clone(), url.clone());
        writers.push(std::thread::spawn(move || {
            let c = client();
            for b in 0u32.. {
                let body: String = (0..200)
                    .map(|i| failed_login(&format!("w{w}b{b}u{i}"), "198.51.100.9", i % 3600))
                    .collect::<Vec<_>>()
                    .join("\n");
                let sent = c.post(&url).bearer_auth(TOKEN).body(body).send();
                let Ok(resp) = sent else { return };
                if resp.status() != 200 {
                    return;
                }
                let Ok(v) = resp.json::<Value>() else { return };
                let first = v["first_seq"].as_u64().unwrap();
                let n = v["accepted"].as_u64().unwrap();
                acked.lock().unwrap().push((first, n));
                acked_events.fetch_add(n, Ordering::SeqCst);
            }
        }));
    }
    // Kill while the writers are busy: after at least 20,000 acknowledged events.
    while acked_events.load(Ordering::SeqCst) < 20_000 {
        std::thread::yield_now();
    }
    server.kill_hard();
    for w in writers {
        w.join().unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    let total: u64 = acked.iter().map(|(_, n)| n).sum();
    assert!(total >= 20_000);

    // Restart on the same data: the server comes up and ingests again.
    let server = Server::start(&data, &[]);
    let r = support::post_events(&server, failed_login("after", "198.51.100.10", 1));
    assert_eq!(r.status(), 200);
    drop(server);

    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let store = SqliteStore::open(&data, SqliteOptions::default()).unwrap();
        let stored = store.count_events().await.unwrap();
        assert!(stored > total, "stored {stored} < acknowledged {total} + 1");
        for (first, n) in acked {
            let back = store.events_from(first, n as usize).await.unwrap();
            assert_eq!(back.len() as u64, n, "batch at {first} is complete");
            assert_eq!(back[0].0, first);
        }
    });
}

/// Leaves in the store under `data` what a run leaves when it dies between storing a batch and
/// detecting it: a stuffing wave from `ip`, stored, that no detector has seen.
fn store_undetected_wave(data: &std::path::Path, ip: &str) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let store = SqliteStore::open(data, SqliteOptions::default()).unwrap();
        let wave = stuffing(ip, 12);
        let events = ensuresec_model::decode_batch(
            wave.as_bytes(),
            &ensuresec_model::Limits::default(),
            // The waves' own day: the decoder refuses times far from "now".
            "2026-11-21T12:00:00Z".parse().unwrap(),
        )
        .unwrap();
        store.append_events(&events, None).await.unwrap();
    });
}

/// The stored alerts raised for address `ip`.
fn alerts_for(server: &Server, ip: &str) -> usize {
    server.get_json("/v1/alerts?limit=100")["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["entity"]["value"] == ip)
        .count()
}

#[test]
fn events_acknowledged_but_not_detected_are_detected_at_the_next_start_and_only_once() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut server = Server::start(&data, &[]);
    let r = support::post_events(&server, stuffing("203.0.113.61", 12));
    assert_eq!(r.status(), 200);
    wait_for("the first wave's alert", 30, || {
        (alerts_for(&server, "203.0.113.61") == 1).then_some(())
    });
    server.kill_hard();

    store_undetected_wave(&data, "203.0.113.62");

    let server = Server::start(&data, &[]);
    let line = server.printed("detection resumed over");
    let resumed: u64 = line
        .split_whitespace()
        .find_map(|w| w.parse().ok())
        .unwrap();
    // The stored wave, and at most the first wave again for a partition whose progress the
    // kill overtook (it skips what it had taken).
    assert!((12..=24).contains(&resumed), "{line}");
    wait_for("the stored wave's alert", 30, || {
        (alerts_for(&server, "203.0.113.62") == 1).then_some(())
    });
    assert_eq!(
        alerts_for(&server, "203.0.113.61"),
        1,
        "the wave detected before the crash is not detected again"
    );
}

#[test]
fn offline_ingest_detects_what_the_last_run_stored_but_did_not_detect() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    store_undetected_wave(&data, "203.0.113.63");
    let file = dir.path().join("one.ndjson");
    std::fs::write(&file, failed_login("someone", "198.51.100.20", 1)).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ensuresec"))
        .args(["ingest", "--offline", "--data-dir"])
        .arg(&data)
        .arg(&file)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}");
    assert!(
        said.contains("detection resumed over 12 events stored but not detected"),
        "{said}"
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    let alerts = rt.block_on(async {
        let store = SqliteStore::open(&data, SqliteOptions::default()).unwrap();
        store
            .list_alerts(
                ensuresec_store::AlertFilter::default(),
                ensuresec_store::PageRequest::default(),
            )
            .await
            .unwrap()
            .items
    });
    assert!(
        alerts.iter().any(|a| a.entity.value == "203.0.113.63"),
        "{alerts:#?}"
    );
}

/// Makes the store in `data` refuse (or take again) every alert, from a second connection, as
/// a full disk would.
fn refuse_alerts(data: &std::path::Path, refuse: bool) {
    let db = rusqlite::Connection::open(data.join("ensuresec.db")).unwrap();
    db.busy_timeout(std::time::Duration::from_secs(30)).unwrap();
    db.execute_batch(if refuse {
        "CREATE TRIGGER refuse_alerts BEFORE INSERT ON alerts \
         BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"
    } else {
        "DROP TRIGGER refuse_alerts"
    })
    .unwrap();
}

fn readiness(server: &Server) -> u16 {
    client()
        .get(server.url("/readyz"))
        .send()
        .unwrap()
        .status()
        .as_u16()
}

fn set_status(server: &Server, incident: u64) -> u16 {
    client()
        .patch(server.url(&format!("/v1/incidents/{incident}")))
        .bearer_auth(TOKEN)
        .json(&serde_json::json!({"status": "mitigating", "reason": "blocking the address"}))
        .send()
        .unwrap()
        .status()
        .as_u16()
}

#[test]
fn an_alert_the_store_refuses_waits_for_the_store_and_the_server_says_it_is_not_ready() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::start(&data, &[]);
    assert_eq!(readiness(&server), 200);
    assert_eq!(
        metric(&server, "ensuresec_findings_waiting_for_store"),
        Some(0.0),
        "the series is there before any refusal"
    );
    let r = support::post_events(&server, stuffing("203.0.113.70", 12));
    assert_eq!(r.status(), 200);
    let incident = wait_for("an incident stored before the fault", 30, || {
        server.get_json("/v1/incidents")["items"][0]["id"].as_u64()
    });
    refuse_alerts(&data, true);
    let r = support::post_events(&server, stuffing("203.0.113.71", 12));
    assert_eq!(r.status(), 200, "events are still acknowledged");
    wait_for("the server to say it is not ready", 30, || {
        (readiness(&server) == 503).then_some(())
    });
    assert_eq!(
        metric(&server, "ensuresec_findings_waiting_for_store"),
        Some(1.0)
    );
    assert!(metric(&server, "ensuresec_store_write_retries_total").unwrap() >= 1.0);
    assert_eq!(alerts_for(&server, "203.0.113.71"), 0);
    assert_eq!(
        set_status(&server, incident),
        503,
        "a status change would wait behind the refused round"
    );

    refuse_alerts(&data, false);
    wait_for("the refused alert to be stored", 30, || {
        (alerts_for(&server, "203.0.113.71") == 1).then_some(())
    });
    wait_for("the server to be ready again", 30, || {
        (readiness(&server) == 200).then_some(())
    });
    assert_eq!(
        metric(&server, "ensuresec_findings_waiting_for_store"),
        Some(0.0)
    );
    assert_eq!(set_status(&server, incident), 200);
}
