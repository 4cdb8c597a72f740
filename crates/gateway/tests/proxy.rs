//! The gateway in front of a real shop, with real clients: clean traffic passes, attacks are
//! blocked in blocking mode and only reported in detection-only mode, bodies of every kind are
//! inspected, HTTP/2 works, and client addresses, limits, fail-safe and headers behave.

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

mod support;

use support::{client, setup};

const ROUTES: &str = r#"
[gateway]
trusted_proxies = ["127.0.0.1/32"]
[gateway.headers]
hsts = "max-age=63072000"
nosniff = true
csp = "default-src 'self'"
csp_report_path = "/csp-report"
[[gateway.routes]]
prefix = "/"
upstream = "{up}"
group = "catalogue"
[[gateway.routes]]
prefix = "/search"
upstream = "{up}"
mode = "detection_only"
group = "catalogue"
[[gateway.routes]]
prefix = "/checkout/"
upstream = "{up}"
group = "checkout"
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clean_requests_pass_with_a_request_id_and_forwarding_headers() {
    let (shop, gw) = setup(ROUTES).await;
    let r = client()
        .get(format!("http://{gw}/headers"))
        .header("x-forwarded-for", "198.51.100.7")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let rid = r.headers()["x-request-id"].to_str().unwrap().to_string();
    assert_eq!(r.headers()["strict-transport-security"], "max-age=63072000");
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    assert_eq!(r.headers()["content-security-policy"], "default-src 'self'");
    let text = r.text().await.unwrap();
    // 127.0.0.1 is trusted, so the chain is kept and the peer appended.
    assert!(text.contains("xff=198.51.100.7, 127.0.0.1"), "{text}");
    assert!(text.contains("proto=http"), "{text}");
    assert!(text.contains(&format!("rid={rid}")), "{text}");
    assert_eq!(shop.hits(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attacks_are_blocked_in_blocking_mode_and_passed_in_detection_only() {
    let (shop, gw) = setup(ROUTES).await;
    let attack = "?q=1%27%20UNION%20SELECT%20password%20FROM%20users--";
    let r = client()
        .get(format!("http://{gw}/products{attack}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let rid = r.headers()["x-request-id"].to_str().unwrap().to_string();
    let page = r.text().await.unwrap();
    assert!(page.contains(&rid), "the page shows the request id: {page}");
    assert_eq!(shop.hits(), 0, "a blocked request never reaches the shop");

    let r = client()
        .get(format!("http://{gw}/search{attack}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "detection-only passes the attack on");
    assert_eq!(shop.hits(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_of_every_kind_are_inspected() {
    let (shop, gw) = setup(ROUTES).await;
    let url = format!("http://{gw}/checkout/order");
    let c = client();
    let clean = c
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("item=42&qty=1")
        .send()
        .await
        .unwrap();
    assert_eq!(clean.status(), 200);
    assert_eq!(clean.text().await.unwrap(), "ordered 13 bytes");

    let form = c
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("comment=%3Cscript%3Ealert(document.cookie)%3C%2Fscript%3E")
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), 403, "urlencoded XSS");

    let json = c
        .post(&url)
        .header("content-type", "application/json")
        .body(r#"{"address":{"street":"1' OR '1'='1' UNION SELECT card FROM cards--"}}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(json.status(), 403, "SQL injection nested in JSON");

    let multipart = "--XyZ\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\n\
                     <script>alert(document.cookie)</script>\r\n--XyZ--\r\n";
    let mp = c
        .post(&url)
        .header("content-type", "multipart/form-data; boundary=XyZ")
        .body(multipart)
        .send()
        .await
        .unwrap();
    assert_eq!(mp.status(), 403, "XSS in a multipart field");
    assert_eq!(shop.hits(), 1, "only the clean order reached the shop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_with_prior_knowledge_is_served_and_inspected() {
    let (shop, gw) = setup(ROUTES).await;
    let h2 = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    let r = h2
        .get(format!("http://{gw}/products"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.version(), reqwest::Version::HTTP_2);
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "catalogue");
    let r = h2
        .get(format!(
            "http://{gw}/products?x=%3Cscript%3Ealert(1)%3C/script%3E"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(shop.hits(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_bodies_and_heads_are_refused() {
    let text = ROUTES.replace(
        "[gateway.headers]",
        "[gateway.limits]\nmax_body_bytes = 1000\nmax_header_bytes = 8192\n[gateway.headers]",
    );
    let (shop, gw) = setup(&text).await;
    let r = client()
        .post(format!("http://{gw}/checkout/order"))
        .body(vec![b'a'; 5000])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    let r = client()
        .get(format!("http://{gw}/products"))
        .header("x-big", "b".repeat(20_000))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 431);
    assert_eq!(shop.hits(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_apply_per_route_and_client() {
    let text = ROUTES.replace(
        "group = \"checkout\"",
        "group = \"checkout\"\nrate_limit_per_second = 1\nrate_limit_burst = 2",
    );
    let (_shop, gw) = setup(&text).await;
    let c = client();
    let mut statuses = Vec::new();
    for _ in 0..4 {
        let r = c
            .get(format!("http://{gw}/checkout/order"))
            .send()
            .await
            .unwrap();
        statuses.push(r.status().as_u16());
        if r.status() == 429 {
            assert!(r.headers().contains_key("retry-after"));
        }
    }
    assert_eq!(&statuses[..2], &[200, 200]);
    assert!(statuses[2..].contains(&429), "{statuses:?}");
    // Another route is not limited.
    let r = c.get(format!("http://{gw}/products")).send().await.unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_local_fail_safe_position_applies_per_route_group() {
    let text = ROUTES.replace(
        "[gateway.headers]",
        "[gateway.failsafe]\ngroups = { checkout = \"read_only\" }\nmessage = \"Orders are paused\"\n[gateway.headers]",
    );
    let (shop, gw) = setup(&text).await;
    let c = client();
    let read = c
        .get(format!("http://{gw}/checkout/order"))
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), 200, "reads pass in read-only mode");
    let write = c
        .post(format!("http://{gw}/checkout/order"))
        .body("item=1")
        .send()
        .await
        .unwrap();
    assert_eq!(write.status(), 503);
    assert!(write.headers().contains_key("retry-after"));
    assert!(write.text().await.unwrap().contains("Orders are paused"));
    let other = c.get(format!("http://{gw}/products")).send().await.unwrap();
    assert_eq!(other.status(), 200, "the catalogue stays up");
    assert_eq!(shop.hits(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csp_reports_are_taken_not_proxied() {
    let (shop, gw) = setup(ROUTES).await;
    let r = client()
        .post(format!("http://{gw}/csp-report"))
        .header("content-type", "application/csp-report")
        .body(r#"{"csp-report":{"blocked-uri":"https://evil.test/skimmer.js"}}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(shop.hits(), 0);
}
