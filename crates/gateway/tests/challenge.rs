//! The challenge for clients under a `captcha` decision, end to end with a real HTTP client that
//! computes the proof of work: the page and its token, the verification that sets the pass
//! cookie, the pass letting the client through until it expires, and the 403 that non-browser
//! clients and bad solutions get. The page's script itself is run in Node when Node is there.

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

mod support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use ensuresec_gateway::authority::Authority;
use ensuresec_gateway::challenge::{leading_zero_bits, work_hash};
use ensuresec_gateway::enforce::{Sanction, Subject};
use ensuresec_gateway::{Gateway, GatewayConfig};
use ensuresec_model::event::Event;
use ensuresec_respond::failsafe::Verdict;
use support::{Shop, wait_for};

/// A platform that has decided to challenge 127.0.0.1.
struct ChallengeLoopback;

impl Authority for ChallengeLoopback {
    fn sanction(&self, who: &Subject<'_>) -> Option<Sanction> {
        who.ip.is_loopback().then_some(Sanction::Challenge)
    }
    fn failsafe(&self, _group: &str, _write: bool) -> Verdict {
        Verdict::Allow
    }
    fn report(&self, _event: Event) {}
}

const BITS: u8 = 12;

async fn setup(pass_seconds: u64) -> (Shop, SocketAddr) {
    let shop = support::shop().await;
    let mut config = GatewayConfig::simple("127.0.0.1:0".parse().unwrap(), &shop.url());
    config.challenge.difficulty_bits = BITS;
    config.challenge.pass_seconds = pass_seconds;
    let g = Gateway::bind_with(config, Arc::new(ChallengeLoopback))
        .await
        .unwrap();
    let addr = g.local_addr().unwrap();
    tokio::spawn(g.run(std::future::pending()));
    (shop, addr)
}

/// A client that does not follow redirects, so that the 303 and its cookie can be seen.
fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

const HTML: &str = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8";

/// The value of `name="…" value="…"` in the page.
fn field(page: &str, name: &str) -> String {
    let at = page.find(&format!("name=\"{name}\" value=\"")).unwrap();
    let rest = &page[at + name.len() + 15..];
    rest[..rest.find('"').unwrap()].to_string()
}

fn solve(token: &str, bits: u8) -> String {
    (0u64..)
        .map(|n| n.to_string())
        .find(|n| leading_zero_bits(&work_hash(token, n)) >= u32::from(bits))
        .unwrap()
}

/// Asks for `path` as a browser; returns status and body.
async fn get(gw: SocketAddr, path: &str, cookie: Option<&str>) -> (u16, String) {
    let mut req = browser()
        .get(format!("http://{gw}{path}"))
        .header("accept", HTML);
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    let r = req.send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// Posts a solution; returns the response.
async fn post(gw: SocketAddr, token: &str, nonce: &str, ret: &str) -> reqwest::Response {
    browser()
        .post(format!("http://{gw}/.ensuresec/challenge"))
        .form(&[("token", token), ("nonce", nonce), ("return", ret)])
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_solved_challenge_lets_the_browser_through_until_the_pass_expires() {
    let (shop, gw) = setup(2).await;

    // The browser gets the page, with a token and the difficulty; the shop sees nothing.
    let (status, page) = get(gw, "/products?page=2", None).await;
    assert_eq!(status, 403);
    assert!(page.contains(&format!("data-bits=\"{BITS}\"")), "{page}");
    assert!(page.contains("/.ensuresec/challenge.js"), "{page}");
    assert!(page.contains("Request id"), "{page}");
    assert_eq!(field(&page, "return"), "/products?page=2");
    let token = field(&page, "token");
    assert_eq!(shop.hits(), 0);

    // A client that is not a browser page load gets the plain refusal, no puzzle.
    let api = browser()
        .get(format!("http://{gw}/products"))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), 403);
    assert!(api.headers().contains_key("x-request-id"));
    let text = api.text().await.unwrap();
    assert!(
        text.contains("Access denied") && !text.contains("data-bits"),
        "{text}"
    );

    // A wrong nonce is refused and sets no cookie.
    let lazy = (0u64..)
        .map(|n| n.to_string())
        .find(|n| leading_zero_bits(&work_hash(&token, n)) < u32::from(BITS))
        .unwrap();
    let r = post(gw, &token, &lazy, "/products").await;
    assert_eq!(r.status(), 403);
    assert!(!r.headers().contains_key("set-cookie"));

    // The proof of work earns a pass cookie and a redirect back, never to another site.
    let nonce = solve(&token, BITS);
    assert!(leading_zero_bits(&work_hash(&token, &nonce)) >= u32::from(BITS));
    let r = post(gw, &token, &nonce, "//evil.example/").await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/");
    let r = post(gw, &token, &nonce, "/products?page=2").await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/products?page=2");
    let set = r.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Lax"),
        "{set}"
    );
    let cookie = set.split(';').next().unwrap().to_string();
    assert!(cookie.starts_with("ensuresec_pass="), "{cookie}");

    // With the pass, the shop is reached.
    let (status, body) = get(gw, "/products", Some(&cookie)).await;
    assert_eq!((status, body.as_str()), (200, "catalogue"));
    assert_eq!(shop.hits(), 1);
    // An altered pass is worth nothing.
    let forged = format!("{}0", cookie);
    assert_eq!(get(gw, "/products", Some(&forged)).await.0, 403);

    // The pass expires (2 s here) and the challenge comes back.
    wait_for("the pass to expire", 10, || async {
        let (status, page) = get(gw, "/products", Some(&cookie)).await;
        (status == 403 && page.contains("data-bits")).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_script_finds_a_proof_the_gateway_accepts() {
    let Ok(node) = std::process::Command::new("node").arg("--version").output() else {
        eprintln!("SKIPPED: node is not installed; the page script is not run");
        return;
    };
    assert!(node.status.success());
    let (_, gw) = setup(60).await;
    let (_, page) = get(gw, "/products", None).await;
    let token = field(&page, "token");
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("challenge.js");
    std::fs::write(&script, ensuresec_gateway::challenge::SCRIPT).unwrap();
    let run = format!(
        "require({script:?}).solve({token:?}, {BITS}, n => console.log(n));",
        script = script.display().to_string()
    );
    let out = std::process::Command::new("node")
        .args(["-e", &run])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let nonce = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let r = post(gw, &token, &nonce, "/products").await;
    assert_eq!(r.status(), 303, "nonce {nonce} from the script");
    assert!(r.headers().contains_key("set-cookie"));
}
