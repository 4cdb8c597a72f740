//! `ensuresec gateway` against a real `ensuresec serve` and a test shop: every request becomes
//! an event the serve's pipeline detects on, decisions made on the serve are enforced within a
//! second (by address and by account) and lifted on revoke, the serve's fail-safe switch applies
//! per route group, and SIGHUP makes the gateway serve a new certificate.

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

mod support;

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{Server, TOKEN, client, gateway};

/// A small shop on 127.0.0.1:0, served from its own thread.
fn start_shop() -> String {
    use axum::routing::get;
    support::serve_app(
        axum::Router::new()
            .route("/products", get(|| async { "catalogue" }))
            .route("/search", get(|| async { "results" }))
            .route(
                "/checkout/order",
                get(|| async { "basket" }).post(|| async { "ordered" }),
            ),
    )
}

fn config(serve: &Server, shop: &str) -> String {
    format!(
        r#"[gateway]
[gateway.serve]
url = "{serve}"
token = "{TOKEN}"
bouncer_key = "{TOKEN}"
poll_interval_ms = 100
flush_interval_ms = 100
[gateway.identity]
account_cookie = "account"
[[gateway.routes]]
prefix = "/"
upstream = "{shop}"
group = "catalogue"
[[gateway.routes]]
prefix = "/search"
upstream = "{shop}"
mode = "detection_only"
group = "catalogue"
[[gateway.routes]]
prefix = "/checkout/"
upstream = "{shop}"
group = "checkout"
"#,
        serve = serve.base
    )
}

/// Polls `f` every 20 ms until it gives `Some`, failing after `limit`.
fn within<T>(what: &str, limit: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "{what}: not within {limit:?}");
        std::thread::park_timeout(Duration::from_millis(20));
    }
}

fn status(r: reqwest::Result<reqwest::blocking::Response>) -> u16 {
    r.map(|r| r.status().as_u16()).unwrap_or(0)
}

fn admin(serve: &Server, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
    let mut req = client().request(method, serve.url(path)).bearer_auth(TOKEN);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().unwrap();
    assert!(r.status().is_success(), "{path}: {}", r.status());
    r.json().unwrap_or(Value::Null)
}

#[test]
fn events_reach_the_serve_and_its_decisions_are_enforced_within_a_second() {
    let dir = tempfile::tempdir().unwrap();
    // Without playbooks, so that only the decisions made here exist (the default ones would ban
    // the attacking test client on their own).
    let serve_config = dir.path().join("serve.toml");
    std::fs::write(&serve_config, "[respond]\ndefault_playbooks = false\n").unwrap();
    let serve = Server::start(
        &dir.path().join("data"),
        &["--config", serve_config.to_str().unwrap()],
    );
    let shop = start_shop();
    let gw = gateway(dir.path(), &config(&serve, &shop));
    let c = client();

    // Detection-only: the attack is served, and its event reaches the serve's web-attack
    // detector, which raises an alert.
    let r = c
        .get(gw.url("/search?q=1%27%20UNION%20SELECT%20password%20FROM%20users--"))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    within(
        "an alert from the gateway's event",
        Duration::from_secs(30),
        || {
            let alerts = admin(&serve, reqwest::Method::GET, "/v1/alerts", None);
            let items = alerts["items"].as_array()?;
            (!items.is_empty()).then_some(())
        },
    );

    // A ban on the address takes effect within a second of being made.
    assert_eq!(status(c.get(gw.url("/products")).send()), 200);
    let made = admin(
        &serve,
        reqwest::Method::POST,
        "/v1/decisions",
        Some(json!({"type": "ban", "scope": "ip", "value": "127.0.0.1", "duration_seconds": 600})),
    );
    let id = made["items"][0]["id"].as_u64().unwrap();
    within("the ban at the gateway", Duration::from_secs(1), || {
        (status(c.get(gw.url("/products")).send()) == 403).then_some(())
    });
    admin(
        &serve,
        reqwest::Method::DELETE,
        &format!("/v1/decisions/{id}"),
        None,
    );
    within("the ban lifted", Duration::from_secs(1), || {
        (status(c.get(gw.url("/products")).send()) == 200).then_some(())
    });

    // A ban on an account (read from the session cookie) refuses only that account.
    admin(
        &serve,
        reqwest::Method::POST,
        "/v1/decisions",
        Some(
            json!({"type": "ban", "scope": "account", "value": "mallory", "duration_seconds": 600}),
        ),
    );
    within("the account ban", Duration::from_secs(1), || {
        let r = c
            .get(gw.url("/products"))
            .header("cookie", "theme=dark; account=mallory")
            .send();
        (status(r) == 403).then_some(())
    });
    let alice = c
        .get(gw.url("/products"))
        .header("cookie", "account=alice")
        .send();
    assert_eq!(status(alice), 200);
}

#[test]
fn the_serve_fail_safe_switch_applies_per_route_group() {
    let dir = tempfile::tempdir().unwrap();
    let serve = Server::start(&dir.path().join("data"), &[]);
    let shop = start_shop();
    let gw = gateway(dir.path(), &config(&serve, &shop));
    let c = client();
    assert_eq!(
        status(c.post(gw.url("/checkout/order")).body("x").send()),
        200
    );

    admin(
        &serve,
        reqwest::Method::PUT,
        "/v1/failsafe",
        Some(json!({"groups": {"checkout": "read_only"}, "reason": "card testing"})),
    );
    within("checkout read-only", Duration::from_secs(5), || {
        (status(c.post(gw.url("/checkout/order")).body("x").send()) == 503).then_some(())
    });
    assert_eq!(status(c.get(gw.url("/checkout/order")).send()), 200);
    assert_eq!(status(c.get(gw.url("/products")).send()), 200);

    admin(
        &serve,
        reqwest::Method::PUT,
        "/v1/failsafe",
        Some(json!({"platform": "closed", "reason": "maintenance"})),
    );
    let page = within("everything closed", Duration::from_secs(5), || {
        let r = c.get(gw.url("/products")).send().ok()?;
        (r.status() == 503).then(|| r.text().unwrap())
    });
    assert!(page.contains("right back"), "{page}");
}

#[test]
fn sighup_makes_the_gateway_serve_a_new_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let shop = start_shop();
    let write_cert = || {
        let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        std::fs::write(dir.path().join("cert.pem"), cert.cert.pem()).unwrap();
        std::fs::write(dir.path().join("key.pem"), cert.signing_key.serialize_pem()).unwrap();
        cert.cert.pem()
    };
    let first = write_cert();
    let text = format!(
        "[gateway]\n[gateway.tls]\ncert_file = \"cert.pem\"\nkey_file = \"key.pem\"\n\
         [[gateway.routes]]\nprefix = \"/\"\nupstream = \"{shop}\"\n"
    );
    let gw = gateway(dir.path(), &text);
    assert!(gw.base.starts_with("https://"), "{}", gw.base);
    let port = gw.base.rsplit(':').next().unwrap().to_string();
    let url = format!("https://localhost:{port}/products");
    let trusting = |pem: &str| {
        reqwest::blocking::Client::builder()
            .add_root_certificate(reqwest::Certificate::from_pem(pem.as_bytes()).unwrap())
            .tls_built_in_root_certs(false)
            .build()
            .unwrap()
    };
    assert_eq!(status(trusting(&first).get(&url).send()), 200);

    let second = write_cert();
    let hup = Command::new("kill")
        .args(["-HUP", &gw.child.id().to_string()])
        .status()
        .unwrap();
    assert!(hup.success());
    within("the new certificate", Duration::from_secs(10), || {
        (status(trusting(&second).get(&url).send()) == 200).then_some(())
    });
    assert_eq!(status(trusting(&first).get(&url).send()), 0);
}

#[test]
fn a_gateway_inside_serve_reports_attacks_and_enforces_its_bans_without_a_link() {
    let dir = tempfile::tempdir().unwrap();
    let shop = start_shop();
    // No [gateway.serve]: the serve runs the gateway itself, with no URL, token or bouncer key.
    let serve_config = dir.path().join("serve.toml");
    std::fs::write(
        &serve_config,
        format!(
            r#"[respond]
default_playbooks = false
[gateway]
listen = "127.0.0.1:0"
[gateway.identity]
account_cookie = "account"
[[gateway.routes]]
prefix = "/"
upstream = "{shop}"
group = "catalogue"
[[gateway.routes]]
prefix = "/checkout/"
upstream = "{shop}"
group = "checkout"
"#
        ),
    )
    .unwrap();
    let serve = Server::start(
        &dir.path().join("data"),
        &["--config", serve_config.to_str().unwrap()],
    );
    let gw = serve
        .printed("gateway (in-process): ")
        .rsplit(' ')
        .next()
        .unwrap()
        .to_string();
    let url = |path: &str| format!("{gw}{path}");
    let c = client();
    assert_eq!(status(c.get(url("/products")).send()), 200);

    // Blocked at the gateway, and its event reaches the serve's pipeline, whose web-attack
    // detector raises an alert about the request on /products.
    let attack = c
        .get(url(
            "/products?q=1%27%20UNION%20SELECT%20password%20FROM%20users--",
        ))
        .send()
        .unwrap();
    assert_eq!(attack.status(), 403);
    let alert = within("an alert from the gateway", Duration::from_secs(30), || {
        let alerts = admin(&serve, reqwest::Method::GET, "/v1/alerts", None);
        alerts["items"]
            .as_array()?
            .iter()
            .find(|a| a["detector"] == "webattack")
            .cloned()
    });
    assert_eq!(alert["evidence"]["request"]["path"], "/products", "{alert}");
    assert!(alert.to_string().contains("127.0.0.1"), "{alert}");

    // A ban decided in the serve takes effect at its gateway within a second, and is lifted.
    let made = admin(
        &serve,
        reqwest::Method::POST,
        "/v1/decisions",
        Some(json!({"type": "ban", "scope": "ip", "value": "127.0.0.1", "duration_seconds": 600})),
    );
    let id = made["items"][0]["id"].as_u64().unwrap();
    within("the ban at the gateway", Duration::from_secs(1), || {
        (status(c.get(url("/products")).send()) == 403).then_some(())
    });
    admin(
        &serve,
        reqwest::Method::DELETE,
        &format!("/v1/decisions/{id}"),
        None,
    );
    within("the ban lifted", Duration::from_secs(1), || {
        (status(c.get(url("/products")).send()) == 200).then_some(())
    });

    // An account ban and the fail-safe switch, both straight from the response module.
    admin(
        &serve,
        reqwest::Method::POST,
        "/v1/decisions",
        Some(
            json!({"type": "ban", "scope": "account", "value": "mallory", "duration_seconds": 600}),
        ),
    );
    within("the account ban", Duration::from_secs(1), || {
        let r = c
            .get(url("/products"))
            .header("cookie", "account=mallory")
            .send();
        (status(r) == 403).then_some(())
    });
    assert_eq!(
        status(
            c.get(url("/products"))
                .header("cookie", "account=alice")
                .send()
        ),
        200
    );
    admin(
        &serve,
        reqwest::Method::PUT,
        "/v1/failsafe",
        Some(json!({"groups": {"checkout": "read_only"}, "reason": "card testing"})),
    );
    within("checkout read-only", Duration::from_secs(1), || {
        (status(c.post(url("/checkout/order")).body("x").send()) == 503).then_some(())
    });
    assert_eq!(status(c.get(url("/checkout/order")).send()), 200);
}

#[test]
fn an_event_sent_while_the_serve_restarts_reaches_it_once() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // The same address before and after the restart, as the gateway's link names it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let start = || {
        let mut command = Command::new(env!("CARGO_BIN_EXE_ensuresec"));
        command
            .args([
                "serve",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--data-dir",
            ])
            .arg(&data)
            .env("ENSURESEC_ADMIN_TOKEN", TOKEN);
        Server::spawn(command)
    };
    let mut serve = start();
    let shop = start_shop();
    let gw = gateway(dir.path(), &config(&serve, &shop));
    serve.kill_hard();

    // While the serve is down, its port refuses the request's event once; only then does the
    // serve start again, so the event arrives only if the gateway sends it again.
    let refusing = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    assert_eq!(status(client().get(gw.url("/products")).send()), 200);
    refuse_until_events_are_posted(&refusing);
    drop(refusing);
    let serve = start();
    let http_events = "ensuresec_events_ingested_total{type=\"http_request\"}";
    within(
        "the event at the restarted serve",
        Duration::from_secs(20),
        || support::metric(&serve, http_events),
    );
    assert_eq!(
        support::metric(&serve, http_events),
        Some(1.0),
        "the one request's event arrives once"
    );
}

/// Answers every request on `listener` with 503 and closes the connection, until one posts
/// events (the decision and fail-safe polls come to the same port); fails after 20 s.
fn refuse_until_events_are_posted(listener: &std::net::TcpListener) {
    use std::io::{ErrorKind, Read, Write};
    listener.set_nonblocking(true).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let mut stream = match listener.accept() {
            Ok((stream, _)) => stream,
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                assert!(Instant::now() < deadline, "the gateway posted no events");
                std::thread::park_timeout(Duration::from_millis(10));
                continue;
            }
            Err(e) => panic!("accept: {e}"),
        };
        stream.set_nonblocking(false).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut head = [0u8; 4096];
        let n = stream.read(&mut head).unwrap();
        stream
            .write_all(b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
            .unwrap();
        if head[..n].starts_with(b"POST /v1/events ") {
            return;
        }
    }
}
