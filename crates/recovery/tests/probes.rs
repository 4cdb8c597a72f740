//! Health probes against real local peers: an HTTP server (status and body checks), a TCP
//! listener (and a closed port), and heartbeat freshness.

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

use std::collections::HashMap;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use chrono::{DateTime, Duration, Utc};
use ensuresec_recovery::config::{Check, HeartbeatCheck, HttpCheck, ProbeSpec, TcpCheck};
use ensuresec_recovery::probe::{Prober, fold};
use ensuresec_recovery::{Health, Observation};

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-12-04T12:00:00Z")
        .unwrap()
        .into()
}

async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{address}")
}

fn http(asset: &str, url: String, status: u16, body: Option<&str>) -> ProbeSpec {
    ProbeSpec {
        asset: asset.into(),
        check: Check::Http(HttpCheck {
            url,
            expect_status: status,
            body_contains: body.map(str::to_string),
        }),
        timeout_ms: 2_000,
    }
}

async fn one(probe: &ProbeSpec) -> Observation {
    Prober::new().run(probe, &HashMap::new(), now()).await
}

#[tokio::test]
async fn http_probe_checks_status_and_body() {
    let base = serve(
        Router::new()
            .route(
                "/",
                get(|| async { "<script src=\"/js/checkout.js\"></script>" }),
            )
            .route(
                "/down",
                get(|| async { (StatusCode::SERVICE_UNAVAILABLE, "db down") }),
            ),
    )
    .await;

    let ok = one(&http("shop", format!("{base}/"), 200, Some("checkout.js"))).await;
    assert_eq!(ok.health, Health::Ok, "{}", ok.detail);
    assert_eq!(ok.source, "probe:http");
    assert_eq!(ok.at, now());

    let missing = one(&http("shop", format!("{base}/"), 200, Some("payment.js"))).await;
    assert_eq!(missing.health, Health::Faulty);
    assert!(
        missing.detail.contains("lacks `payment.js`"),
        "{}",
        missing.detail
    );

    let down = one(&http("api", format!("{base}/down"), 200, None)).await;
    assert_eq!(down.health, Health::Faulty);
    assert!(
        down.detail.contains("status 503, expected 200"),
        "{}",
        down.detail
    );

    let expected_503 = one(&http("api", format!("{base}/down"), 503, None)).await;
    assert_eq!(expected_503.health, Health::Ok);
}

#[tokio::test]
async fn http_probe_to_a_closed_port_is_faulty() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let o = one(&http(
        "shop",
        format!("http://127.0.0.1:{port}/"),
        200,
        None,
    ))
    .await;
    assert_eq!(o.health, Health::Faulty);
    assert!(o.detail.contains("request failed"), "{}", o.detail);
}

#[tokio::test]
async fn tcp_probe_sees_a_listener_and_a_closed_port() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let open = listener.local_addr().unwrap().to_string();
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().to_string()
    };
    let probe = |address: String| ProbeSpec {
        asset: "db".into(),
        check: Check::Tcp(TcpCheck { address }),
        timeout_ms: 2_000,
    };
    let up = one(&probe(open)).await;
    assert_eq!(up.health, Health::Ok, "{}", up.detail);
    let down = one(&probe(closed.clone())).await;
    assert_eq!(down.health, Health::Faulty);
    assert!(down.detail.contains(&closed), "{}", down.detail);
    drop(listener);
}

#[tokio::test]
async fn heartbeat_probe_judges_freshness() {
    let probe = ProbeSpec {
        asset: "sensor-gateway".into(),
        check: Check::Heartbeat(HeartbeatCheck {
            source: "gw-1".into(),
            max_age_seconds: 300,
        }),
        timeout_ms: 1_000,
    };
    let prober = Prober::new();
    let fresh = HashMap::from([("gw-1".to_string(), now() - Duration::seconds(60))]);
    let stale = HashMap::from([("gw-1".to_string(), now() - Duration::seconds(301))]);
    assert_eq!(prober.run(&probe, &fresh, now()).await.health, Health::Ok);
    let o = prober.run(&probe, &stale, now()).await;
    assert_eq!(o.health, Health::Faulty);
    assert!(o.detail.contains("301 s old"), "{}", o.detail);
    let never = prober.run(&probe, &HashMap::new(), now()).await;
    assert_eq!(never.health, Health::Faulty);
}

#[tokio::test]
async fn several_probes_of_one_asset_fold_to_faulty_when_any_fails() {
    let base = serve(Router::new().route("/", get(|| async { "fine" }))).await;
    let probes = vec![
        http("shop", format!("{base}/"), 200, None),
        http("shop", format!("{base}/"), 200, Some("missing-marker")),
        http("other", format!("{base}/"), 200, None),
    ];
    let observations = Prober::new().run_all(&probes, &HashMap::new(), now()).await;
    assert_eq!(observations.len(), 2);
    let shop = observations.iter().find(|o| o.asset == "shop").unwrap();
    assert_eq!(shop.health, Health::Faulty);
    let other = observations.iter().find(|o| o.asset == "other").unwrap();
    assert_eq!(other.health, Health::Ok);
    // Folding is idempotent.
    assert_eq!(fold(observations.clone()), observations);
}
