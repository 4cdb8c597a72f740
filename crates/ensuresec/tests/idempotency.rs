//! A batch sent again is stored once: `POST /v1/events` with an `Idempotency-Key`, and
//! `ensuresec ingest` sending one when an answer is lost on the way back.

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

mod support;

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use support::{Server, TOKEN, next_seq};

/// Posts `body` to the server's events endpoint under `key`.
fn post_keyed(server: &Server, key: &str, body: &str) -> reqwest::blocking::Response {
    support::client()
        .post(server.url("/v1/events"))
        .bearer_auth(TOKEN)
        .header("content-type", "application/x-ndjson")
        .header("idempotency-key", key)
        .body(body.to_string())
        .send()
        .unwrap()
}

fn error_field(response: reqwest::blocking::Response) -> (u16, serde_json::Value) {
    let status = response.status().as_u16();
    (
        status,
        response.json::<serde_json::Value>().unwrap()["error"].clone(),
    )
}

#[test]
fn a_batch_sent_again_under_its_key_is_stored_once() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), &[]);
    let batch = support::stuffing("203.0.113.9", 5);

    let first = post_keyed(&server, "order-sync-0001", &batch);
    assert_eq!(first.status(), 200);
    assert!(first.headers().get("idempotent-replayed").is_none());
    let first: serde_json::Value = first.json().unwrap();
    assert_eq!(first["accepted"], 5);

    let again = post_keyed(&server, "order-sync-0001", &batch);
    assert_eq!(again.status(), 200);
    assert_eq!(
        again.headers()["idempotent-replayed"],
        "true",
        "the answer says the batch was not stored again"
    );
    let again: serde_json::Value = again.json().unwrap();
    assert_eq!(again, first, "the answer repeats the first one's numbers");

    let last = first["last_seq"].as_u64().unwrap();
    assert_eq!(
        next_seq(&server, 50),
        last + 1,
        "nothing was stored for the batch sent again"
    );

    // The same key with another batch is refused, and stores nothing.
    let (status, error) = error_field(post_keyed(
        &server,
        "order-sync-0001",
        &support::stuffing("203.0.113.10", 2),
    ));
    assert_eq!(status, 422, "{error}");
    assert_eq!(error["code"], "idempotency_key_reused");
    assert_eq!(error["field"], "Idempotency-Key");
    assert_eq!(
        next_seq(&server, 51),
        last + 2,
        "the refused batch took no numbers"
    );

    // A bad key is refused before anything is stored, naming the header and the limit.
    let (status, error) = error_field(post_keyed(&server, &"k".repeat(256), &batch));
    assert_eq!(status, 400, "{error}");
    assert_eq!(error["field"], "Idempotency-Key");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("over the limit of 255"),
        "{error}"
    );
    assert_eq!(next_seq(&server, 52), last + 3);
    assert_eq!(
        support::metric(&server, "ensuresec_ingest_batches_sent_again_total"),
        Some(1.0)
    );
    let doc = server.get_json("/v1/openapi.json");
    let post = &doc["paths"]["/v1/events"]["post"];
    assert!(
        post["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "Idempotency-Key" && p["in"] == "header"),
        "the API description names the header: {post}"
    );
    assert!(post["responses"]["422"].is_object(), "{post}");
}

#[test]
fn a_batch_key_outlives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let batch = support::stuffing("203.0.113.11", 3);
    let first: serde_json::Value = {
        let server = Server::start(&data, &[]);
        post_keyed(&server, "nightly-export", &batch)
            .json()
            .unwrap()
    };
    let server = Server::start(&data, &[]);
    let again = post_keyed(&server, "nightly-export", &batch);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.json::<serde_json::Value>().unwrap(), first);
}

/// What the proxy saw: the `Idempotency-Key` of every request, in order.
#[derive(Clone, Default)]
struct Seen {
    keys: Arc<Mutex<Vec<String>>>,
    upstream: String,
}

/// Forwards every request to the server, but answers the first with 504 after the server has
/// stored it: the answer lost on the way back, as a load balancer that timed out reports it.
async fn lose_first_answer(
    State(seen): State<Seen>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, Bytes) {
    let key = headers
        .get("idempotency-key")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let nth = {
        let mut keys = seen.keys.lock().unwrap();
        keys.push(key.clone());
        keys.len()
    };
    let mut request = reqwest::Client::new()
        .post(format!("{}/v1/events", seen.upstream))
        .header("authorization", headers["authorization"].to_str().unwrap())
        .header("content-type", "application/x-ndjson")
        .body(body);
    if !key.is_empty() {
        request = request.header("idempotency-key", key);
    }
    let answer = request.send().await.unwrap();
    assert_eq!(answer.status(), 200, "the server stored the batch");
    if nth == 1 {
        return (StatusCode::GATEWAY_TIMEOUT, Bytes::new());
    }
    (StatusCode::OK, answer.bytes().await.unwrap())
}

#[test]
fn ingest_sends_a_batch_again_under_the_same_key_when_its_answer_is_lost() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), &[]);
    let seen = Seen {
        upstream: server.base.clone(),
        ..Seen::default()
    };
    let proxy = support::serve_app(
        axum::Router::new()
            .route("/v1/events", axum::routing::post(lose_first_answer))
            .with_state(seen.clone()),
    );
    let file = dir.path().join("events.ndjson");
    std::fs::write(&file, support::seven_logins().join("\n")).unwrap();
    support::assert_success(&support::ingest_in_threes(&proxy, &file, &[]));

    let keys = seen.keys.lock().unwrap().clone();
    assert_eq!(keys.len(), 4, "three batches and one sent again: {keys:?}");
    assert!(keys.iter().all(|k| k.len() == 64), "{keys:?}");
    assert_eq!(keys[0], keys[1], "the batch is sent again under its key");
    let mut distinct = keys.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(
        distinct.len(),
        3,
        "each batch has a key of its own: {keys:?}"
    );
    assert_eq!(
        next_seq(&server, 59),
        8,
        "the server holds the file's seven events once"
    );
}

#[test]
fn ingest_run_again_after_a_fix_stores_nothing_twice() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), &[]);
    let file = dir.path().join("events.ndjson");
    let mut lines = support::seven_logins();
    let good = lines[4].clone();
    lines[4] = good.replace("\"login\"", "\"levitate\"");
    std::fs::write(&file, lines.join("\n")).unwrap();

    let failed = support::ingest_in_threes(&server.base, &file, &[]);
    assert!(!failed.status.success());
    let text = support::output_text(&failed);
    assert!(
        text.contains("the 3 events before the failing batch are stored")
            && text.contains("run the same command again"),
        "{text}"
    );

    // Fixed, and run again: the first batch is the same lines, so it is not stored again.
    lines[4] = good;
    std::fs::write(&file, lines.join("\n")).unwrap();
    let fixed = support::ingest_in_threes(&server.base, &file, &[]);
    support::assert_success(&fixed);
    assert!(support::output_text(&fixed).contains("stored before"));
    assert_eq!(next_seq(&server, 50), 8, "the file's seven events, once");

    // The same file once more: nothing new.
    support::assert_success(&support::ingest_in_threes(&server.base, &file, &[]));
    assert_eq!(next_seq(&server, 51), 9, "only the probe before it");
    assert_eq!(
        support::metric(&server, "ensuresec_ingest_batches_sent_again_total"),
        Some(4.0),
        "one batch in the second run, three in the third"
    );

    // Asked to, it stores the lines again.
    support::assert_success(&support::ingest_in_threes(
        &server.base,
        &file,
        &["--store-again"],
    ));
    assert_eq!(
        next_seq(&server, 52),
        17,
        "seven more after the second probe"
    );
}

#[test]
fn offline_ingest_run_again_stores_nothing_twice() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let file = dir.path().join("events.ndjson");
    std::fs::write(&file, support::seven_logins().join("\n")).unwrap();
    let offline = |extra: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_ensuresec"))
            .env("ENSURESEC_LOG", "warn")
            .args(["ingest", "--offline", "--batch-events", "3", "--data-dir"])
            .arg(&data)
            .args(extra)
            .arg(&file)
            .output()
            .unwrap();
        support::assert_success(&out);
    };
    offline(&[]);
    offline(&[]);
    offline(&["--store-again"]);
    let server = Server::start(&data, &[]);
    assert_eq!(
        next_seq(&server, 50),
        15,
        "seven events, none for the run again, seven for --store-again"
    );
}
