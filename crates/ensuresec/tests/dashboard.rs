#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

//! The asset API and the dashboard's HTTP guarantees against the real binary: assets and their
//! cascade, session cookie flags, CSP, CSRF on login, roles, partner visibility, approvals and
//! decisions from the pages.

mod support;

use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;
use support::web::{add_role_users, add_user, browser, login};
use support::{Server, TOKEN, client, post_events, stuffing};

fn shop_model() -> String {
    format!("{}/../assets/models/shop.yaml", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn assets_api_lists_assets_and_computes_the_cascade() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), &["--assets", &shop_model()]);
    let c = client();
    let list: Value = c
        .get(server.url("/v1/assets"))
        .bearer_auth(TOKEN)
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert!(list["items"].as_array().unwrap().len() >= 20);
    let one: Value = c
        .get(server.url("/v1/assets/app-hosts"))
        .bearer_auth(TOKEN)
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(one["asset"]["type"], "host");
    assert!(
        one["dependents"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d == "web-frontend")
    );
    let impact: Value = c
        .get(server.url("/v1/assets/app-hosts/impact?min_impact=0.1"))
        .bearer_auth(TOKEN)
        .send()
        .unwrap()
        .json()
        .unwrap();
    let checkout = impact["affected"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == "checkout")
        .unwrap();
    assert_eq!(checkout["parent"], "web-frontend");
    assert!(impact["business_impact_per_hour"].as_f64().unwrap() > 6000.0);
    assert_eq!(
        c.get(server.url("/v1/assets/nope/impact"))
            .bearer_auth(TOKEN)
            .send()
            .unwrap()
            .status(),
        404
    );
    assert_eq!(
        c.get(server.url("/v1/assets")).send().unwrap().status(),
        401
    );
    let bad = c
        .get(server.url("/v1/assets/edge/impact?min_impact=2"))
        .bearer_auth(TOKEN)
        .send()
        .unwrap();
    assert_eq!(bad.status(), 400);
}

#[test]
fn dashboard_sessions_roles_and_partner_visibility() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    add_role_users(&data);
    let server = Server::start(&data, &["--assets", &shop_model()]);

    // Without a session: to the login page; the CSP is on every answer.
    let anon = browser().get(server.url("/ui/incidents")).send().unwrap();
    assert_eq!(anon.status(), 303);
    let csp = anon.headers()["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    // A login without the form's CSRF token is refused.
    let forged = browser()
        .post(server.url("/ui/login"))
        .header("cookie", format!("es_login_csrf={}", "b".repeat(64)))
        .form(&[
            ("name", "admin1"),
            ("password", "admin password 123"),
            ("csrf", &"a".repeat(64)),
        ])
        .send()
        .unwrap();
    assert_eq!(forged.status(), 403);

    assert_eq!(
        post_events(&server, stuffing("203.0.113.50", 30)).status(),
        200
    );
    let admin = login(&server, "admin1", "admin password 123");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let list = loop {
        let html = admin.get(&server, "/ui/incidents").text().unwrap();
        if html.contains("203.0.113.50") || std::time::Instant::now() > deadline {
            break html;
        }
    };
    assert!(
        list.contains("203.0.113.50") && list.contains("/ui/assets/identity"),
        "{list}"
    );
    assert_eq!(admin.get(&server, "/ui/users").status(), 200);
    let overview = admin.get(&server, "/ui/").text().unwrap();
    assert!(overview.contains("<td>threshold</td>") && overview.contains("id=\"activity-data\""));
    let found = admin
        .get(&server, "/ui/search?q=203.0.113.50")
        .text()
        .unwrap();
    assert!(found.contains("href=\"/ui/incidents/1\""), "{found}");
    let found = admin.get(&server, "/ui/search?q=checkout").text().unwrap();
    assert!(found.contains("href=\"/ui/assets/checkout\""), "{found}");
    let identity = admin.get(&server, "/ui/assets/identity").text().unwrap();
    assert!(
        identity.contains("data-asset=\"checkout\""),
        "the cascade reaches checkout"
    );

    let viewer = login(&server, "viewer1", "viewer password 123");
    assert!(
        viewer
            .get(&server, "/ui/incidents")
            .text()
            .unwrap()
            .contains("203.0.113.50")
    );
    assert_eq!(viewer.get(&server, "/ui/users").status(), 403);

    // The partner sees neither the login-service incident nor assets outside its own.
    let partner = login(&server, "courier", "partner password 123");
    let theirs = partner.get(&server, "/ui/incidents").text().unwrap();
    assert!(
        !theirs.contains("203.0.113.50"),
        "partner sees another's incident"
    );
    assert_eq!(partner.get(&server, "/ui/incidents/1").status(), 404);
    assert_eq!(partner.get(&server, "/ui/assets/identity").status(), 404);
    assert_eq!(
        partner.get(&server, "/ui/assets/parcel-lockers").status(),
        200
    );
}

fn users_cmd(data: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_ensuresec"))
        .arg("users")
        .args(args)
        .arg("--data-dir")
        .arg(data)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn users_command_manages_accounts_and_audits_each_change() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    add_user(&data, &["frank", "--role", "analyst"], "frank password 123");
    let inbox = || {
        std::fs::read_dir(data.join("ledger-inbox"))
            .unwrap()
            .count()
    };
    assert_eq!(inbox(), 1, "the creation waits in the audit-log inbox");
    let out = users_cmd(
        &data,
        &["role", "frank", "partner", "--partner", "parcel-express"],
    );
    support::assert_success(&out);
    let list = String::from_utf8(users_cmd(&data, &["list"]).stdout).unwrap();
    assert!(
        list.contains("frank") && list.contains("parcel-express"),
        "{list}"
    );
    let bad = users_cmd(&data, &["role", "frank", "superuser"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown role"));
    // A partner without a partner organisation is refused, naming why.
    let out = users_cmd(&data, &["role", "frank", "partner"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("needs the partner"));
    assert!(users_cmd(&data, &["remove", "frank"]).status.success());
    assert!(
        !String::from_utf8(users_cmd(&data, &["list"]).stdout)
            .unwrap()
            .contains("frank")
    );
    assert_eq!(inbox(), 3, "created, role changed, removed");
}

/// A playbook with a decision and two steps waiting for a person (tests/browser uses it too).
fn approval_config(dir: &Path) -> std::path::PathBuf {
    let playbook = format!(
        "{}/../../tests/browser/approval-playbook.yaml",
        env!("CARGO_MANIFEST_DIR")
    );
    let path = dir.join("ensuresec.toml");
    std::fs::write(
        &path,
        format!("[respond]\ndefault_playbooks = false\nplaybook_files = [\"{playbook}\"]\n"),
    )
    .unwrap();
    path
}

/// Polls `check` until it holds or 30 s pass.
fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !check() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        std::thread::yield_now();
    }
}

fn step_status(server: &Server, incident: u64, step: &str) -> String {
    let v: Value = client()
        .get(server.url(&format!("/v1/incidents/{incident}/steps")))
        .bearer_auth(TOKEN)
        .send()
        .unwrap()
        .json()
        .unwrap();
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["step_id"] == step)
        .map_or(String::new(), |s| s["status"].as_str().unwrap().to_string())
}

#[test]
fn approvals_and_revokes_from_the_pages_need_a_role_that_acts_and_the_csrf_token() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    add_role_users(&data);
    add_user(
        &data,
        &["analyst1", "--role", "analyst"],
        "analyst password 123",
    );
    let config = approval_config(dir.path());
    let server = Server::start(
        &data,
        &[
            "--assets",
            &shop_model(),
            "--config",
            config.to_str().unwrap(),
        ],
    );
    assert_eq!(
        post_events(&server, stuffing("203.0.113.60", 30)).status(),
        200
    );
    eventually("the mitigate step to wait for approval", || {
        step_status(&server, 1, "mitigate") == "awaiting_approval"
    });

    // A viewer sees the step but no form, and a forged POST with its own token is refused.
    let viewer = login(&server, "viewer1", "viewer password 123");
    let page = viewer.get(&server, "/ui/incidents/1").text().unwrap();
    assert!(
        page.contains("data-step=\"mitigate\" data-status=\"awaiting_approval\""),
        "{page}"
    );
    assert!(
        !page.contains("/steps/mitigate/approve"),
        "a viewer is offered the form"
    );
    let csrf = viewer.csrf(&server);
    let forged = viewer.post(
        &server,
        "/ui/incidents/1/steps/mitigate/approve",
        &[("csrf", &csrf)],
    );
    assert_eq!(forged.status(), 403);
    assert_eq!(step_status(&server, 1, "mitigate"), "awaiting_approval");
    // A partner gets no page for decisions.
    let partner = login(&server, "courier", "partner password 123");
    assert_eq!(partner.get(&server, "/ui/decisions").status(), 403);

    // An analyst sees the forms; a wrong token is refused, the right one rejects the step.
    let analyst = login(&server, "analyst1", "analyst password 123");
    let page = analyst.get(&server, "/ui/incidents/1").text().unwrap();
    assert!(
        page.contains("action=\"/ui/incidents/1/steps/mitigate/approve\""),
        "{page}"
    );
    let wrong = analyst.post(
        &server,
        "/ui/incidents/1/steps/mitigate/reject",
        &[("csrf", &"0".repeat(64))],
    );
    assert_eq!(wrong.status(), 403);
    let analyst_csrf = analyst.csrf(&server);
    let rejected = analyst.post(
        &server,
        "/ui/incidents/1/steps/mitigate/reject",
        &[("csrf", &analyst_csrf)],
    );
    assert_eq!(rejected.status(), 303);
    assert_eq!(step_status(&server, 1, "mitigate"), "rejected");
    // Deciding it twice: nothing awaits any more.
    let again = analyst.post(
        &server,
        "/ui/incidents/1/steps/mitigate/approve",
        &[("csrf", &analyst_csrf)],
    );
    assert_eq!(again.status(), 404);

    // The next step waits; the admin's approval runs it, and the audit log names the users.
    let admin = login(&server, "admin1", "admin password 123");
    let csrf = admin.csrf(&server);
    eventually("the contain step to wait for approval", || {
        step_status(&server, 1, "contain") == "awaiting_approval"
    });
    let approved = admin.post(
        &server,
        "/ui/incidents/1/steps/contain/approve",
        &[("csrf", &csrf)],
    );
    assert_eq!(approved.status(), 303);
    assert_eq!(
        approved.headers()["location"].to_str().unwrap(),
        "/ui/incidents/1#response"
    );
    eventually("the contain step to run", || {
        step_status(&server, 1, "contain") == "done"
    });
    // The step keeps who approved it beside what it did.
    let page = admin.get(&server, "/ui/incidents/1").text().unwrap();
    assert!(page.contains("approved by user:admin1; "), "{page}");
    let entries: Value = support::ledger_entries(&server);
    let steps: Vec<String> = entries
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["record"].to_string())
        .filter(|r| r.contains("response_step"))
        .collect();
    let by = |user: &str, step: &str| {
        steps
            .iter()
            .any(|r| r.contains(user) && r.contains(&format!("\"step_id\":\"{step}\"")))
    };
    assert!(
        by("rejected by user:analyst1", "mitigate") && by("approved by user:admin1", "contain"),
        "{steps:?}"
    );

    // Decisions: everyone but partners sees them; only acting roles revoke, with the token.
    let list = viewer.get(&server, "/ui/decisions").text().unwrap();
    assert!(list.contains("<code>203.0.113.60</code>"), "{list}");
    assert!(
        !list.contains("/revoke"),
        "a viewer is offered the revoke form"
    );
    let id = {
        let at = list.find("data-decision=\"").unwrap() + 15;
        list[at..].split('"').next().unwrap().to_string()
    };
    let revoke = format!("/ui/decisions/{id}/revoke");
    let viewer_csrf = viewer.csrf(&server);
    assert_eq!(
        viewer
            .post(&server, &revoke, &[("csrf", &viewer_csrf)])
            .status(),
        403
    );
    assert_eq!(
        admin
            .post(&server, &revoke, &[("csrf", &"0".repeat(64))])
            .status(),
        403
    );
    assert!(
        admin
            .get(&server, "/ui/decisions")
            .text()
            .unwrap()
            .contains(&revoke)
    );
    // The incident page lists its decisions too; a revoke from there returns to it.
    let incident_page = viewer.get(&server, "/ui/incidents/1").text().unwrap();
    assert!(
        incident_page.contains(&format!("<tr data-decision=\"{id}\">"))
            && !incident_page.contains(&revoke),
        "{incident_page}"
    );
    assert!(
        admin
            .get(&server, "/ui/incidents/1")
            .text()
            .unwrap()
            .contains(&revoke)
    );
    let revoked = admin.post(&server, &revoke, &[("csrf", &csrf), ("incident", "1")]);
    assert_eq!(revoked.status(), 303);
    assert_eq!(
        revoked.headers()["location"].to_str().unwrap(),
        "/ui/incidents/1#response"
    );
    let after = admin.get(&server, "/ui/decisions").text().unwrap();
    assert!(!after.contains("<code>203.0.113.60</code>"), "{after}");
    let entries: Value = support::ledger_entries(&server);
    assert!(
        entries
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["record"].to_string().contains("decision_deleted")
                && e["record"].to_string().contains("user:admin1")),
        "the revoke is in the audit log"
    );
}
