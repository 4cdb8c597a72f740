//! Recovery in `serve`, through the real router: heartbeat probes judged from the events each
//! source sent (on the platform's clock, moved by the test), the dry-run plan, and an approved
//! run over HTTP that brings a real local service back, every step in the audit log.

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::Duration;
use ensuresec_assets::AssetModel;
use ensuresec_model::fixtures::{ManualClock, http_get, t0};
use ensuresec_server::Platform;
use ensuresec_server::app::{AppState, router};
use ensuresec_server::config::Config;
use ensuresec_store::{NewToken, Scope, SqliteOptions, SqliteStore, Store};
use serde_json::{Value, json};
use tempfile::TempDir;
use tower::ServiceExt;

const ADMIN: &str = "es_recovery_test_admin_0123456789";
const READER: &str = "es_recovery_test_reader_012345678";

/// The API needs the application servers; the cold room's sensors report through a gateway.
const MODEL: &str = "assets:
  - { id: app-hosts, name: Application servers, type: host, owner: ops, criticality: high }
  - id: shop-api
    name: Shop API
    type: api
    owner: shop
    criticality: critical
    depends_on: [{ asset: app-hosts, kind: physical }]
  - { id: temperature-sensors, name: Cold-room sensors, type: sensor, owner: pharmacy, criticality: critical }
";

/// A running platform with the router, a local HTTP service standing in for the shop API (it
/// answers 200 once `restarted` exists in `dir`, 503 before), and the clock the test moves.
struct Shop {
    router: Router,
    platform: Arc<Platform>,
    clock: Arc<ManualClock>,
    flag: PathBuf,
    _dir: TempDir,
}

async fn start(ledger: bool, heartbeat: bool, healthy: bool) -> Shop {
    let dir = tempfile::tempdir().unwrap();
    let flag = dir.path().join("restarted");
    if healthy {
        std::fs::write(&flag, "").unwrap();
    }
    let watched = flag.clone();
    let api = Router::new().route(
        "/health",
        axum::routing::get(move || {
            let up = watched.exists();
            async move {
                if up {
                    StatusCode::OK
                } else {
                    StatusCode::SERVICE_UNAVAILABLE
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, api).await.unwrap() });

    let mut recovery = format!(
        "probes:\n  - asset: app-hosts\n    tcp: {{ address: \"{address}\" }}\n  - asset: shop-api\n    http: {{ url: \"http://{address}/health\" }}\n"
    );
    if heartbeat {
        recovery.push_str("  - asset: temperature-sensors\n    heartbeat: { source: cold-room-gateway, max_age_seconds: 300 }\n");
    }
    recovery.push_str(&format!(
        "actions:\n  - asset: shop-api\n    steps:\n      - restart: {{ command: [touch, \"{}\"] }}\nverify: {{ timeout_seconds: 20, interval_ms: 20 }}\n",
        flag.display()
    ));
    let model = AssetModel::from_yaml("assets.yaml", MODEL).unwrap();
    let graph = ensuresec_recovery::DepGraph::from_model(&model);
    let recovery =
        ensuresec_recovery::config::RecoveryConfig::from_yaml("recovery.yaml", &recovery, &graph)
            .unwrap();

    let mut config = Config::default();
    config.storage.data_dir = dir.path().join("data");
    config.ledger.enabled = ledger;
    let store: Arc<dyn Store> =
        Arc::new(SqliteStore::open(&config.storage.data_dir, SqliteOptions::default()).unwrap());
    for (name, secret, scope) in [
        ("admin-test", ADMIN, Scope::Admin),
        ("reader", READER, Scope::Read),
    ] {
        store
            .create_token(NewToken {
                name: name.into(),
                scopes: vec![scope],
                secret: Some(secret.into()),
                replace: false,
                created: t0(),
            })
            .await
            .unwrap();
    }
    let clock = Arc::new(ManualClock::new(t0()));
    let platform = Arc::new(
        Platform::with_store(&config, store, clock.clone())
            .await
            .unwrap(),
    );
    let state = AppState::new(platform.clone())
        .with_assets(model)
        .with_recovery(recovery);
    Shop {
        router: router(state),
        platform,
        clock,
        flag,
        _dir: dir,
    }
}

impl Shop {
    async fn call(
        &self,
        method: &str,
        path: &str,
        token: &str,
        body: Option<String>,
    ) -> (StatusCode, Value) {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/json")
            .body(body.map_or_else(Body::empty, Body::from))
            .unwrap();
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    async fn get(&self, path: &str) -> Value {
        let (status, v) = self.call("GET", path, READER, None).await;
        assert_eq!(status, StatusCode::OK, "{path}: {v:#}");
        v
    }

    async fn start_run(&self, token: &str, body: Value) -> (StatusCode, Value) {
        self.call("POST", "/v1/recovery/runs", token, Some(body.to_string()))
            .await
    }

    /// Polls the latest run until it has finished (the run goes on in the background).
    async fn finished_run(&self) -> Value {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let run = self.get("/v1/recovery/runs/latest").await;
            if run["state"] != "running" {
                return run;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the run did not finish: {run:#}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }
}

fn mentions(list: &Value, text: &str) -> bool {
    list.as_array()
        .unwrap()
        .iter()
        .any(|v| v.as_str().unwrap().contains(text))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeat_probes_follow_the_events_each_source_sent() {
    let shop = start(false, true, true).await;
    let d = shop.get("/v1/diagnosis").await;
    assert!(
        mentions(
            &d["symptoms"],
            "no event from `cold-room-gateway` on record"
        ),
        "{d:#}"
    );

    let mut event = http_get("/status", "192.0.2.10", 200, t0());
    event.source = "cold-room-gateway".into();
    let (status, v) = shop
        .call(
            "POST",
            "/v1/events",
            ADMIN,
            Some(serde_json::to_string(&event).unwrap()),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{v:#}");
    shop.clock.advance(Duration::seconds(120));
    let d = shop.get("/v1/diagnosis").await;
    assert!(mentions(&d["exonerated"], "temperature-sensors"), "{d:#}");
    assert_eq!(d["symptoms"], json!([]), "{d:#}");

    // Silent for longer than the probe allows: faulty, and the only candidate.
    shop.clock.advance(Duration::seconds(300));
    let d = shop.get("/v1/diagnosis").await;
    assert!(
        mentions(
            &d["symptoms"],
            "last event from `cold-room-gateway` is 420 s old (limit 300 s)"
        ),
        "{d:#}"
    );
    assert_eq!(d["candidates"][0]["assets"], json!(["temperature-sensors"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_approved_run_brings_the_service_back_with_every_step_audited() {
    let shop = start(true, false, false).await;
    let v = shop.get("/v1/recovery/plan").await;
    assert_eq!(
        v["diagnosis"]["candidates"][0]["assets"],
        json!(["shop-api"]),
        "{v:#}"
    );
    assert_eq!(v["plan"]["diagnosis"], json!(["shop-api"]));
    let kinds: Vec<&str> = v["plan"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["act", "verify", "verify_all"]);
    assert!(!shop.flag.exists(), "the plan is a dry run");

    // A read token may not run it; an admin must say why.
    let reason = json!({"reason": "API down since the 14:00 deploy"});
    assert_eq!(
        shop.start_run(READER, reason.clone()).await.0,
        StatusCode::FORBIDDEN
    );
    let (status, v) = shop.start_run(ADMIN, json!({"reason": "  "})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(v["error"]["field"], "reason", "{v:#}");
    assert_eq!(
        shop.start_run(ADMIN, json!({})).await.0,
        StatusCode::BAD_REQUEST
    );
    assert!(!shop.flag.exists());
    let (status, _) = shop
        .call("GET", "/v1/recovery/runs/latest", READER, None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (status, v) = shop.start_run(ADMIN, reason).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{v:#}");
    assert_eq!(v["approval"]["by"], "api:admin-test");
    assert_eq!(v["approval"]["reason"], "API down since the 14:00 deploy");
    assert_eq!(v["steps"].as_array().unwrap().len(), 3);

    let run = shop.finished_run().await;
    assert_eq!(run["state"], "recovered", "{run:#}");
    assert!(shop.flag.exists(), "the approved restart ran");
    for step in run["steps"].as_array().unwrap() {
        assert_eq!(step["status"], "done", "{run:#}");
    }
    assert_eq!(run["steps"][0]["asset"], "shop-api");
    assert!(
        run["steps"][1]["detail"]
            .as_str()
            .unwrap()
            .starts_with("healthy after"),
        "{run:#}"
    );

    // Every step is in the audit log: the approval, each start and outcome, the end.
    let ledger = shop.platform.ledger().unwrap();
    let records: Vec<Value> = ledger
        .reader()
        .entries(0, ledger.reader().size())
        .unwrap()
        .iter()
        .map(|e| serde_json::from_slice::<Value>(e).unwrap())
        .filter(|e| e["kind"] == "recovery")
        .map(|e| e["record"].clone())
        .collect();
    let events: Vec<&str> = records
        .iter()
        .map(|r| r["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        events,
        [
            "recovery_approved",
            "recovery_step_started",
            "recovery_step",
            "recovery_step_started",
            "recovery_step",
            "recovery_step_started",
            "recovery_step",
            "recovery_finished"
        ]
    );
    assert_eq!(records[0]["approval"]["by"], "api:admin-test");
    assert_eq!(
        records[0]["approval"]["reason"],
        "API down since the 14:00 deploy"
    );
    assert_eq!(records[7]["recovered"], true);

    // Healthy again: nothing left to run.
    let (status, v) = shop.start_run(ADMIN, json!({"reason": "once more"})).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("nothing to recover")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn running_without_the_audit_log_is_refused() {
    let shop = start(false, false, false).await;
    let (status, v) = shop.start_run(ADMIN, json!({"reason": "API down"})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{v:#}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("enable [ledger]"),
        "{v:#}"
    );
    assert!(!shop.flag.exists());
    let (status, _) = shop
        .call("GET", "/v1/recovery/runs/latest", READER, None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_recovery_routes_are_in_the_openapi_document() {
    let shop = start(false, false, true).await;
    let (status, doc) = shop.call("GET", "/v1/openapi.json", READER, None).await;
    assert_eq!(status, StatusCode::OK);
    for path in [
        "/v1/recovery/plan",
        "/v1/recovery/runs",
        "/v1/recovery/runs/latest",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} missing");
    }
    assert_eq!(
        doc["paths"]["/v1/recovery/runs"]["post"]["security"][0]["bearer"],
        json!(["admin"])
    );
}
