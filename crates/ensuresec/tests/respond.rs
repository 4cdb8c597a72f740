//! Response and mitigation end to end, with real peers: a stuffing wave against the real server
//! becomes a ban on the CrowdSec bouncer API, signed webhooks to an HTTP receiver that fails the
//! first attempts, a dead letter and its replay, an e-mail to a real SMTP server (aiosmtpd), an
//! approval, status changes and a breach draft; and the real `crowdsec-custom-bouncer` enforcing
//! our decisions.

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

mod support;

use std::collections::HashMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};
use support::{Server, TOKEN, client, post_events, stuffing, wait_for};

const SECRET: &str = "webhook-test-secret-0123456789";

/// Polls `check` until it gives a value or `secs` pass.
/// What the webhook receiver saw: per idempotency key, the attempts and the accepted events.
#[derive(Default)]
struct Seen {
    attempts: HashMap<String, u32>,
    accepted: Vec<(String, String)>,
    bad_signatures: u32,
}

/// A real HTTP receiver on 127.0.0.1: `/hook` verifies the signature and fails the first two
/// attempts of every key with 503; `/down` always fails.
fn start_receiver() -> (String, Arc<Mutex<Seen>>) {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let state = seen.clone();
    let hook = {
        let state = state.clone();
        move |headers: HeaderMap, body: String| {
            let state = state.clone();
            async move {
                let h = |n: &str| {
                    headers
                        .get(n)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("")
                        .to_string()
                };
                let ts: i64 = h("x-ensuresec-timestamp").parse().unwrap_or(0);
                #[allow(clippy::disallowed_methods)]
                // the receiver is the outside world: it checks freshness on its own clock
                let now = chrono::Utc::now().timestamp();
                let mut s = state.lock().unwrap();
                if ensuresec_respond::sign::verify(
                    SECRET.as_bytes(),
                    ts,
                    body.as_bytes(),
                    &h("x-ensuresec-signature"),
                    now,
                    300,
                )
                .is_err()
                {
                    s.bad_signatures += 1;
                    return StatusCode::UNAUTHORIZED;
                }
                let key = h("idempotency-key");
                let n = s.attempts.entry(key.clone()).or_default();
                *n += 1;
                if *n <= 2 {
                    return StatusCode::SERVICE_UNAVAILABLE;
                }
                let event: Value = serde_json::from_str(&body).unwrap();
                s.accepted
                    .push((key, event["event"].as_str().unwrap().to_string()));
                StatusCode::NO_CONTENT
            }
        }
    };
    let down = {
        let state = state.clone();
        move |headers: HeaderMap| {
            let state = state.clone();
            async move {
                let key = headers
                    .get("idempotency-key")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_string();
                *state.lock().unwrap().attempts.entry(key).or_default() += 1;
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    };
    let app = axum::Router::new()
        .route("/hook", axum::routing::post(hook))
        .route("/down", axum::routing::post(down));
    (support::serve_app(app), seen)
}

/// A real SMTP server (aiosmtpd) writing to a maildir; `None` (with a message) when absent.
struct Smtp {
    child: Child,
    port: u16,
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_smtp(maildir: &Path) -> Option<Smtp> {
    let present = Command::new("python3")
        .args(["-c", "import aiosmtpd"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !present {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "aiosmtpd is missing (scripts/test.sh installs it)"
        );
        eprintln!(
            "skipping the e-mail part: python3 -m aiosmtpd is not installed (scripts/test.sh installs it)"
        );
        return None;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new("python3")
        .args([
            "-m",
            "aiosmtpd",
            "-n",
            "-l",
            &format!("127.0.0.1:{port}"),
            "-c",
            "aiosmtpd.handlers.Mailbox",
        ])
        .arg(maildir)
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    wait_for("the SMTP server to listen", 20, || {
        std::net::TcpStream::connect(("127.0.0.1", port)).ok()
    });
    Some(Smtp { child, port })
}

fn get(server: &Server, path: &str) -> Value {
    let r = client()
        .get(server.url(path))
        .bearer_auth(TOKEN)
        .send()
        .unwrap();
    assert!(r.status().is_success(), "{path}: {}", r.status());
    r.json().unwrap()
}

fn bouncer_stream(server: &Server, key: &str, startup: bool) -> Value {
    client()
        .get(server.url(&format!("/v1/decisions/stream?startup={startup}")))
        .header("X-Api-Key", key)
        .send()
        .unwrap()
        .json()
        .unwrap()
}

const PLAYBOOK: &str = "playbooks:
  - id: stuffing
    title: Ban stuffing and tell everyone
    trigger: { rules: [credential-stuffing-ip] }
    steps:
      - id: ban
        decision: { type: ban, duration_seconds: 3600 }
      - id: reset
        webhook: { target: shop, event: force_password_reset }
      - id: partner
        webhook: { target: partner, event: hold_shipment }
      - id: mail
        email: { to: [soc@shop.test], subject: 'Incident {incident_id} on {entity}', body: '{title}' }
      - id: step-up
        webhook: { target: shop, event: step_up_authentication }
        approval: true
      - id: contain
        set_status: contained
";

fn write_config(dir: &Path, receiver: &str, smtp_port: Option<u16>) -> std::path::PathBuf {
    std::fs::write(dir.join("playbook.yaml"), PLAYBOOK).unwrap();
    let smtp = smtp_port.map_or(String::new(), |p| {
        format!("[respond.smtp]\nhost = \"127.0.0.1\"\nport = {p}\ntls = \"none\"\nfrom = \"ensuresec@shop.test\"\n")
    });
    let text = format!(
        "[respond]\ndefault_playbooks = false\nplaybook_files = [\"{}\"]\nretry_base_seconds = 1\nmax_attempts = 3\n\n\
         [[respond.webhooks]]\nname = \"shop\"\nurl = \"{receiver}/hook\"\nsecret = {{ env = \"SHOP_HOOK_SECRET\" }}\n\n\
         [[respond.webhooks]]\nname = \"partner\"\nurl = \"{receiver}/down\"\nsecret = {{ env = \"SHOP_HOOK_SECRET\" }}\n\n{smtp}",
        dir.join("playbook.yaml").display()
    );
    let path = dir.join("ensuresec.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn a_stuffing_wave_is_banned_signed_webhooks_retry_dead_letters_replay_and_mail_arrives() {
    let dir = tempfile::tempdir().unwrap();
    let (receiver, seen) = start_receiver();
    let maildir = dir.path().join("mail");
    let smtp = start_smtp(&maildir);
    let config = write_config(dir.path(), &receiver, smtp.as_ref().map(|s| s.port));
    // SAFETY of the environment: the child inherits it; set before spawning.
    let data = dir.path().join("data");
    let server = Server::start_with_env(
        &data,
        &["--config", config.to_str().unwrap()],
        &[("SHOP_HOOK_SECRET", SECRET)],
    );
    assert!(
        post_events(&server, stuffing("203.0.113.77", 12))
            .status()
            .is_success()
    );

    // The ban reaches the bouncer API.
    let ban = wait_for("the ban on the bouncer stream", 30, || {
        let v = bouncer_stream(&server, TOKEN, true);
        v["new"]
            .as_array()?
            .iter()
            .find(|d| d["value"] == "203.0.113.77")
            .cloned()
    });
    assert_eq!(
        (ban["type"].as_str(), ban["scope"].as_str()),
        (Some("ban"), Some("Ip"))
    );
    assert!(ban["duration"].as_str().unwrap().contains('m'), "{ban}");
    let incident_id = get(&server, "/v1/incidents")["items"][0]["id"]
        .as_u64()
        .unwrap();

    // The webhook was signed, failed twice, then accepted exactly once.
    let key = format!("stuffing/{incident_id}/reset");
    wait_for("the accepted webhook", 30, || {
        seen.lock()
            .unwrap()
            .accepted
            .iter()
            .any(|(k, e)| k == &key && e == "force_password_reset")
            .then_some(())
    });
    {
        let s = seen.lock().unwrap();
        assert_eq!(s.attempts[&key], 3);
        assert_eq!(s.bad_signatures, 0);
    }

    // The partner is down: after three attempts the delivery is a dead letter; a replay sends it again.
    let dead = wait_for("the dead letter", 30, || {
        let v = get(&server, "/v1/deadletters");
        v["items"]
            .as_array()?
            .iter()
            .find(|d| d["target"] == "partner")
            .cloned()
    });
    assert_eq!(dead["attempts"], 3);
    let partner_key = format!("stuffing/{incident_id}/partner");
    assert_eq!(seen.lock().unwrap().attempts[&partner_key], 3);
    let r = client()
        .post(server.url(&format!("/v1/deadletters/{}/replay", dead["id"])))
        .bearer_auth(TOKEN)
        .send()
        .unwrap();
    assert!(r.status().is_success());
    wait_for("the replayed attempts", 30, || {
        (seen.lock().unwrap().attempts[&partner_key] >= 4).then_some(())
    });

    // The e-mail reached the SMTP server.
    if smtp.is_some() {
        let text = wait_for("the e-mail", 30, || {
            let dir = std::fs::read_dir(maildir.join("new")).ok()?;
            dir.filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok())
                .find(|t| t.contains(&format!("Incident {incident_id} on 203.0.113.77")))
        });
        assert!(text.contains("soc@shop.test"), "{text}");
    }

    // The step-up webhook waits for approval; approving it runs it, then the incident is contained.
    let pending = wait_for("the approval request", 30, || {
        let v = get(&server, "/v1/approvals");
        v["items"]
            .as_array()?
            .iter()
            .find(|s| s["step_id"] == "step-up")
            .cloned()
    });
    assert_eq!(pending["incident_id"], incident_id);
    let r = client()
        .post(server.url(&format!(
            "/v1/incidents/{incident_id}/steps/step-up/approve"
        )))
        .bearer_auth(TOKEN)
        .send()
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    wait_for("the approved webhook", 30, || {
        seen.lock()
            .unwrap()
            .accepted
            .iter()
            .any(|(_, e)| e == "step_up_authentication")
            .then_some(())
    });
    wait_for("the contained status", 30, || {
        let v = get(&server, &format!("/v1/incidents/{incident_id}"));
        (v["incident"]["status"] == "contained").then_some(())
    });

    // A person resolves it; the same change again is a conflict.
    let patch = |status: &str| {
        client()
            .patch(server.url(&format!("/v1/incidents/{incident_id}")))
            .bearer_auth(TOKEN)
            .json(&json!({"status": status, "reason": "attacker gone"}))
            .send()
            .unwrap()
    };
    let r = patch("resolved");
    assert_eq!(r.status(), 200);
    let incident: Value = r.json().unwrap();
    let last = incident["history"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(
        (last["to"].as_str(), last["reason"].as_str()),
        (Some("resolved"), Some("attacker gone"))
    );
    assert!(last["by"].as_str().unwrap().starts_with("user:"), "{last}");
    assert_eq!(patch("resolved").status(), 409);

    // The breach draft counts 72 hours from awareness; decisions carry their audit log index.
    let draft = get(
        &server,
        &format!("/v1/incidents/{incident_id}/breach-draft"),
    );
    assert!(draft["text"].as_str().unwrap().contains("Deadline (72 h)"));
    assert!(draft["measures_taken"].to_string().contains("203.0.113.77"));
    let all = get(&server, "/v1/decisions/all");
    assert!(all["items"][0]["ledger_index"].is_u64(), "{all}");

    // A restart keeps the decision and does not run the accepted webhook again.
    drop(server);
    let server = Server::start_with_env(
        &data,
        &["--config", config.to_str().unwrap()],
        &[("SHOP_HOOK_SECRET", SECRET)],
    );
    let v = bouncer_stream(&server, TOKEN, true);
    assert!(v["new"].to_string().contains("203.0.113.77"), "{v}");
    // Revoking lifts it on the next pull.
    let id = ban["id"].as_u64().unwrap();
    let r = client()
        .delete(server.url(&format!("/v1/decisions/{id}")))
        .bearer_auth(TOKEN)
        .send()
        .unwrap();
    assert!(r.status().is_success());
    let v = bouncer_stream(&server, TOKEN, false);
    assert!(v["deleted"].to_string().contains("203.0.113.77"), "{v}");
    assert_eq!(seen.lock().unwrap().attempts[&key], 3);
}

#[test]
fn the_real_crowdsec_custom_bouncer_enforces_and_lifts_our_decisions() {
    let Ok(bin) = which("crowdsec-custom-bouncer") else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "crowdsec-custom-bouncer is missing (scripts/test.sh installs it)"
        );
        eprintln!(
            "skipping: crowdsec-custom-bouncer is not installed (apt package crowdsec-custom-bouncer)"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::start(&data, &[]);
    let out = Command::new(env!("CARGO_BIN_EXE_ensuresec"))
        .args([
            "token",
            "create",
            "--name",
            "edge",
            "--scope",
            "bouncer",
            "--data-dir",
        ])
        .arg(&data)
        .output()
        .unwrap();
    support::assert_success(&out);
    let key = String::from_utf8(out.stdout).unwrap().trim().to_string();
    // A read token is not a bouncer key.
    let r = client()
        .get(server.url("/v1/decisions/stream?startup=true"))
        .header("X-Api-Key", "es_wrong")
        .send()
        .unwrap();
    assert_eq!(r.status(), 401);

    let log = dir.path().join("actions.log");
    let script = dir.path().join("enforce.sh");
    std::fs::write(
        &script,
        format!("#!/bin/sh\necho \"$1 $2\" >> {}\n", log.display()),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let cfg = dir.path().join("bouncer.yaml");
    std::fs::write(
        &cfg,
        format!(
            "bin_path: {}\nfeed_via_stdin: false\ntotal_retries: 3\nscenarios_containing: []\nscenarios_not_containing: []\norigins: []\n\
             piddir: {d}\nupdate_frequency: 1s\ncache_retention_duration: 10s\nlog_mode: file\nlog_dir: {d}\nlog_level: info\n\
             api_url: {}/\napi_key: {key}\n",
            script.display(),
            server.base,
            d = dir.path().display(),
        ),
    )
    .unwrap();
    let r = client()
        .post(server.url("/v1/decisions"))
        .bearer_auth(TOKEN)
        .json(&json!({"type": "ban", "scope": "ip", "value": "198.51.100.7", "duration_seconds": 600, "scenario": "manual"}))
        .send()
        .unwrap();
    assert!(r.status().is_success());
    let id = r.json::<Value>().unwrap()["items"][0]["id"]
        .as_u64()
        .unwrap();
    let mut bouncer = Command::new(bin)
        .arg("-c")
        .arg(&cfg)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let read = || std::fs::read_to_string(&log).unwrap_or_default();
    let added = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        wait_for("the bouncer to add the ban", 60, || {
            read().contains("add 198.51.100.7").then_some(())
        });
        let r = client()
            .delete(server.url(&format!("/v1/decisions/{id}")))
            .bearer_auth(TOKEN)
            .send()
            .unwrap();
        assert!(r.status().is_success());
        wait_for("the bouncer to lift the ban", 60, || {
            read().contains("del 198.51.100.7").then_some(())
        });
    }));
    let _ = bouncer.kill();
    let _ = bouncer.wait();
    if let Err(e) = added {
        std::panic::resume_unwind(e);
    }
}

fn which(name: &str) -> Result<std::path::PathBuf, ()> {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .chain([
            std::path::PathBuf::from("/usr/bin"),
            std::path::PathBuf::from("/usr/sbin"),
        ])
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .ok_or(())
}
