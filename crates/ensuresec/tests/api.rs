//! The HTTP API of a real `ensuresec serve`, over a socket.

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

mod support;

use std::io::{BufRead, BufReader};

use serde_json::Value;
use support::{Server, TOKEN, client, post_events, stuffing};

#[test]
fn every_state_and_data_endpoint_needs_a_token() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), &[]);
    let c = client();
    for path in [
        "/v1/alerts",
        "/v1/incidents",
        "/v1/incidents/1",
        "/v1/openapi.json",
        "/v1/stream",
        "/v1/schema/event.json",
    ] {
        let r = c.get(server.url(path)).send().unwrap();
        assert_eq!(r.status(), 401, "{path}");
        assert_eq!(r.headers()["www-authenticate"], "Bearer");
        let body: Value = r.json().unwrap();
        assert_eq!(body["error"]["code"], "unauthorized", "{path}");
        let r = c
            .get(server.url(path))
            .bearer_auth("es_wrong")
            .send()
            .unwrap();
        assert_eq!(r.status(), 401, "{path} with a wrong token");
    }
    let r = c.post(server.url("/v1/events")).body("{}").send().unwrap();
    assert_eq!(r.status(), 401);
    for path in ["/healthz", "/readyz", "/metrics"] {
        assert_eq!(
            c.get(server.url(path)).send().unwrap().status(),
            200,
            "{path} is open"
        );
    }
}

#[test]
fn a_read_only_token_cannot_ingest() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // Create the token in the data directory before the server starts, as an operator would.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ensuresec"))
        .args([
            "token",
            "create",
            "--name",
            "dashboard",
            "--scope",
            "read",
            "--data-dir",
        ])
        .arg(&data)
        .output()
        .unwrap();
    support::assert_success(&out);
    let secret = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let server = Server::start(&data, &[]);
    let c = client();
    let r = c
        .post(server.url("/v1/events"))
        .bearer_auth(&secret)
        .body(stuffing("192.0.2.1", 1))
        .send()
        .unwrap();
    assert_eq!(r.status(), 403);
    let body: Value = r.json().unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("ingest")
    );
    assert_eq!(
        c.get(server.url("/v1/alerts"))
            .bearer_auth(&secret)
            .send()
            .unwrap()
            .status(),
        200
    );
}

#[test]
fn a_token_revoked_while_serving_is_refused_from_then_on() {
    // The server trusts a token it found valid for a second by default (`token_cache.rs`).
    revoke_while_serving(&[], |status| {
        support::wait_for("the revoked token to be refused", 10, || {
            (status() == 401).then_some(())
        });
    });
}

#[test]
fn with_no_token_trust_a_revoked_token_is_refused_at_once() {
    revoke_while_serving(&[("ENSURESEC_SERVER__TOKEN_TRUST_MS", "0")], |status| {
        assert_eq!(status(), 401, "the very next request after the revocation");
    });
}

/// Creates a read token, starts `serve` with `env`, has the token accepted twice (the second
/// time, with the default trust, from the tokens the server found valid a moment ago), revokes
/// it with `ensuresec token revoke`, lets `refused` see the first 401, then checks that the token
/// stays refused and that the server's own token is unaffected.
fn revoke_while_serving(env: &[(&str, &str)], refused: impl FnOnce(&dyn Fn() -> u16)) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let token = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_ensuresec"))
            .arg("token")
            .args(args)
            .arg("--data-dir")
            .arg(&data)
            .output()
            .unwrap();
        support::assert_success(&out);
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    };
    let secret = token(&["create", "--name", "reviewer", "--scope", "read"]);
    let server = Server::start_with_env(&data, &[], env);
    let c = client();
    let status = || {
        c.get(server.url("/v1/alerts"))
            .bearer_auth(&secret)
            .send()
            .unwrap()
            .status()
            .as_u16()
    };
    assert_eq!(status(), 200);
    assert_eq!(status(), 200);
    token(&["revoke", "reviewer"]);
    refused(&status);
    for _ in 0..3 {
        assert_eq!(status(), 401, "refused from then on");
    }
    let r = c
        .get(server.url("/v1/alerts"))
        .bearer_auth(TOKEN)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[test]
fn ingested_attack_becomes_an_incident_seen_live_and_in_the_api() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), &[]);
    // Subscribe first, then send: the stream must carry the incident.
    let stream = client()
        .get(server.url("/v1/stream"))
        .bearer_auth(TOKEN)
        .send()
        .unwrap();
    assert_eq!(stream.status(), 200);
    let r = post_events(&server, stuffing("203.0.113.66", 30));
    assert_eq!(r.status(), 200);
    let accepted: Value = r.json().unwrap();
    assert_eq!(accepted["accepted"], 30);
    let mut incident: Option<Value> = None;
    let mut event_name = String::new();
    for line in BufReader::new(stream).lines() {
        let line = line.expect("the stream delivers before the client's time-out");
        if let Some(name) = line.strip_prefix("event: ") {
            event_name = name.to_string();
        } else if let Some(data) = line.strip_prefix("data: ")
            && event_name == "incident"
        {
            incident = Some(serde_json::from_str(data).unwrap());
            break;
        }
    }
    let incident = incident.unwrap();
    assert_eq!(incident["entity"]["value"], "203.0.113.66");
    assert_eq!(incident["status"], "open");
    let c = client();
    let list: Value = c
        .get(server.url("/v1/incidents?status=open&entity=ip:203.0.113.66"))
        .bearer_auth(TOKEN)
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    let id = list["items"][0]["id"].as_u64().unwrap();
    let detail: Value = c
        .get(server.url(&format!("/v1/incidents/{id}")))
        .bearer_auth(TOKEN)
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(detail["alerts"][0]["rule_id"], "credential-stuffing-ip");
    assert_eq!(detail["actions"][0]["kind"], "incident_opened");
    let ocsf: Value = c
        .get(server.url("/v1/alerts?format=ocsf&severity=high"))
        .bearer_auth(TOKEN)
        .send()
        .unwrap()
        .json()
        .unwrap();
    let finding = &ocsf["items"][0];
    assert_eq!(finding["class_uid"], 2004);
    assert_eq!(finding["observables"][0]["value"], "203.0.113.66");
    assert_eq!(
        finding["finding_info"]["analytic"]["uid"],
        "credential-stuffing-ip"
    );
    let missing = c
        .get(server.url("/v1/incidents/999999"))
        .bearer_auth(TOKEN)
        .send()
        .unwrap();
    assert_eq!(missing.status(), 404);
}

/// Posts `body` and checks the refusal's status, code, line and field.
fn check_refused(
    server: &Server,
    body: String,
    status: u16,
    code: &str,
    line: Option<u64>,
    field: Option<&str>,
) {
    let r = post_events(server, body);
    assert_eq!(r.status(), status);
    let err: Value = r.json().unwrap();
    assert_eq!(err["error"]["code"], code, "{err}");
    assert_eq!(err["error"]["line"].as_u64(), line, "{err}");
    assert_eq!(err["error"]["field"].as_str(), field, "{err}");
}

#[test]
fn bad_batches_are_refused_whole_with_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), &[]);
    let first: Value = post_events(&server, stuffing("192.0.2.1", 2))
        .json()
        .unwrap();
    let good = support::failed_login("a", "192.0.2.2", 1);
    check_refused(
        &server,
        format!("{good}\n{{not json"),
        400,
        "invalid_event",
        Some(2),
        None,
    );
    check_refused(
        &server,
        format!(
            "{good}\n{good}\n{}",
            good.replace("\"auth\"", "\"teleport\"")
        ),
        400,
        "invalid_event",
        Some(3),
        Some("type"),
    );
    check_refused(
        &server,
        good.replace("2026-11-21T10:00:01Z", "2026-13-01T00:00:00Z"),
        400,
        "invalid_event",
        Some(1),
        Some("time"),
    );
    let long = format!(
        r#"{{"type":"auth","time":"2026-11-21T10:00:00Z","source":"{}","data":{{}}}}"#,
        "x".repeat(70_000)
    );
    check_refused(&server, long, 413, "line_too_long", Some(1), None);
    // Nothing of the refused batches was stored: sequence numbers continue without a gap.
    let next: Value = post_events(&server, good).json().unwrap();
    assert_eq!(
        next["first_seq"].as_u64().unwrap(),
        first["last_seq"].as_u64().unwrap() + 1
    );
}

#[test]
fn oversized_bodies_are_refused_with_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let config = dir.path().join("small.toml");
    std::fs::write(
        &config,
        "[server]\nmax_body_bytes = 4096\n[ingest]\nmax_line_bytes = 1024\n",
    )
    .unwrap();
    let server = Server::start(&data, &["--config", config.to_str().unwrap()]);
    let r = post_events(&server, stuffing("192.0.2.1", 40));
    assert_eq!(r.status(), 413);
    let err: Value = r.json().unwrap();
    assert_eq!(err["error"]["code"], "payload_too_large");
    assert_eq!(err["error"]["limit"], 4096);
}

#[test]
fn bad_query_parameters_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), &[]);
    let c = client();
    for (query, param) in [
        ("/v1/alerts?severity=urgent", "severity"),
        ("/v1/alerts?limit=0", "limit"),
        ("/v1/alerts?since=yesterday", "since"),
        ("/v1/alerts?entity=203.0.113.1", "entity"),
        ("/v1/alerts?colour=red", "colour"),
        ("/v1/incidents?status=closed", "status"),
        ("/v1/incidents/abc", "id"),
    ] {
        let r = c.get(server.url(query)).bearer_auth(TOKEN).send().unwrap();
        assert_eq!(r.status(), 400, "{query}");
        let err: Value = r.json().unwrap();
        assert_eq!(err["error"]["field"], param, "{query}: {err}");
    }
}

#[test]
fn the_openapi_document_describes_every_route_and_resolves() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), &[]);
    let doc = openapi_document(&server);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    for path in [
        "/v1/events",
        "/v1/alerts",
        "/v1/incidents",
        "/v1/incidents/{id}",
        "/v1/stream",
        "/healthz",
        "/readyz",
        "/metrics",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} missing");
    }
    // Every reference points at a schema that exists.
    let mut refs = Vec::new();
    collect_refs(&doc, &mut refs);
    assert!(refs.iter().any(|r| r.ends_with("/Event")));
    for r in refs {
        let name = r
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("odd ref {r}"));
        assert!(
            doc["components"]["schemas"].get(name).is_some(),
            "{r} does not resolve"
        );
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
}

#[test]
fn the_openapi_document_gives_the_payment_schemas_and_every_answer() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), &[]);
    let doc = openapi_document(&server);
    let score = &doc["paths"]["/v1/payments/score"]["post"];
    let request = &score["requestBody"]["content"]["application/json"]["schema"]["$ref"];
    assert_eq!(request, "#/components/schemas/PaymentRequest");
    let payment = &doc["components"]["schemas"]["PaymentRequest"]["properties"];
    let currencies = payment["amount"]["properties"]["currency"]["enum"]
        .as_array()
        .unwrap();
    assert!(currencies.contains(&"EUR".into()) && currencies.contains(&"JPY".into()));
    assert!(!currencies.contains(&"XYZ".into()));
    assert_eq!(
        payment["amount"]["properties"]["minor"]["maximum"],
        ensuresec_fraud::request::MAX_AMOUNT_MINOR
    );
    let answer = &score["responses"]["200"]["content"]["application/json"]["schema"]["$ref"];
    assert_eq!(answer, "#/components/schemas/Assessment");
    for (path, operations) in doc["paths"].as_object().unwrap() {
        for (method, operation) in operations.as_object().unwrap() {
            let responses = operation["responses"].as_object().unwrap();
            let secured = operation.get("security").is_some();
            for status in ["401", "403"] {
                assert_eq!(
                    responses.contains_key(status),
                    secured,
                    "{method} {path}: {status}"
                );
            }
            assert!(
                !secured || responses.contains_key("503"),
                "{method} {path}: 503"
            );
            if operation.get("requestBody").is_some() {
                for status in ["400", "413", "415"] {
                    assert!(responses.contains_key(status), "{method} {path}: {status}");
                }
            }
            // Every answer with a body says its media type, and every JSON body its schema.
            for (status, response) in responses {
                if status == "204" {
                    continue;
                }
                let content = response["content"].as_object();
                let content = content.unwrap_or_else(|| panic!("{method} {path} {status}"));
                assert!(!content.is_empty(), "{method} {path} {status}");
                if let Some(json) = content.get("application/json") {
                    assert!(json.get("schema").is_some(), "{method} {path} {status}");
                }
            }
        }
    }
    // Two types of one name would be told apart by a number, which a generated client
    // would carry as a type name.
    for name in doc["components"]["schemas"].as_object().unwrap().keys() {
        assert!(!name.ends_with(char::is_numeric), "schema name {name}");
    }
    let run = &doc["paths"]["/v1/recovery/runs/latest"]["get"]["responses"]["200"];
    assert_eq!(
        run["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/RecoveryRun"
    );
}

#[test]
fn control_bodies_and_proof_requests_are_refused_in_the_error_shape() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), &[]);
    let c = client();
    let url = server.url("/v1/failsafe");
    let r = c
        .put(&url)
        .bearer_auth(TOKEN)
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .unwrap();
    assert_eq!(r.status(), 415);
    let err: Value = r.json().unwrap();
    assert_eq!(err["error"]["code"], "unsupported_media_type", "{err}");
    let r = c
        .put(&url)
        .bearer_auth(TOKEN)
        .header("content-type", "application/json")
        .body(r#"{"platform": "sideways"}"#)
        .send()
        .unwrap();
    assert_eq!(r.status(), 400);
    let err: Value = r.json().unwrap();
    assert_eq!(err["error"]["field"], "body", "{err}");
    // The empty tree has no consistency proof: the request is wrong, not the server.
    let r = c
        .get(server.url("/v1/ledger/proof/consistency?old=0"))
        .bearer_auth(TOKEN)
        .send()
        .unwrap();
    assert_eq!(r.status(), 400);
    let err: Value = r.json().unwrap();
    assert_eq!(err["error"]["field"], "old", "{err}");
    // Ids and cursors above the largest the store holds, and a page over its bound, are
    // mistakes the answer names, not searches that find nothing or quietly shorter pages.
    for (query, field) in [
        ("/v1/incidents/9223372036854775808", "id"),
        ("/v1/incidents?before=9223372036854775808", "before"),
        ("/v1/alerts?incident=18446744073709551615", "incident"),
        ("/v1/ledger/entries?limit=1001", "limit"),
    ] {
        let r = c.get(server.url(query)).bearer_auth(TOKEN).send().unwrap();
        assert_eq!(r.status(), 400, "{query}");
        let err: Value = r.json().unwrap();
        assert_eq!(err["error"]["field"], field, "{query}: {err}");
    }
    let r = c
        .get(server.url("/v1/incidents/9223372036854775807"))
        .bearer_auth(TOKEN)
        .send()
        .unwrap();
    assert_eq!(r.status(), 404, "the largest id is an id: none such");
}

/// The server's OpenAPI document.
fn openapi_document(server: &Server) -> Value {
    client()
        .get(server.url("/v1/openapi.json"))
        .bearer_auth(TOKEN)
        .send()
        .unwrap()
        .json()
        .unwrap()
}

fn collect_refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (k, x) in map {
                if k == "$ref" {
                    out.push(x.as_str().unwrap().to_string());
                } else {
                    collect_refs(x, out);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|x| collect_refs(x, out)),
        _ => {}
    }
}
