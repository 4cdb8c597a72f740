//! What the responder does as time passes and across a restart, driven by a manual clock: bans
//! lapse and bouncers are told, webhooks are undone after their delay, approvals wait through a
//! restart and run once, unanswered approvals expire, and e-mail is rate-limited per recipient.

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

use std::sync::{Arc, Mutex};
use std::time::{Duration as StdDuration, Instant};

use async_trait::async_trait;
use chrono::Duration;
use ensuresec_model::fixtures::{ManualClock, t0};
use ensuresec_model::{Clock, EntityKey, EntityKind, Incident, IncidentStatus, Severity};
use ensuresec_respond::book::StreamFilter;
use ensuresec_respond::config::RespondConfig;
use ensuresec_respond::db::{Db, StepStatus};
use ensuresec_respond::exec::{Email, MailSender, WebhookSender};
use ensuresec_respond::journal::NoJournal;
use ensuresec_respond::playbook::PlaybookSet;
use ensuresec_respond::{Parts, Responder};

const PLAYBOOKS: &str = r#"
playbooks:
  - id: protect
    title: Ban, step up, reset with approval, tell the owner
    trigger:
      rules: [credential-stuffing-ip]
    steps:
      - id: ban
        decision: { type: ban, duration_seconds: 600 }
      - id: step-up
        webhook: { target: shop, event: step_up_authentication }
        undo_after_seconds: 3600
      - id: reset
        webhook: { target: shop, event: force_password_reset }
        approval: true
        timeout_seconds: 7200
      - id: tell
        email:
          to: ["owner@example.test"]
          subject: "Incident {incident_id}"
          body: "We acted on incident {incident_id}."
"#;

/// Every webhook the responder sent: (event, body).
#[derive(Default)]
struct Hooks(Mutex<Vec<(String, String)>>);

#[async_trait]
impl WebhookSender for Hooks {
    async fn post(
        &self,
        _url: &str,
        _headers: &[(&'static str, String)],
        body: String,
        _timeout: StdDuration,
    ) -> Result<(), String> {
        let parsed: serde_json::Value = serde_json::from_str(&body).map_err(|e| e.to_string())?;
        let event = parsed["event"].as_str().unwrap_or_default().to_string();
        self.0.lock().unwrap().push((event, body));
        Ok(())
    }
}

impl Hooks {
    fn events(&self) -> Vec<String> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .map(|(e, _)| e.clone())
            .collect()
    }
}

/// Every e-mail the responder handed to its SMTP server.
#[derive(Default)]
struct Mails(Mutex<Vec<Email>>);

#[async_trait]
impl MailSender for Mails {
    async fn send(&self, email: &Email) -> Result<(), String> {
        self.0.lock().unwrap().push(email.clone());
        Ok(())
    }
}

struct Rig {
    responder: Arc<Responder>,
    hooks: Arc<Hooks>,
    mails: Arc<Mails>,
}

fn rig(db_path: &std::path::Path, clock: &Arc<ManualClock>, mails_per_hour: u64) -> Rig {
    let hooks = Arc::new(Hooks::default());
    let mails = Arc::new(Mails::default());
    let config = RespondConfig {
        email_per_recipient_per_hour: mails_per_hour,
        ..RespondConfig::default()
    };
    let responder = Responder::new(Parts {
        db: Db::open(db_path).expect("open the response database"),
        playbooks: PlaybookSet::from_yaml("test.yaml", PLAYBOOKS).expect("valid playbooks"),
        config,
        targets: vec![(
            "shop".into(),
            "http://shop.invalid/hooks".into(),
            b"0123456789abcdef0123456789abcdef".to_vec(),
        )],
        webhooks: hooks.clone(),
        mailer: Some(mails.clone()),
        firewall: None,
        journal: Arc::new(NoJournal),
        clock: clock.clone(),
    })
    .expect("build the responder");
    Rig {
        responder: Arc::new(responder),
        hooks,
        mails,
    }
}

fn incident(id: u64, ip: &str) -> Incident {
    Incident {
        id,
        title: format!("credential-stuffing-ip (ip:{ip})"),
        status: IncidentStatus::Open,
        severity: Severity::High,
        entity: EntityKey::new(EntityKind::Ip, ip),
        first_seen: t0(),
        last_seen: t0(),
        alert_count: 12,
        detectors: vec!["threshold".into()],
        rule_ids: vec!["credential-stuffing-ip".into()],
        tags: vec![],
        history: vec![],
        ledger_index: None,
    }
}

/// Polls `check` until it holds; deliveries run in their own tasks.
async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + StdDuration::from_secs(10);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::task::yield_now().await;
        tokio::time::sleep(StdDuration::from_millis(10)).await;
    }
}

async fn status(responder: &Responder, incident: u64, step: &str) -> StepStatus {
    responder
        .steps(incident)
        .await
        .unwrap()
        .into_iter()
        .find(|s| s.step_id == step)
        .unwrap_or_else(|| panic!("step {step} of incident {incident}"))
        .status
}

#[tokio::test]
async fn a_ban_lapses_after_its_duration_and_bouncers_are_told() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(t0()));
    let r = rig(&dir.path().join("respond.sqlite"), &clock, 5);
    r.responder
        .on_incident(&incident(1, "203.0.113.9"))
        .await
        .unwrap();
    let filter = StreamFilter::default();
    let first = r.responder.book().stream("b1", true, &filter, clock.now());
    assert!(first.contains("203.0.113.9"), "startup pull: {first}");
    assert!(first.contains(r#""deleted":null"#), "startup pull: {first}");

    clock.advance(Duration::seconds(599));
    r.responder.tick().await.unwrap();
    let still = r.responder.book().stream("b1", false, &filter, clock.now());
    assert_eq!(
        still, r#"{"new":null,"deleted":null}"#,
        "nothing lapsed yet"
    );

    clock.advance(Duration::seconds(2));
    r.responder.tick().await.unwrap();
    let lapsed = r.responder.book().stream("b1", false, &filter, clock.now());
    let v: serde_json::Value = serde_json::from_str(&lapsed).unwrap();
    assert_eq!(v["deleted"][0]["value"], "203.0.113.9", "{lapsed}");
    assert!(v["new"].is_null(), "{lapsed}");
    assert_eq!(r.responder.book().count_active(clock.now()), 0);
}

#[tokio::test]
async fn a_webhook_is_undone_after_its_delay_and_only_then() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(t0()));
    let r = rig(&dir.path().join("respond.sqlite"), &clock, 5);
    r.responder
        .on_incident(&incident(2, "203.0.113.10"))
        .await
        .unwrap();
    r.responder.tick().await.unwrap();
    eventually("the step-up webhook", || {
        r.hooks.events() == ["step_up_authentication"]
    })
    .await;

    clock.advance(Duration::seconds(3599));
    r.responder.tick().await.unwrap();
    assert_eq!(status(&r.responder, 2, "step-up").await, StepStatus::Done);

    clock.advance(Duration::seconds(2));
    r.responder.tick().await.unwrap();
    assert_eq!(status(&r.responder, 2, "step-up").await, StepStatus::Undone);
    r.responder.tick().await.unwrap();
    eventually("the undo webhook", || r.hooks.events().len() == 2).await;
    assert_eq!(
        r.hooks.events(),
        ["step_up_authentication", "step_up_authentication.undo"]
    );
}

#[tokio::test]
async fn an_approval_waits_through_a_restart_and_its_step_runs_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("respond.sqlite");
    let clock = Arc::new(ManualClock::new(t0()));
    {
        let before = rig(&path, &clock, 5);
        before
            .responder
            .on_incident(&incident(3, "203.0.113.11"))
            .await
            .unwrap();
        before.responder.tick().await.unwrap();
        eventually("the step-up webhook", || {
            before.hooks.events() == ["step_up_authentication"]
        })
        .await;
        assert_eq!(
            status(&before.responder, 3, "reset").await,
            StepStatus::AwaitingApproval
        );
    }

    clock.advance(Duration::seconds(60));
    let after = rig(&path, &clock, 5);
    let pending = after.responder.pending_approvals().await.unwrap();
    assert_eq!(pending.len(), 1, "{pending:?}");
    assert_eq!(
        (pending[0].incident_id, pending[0].step_id.as_str()),
        (3, "reset")
    );
    // The ban made before the restart is still served.
    assert_eq!(after.responder.book().count_active(clock.now()), 1);

    // The incident is seen again (more alerts): nothing already done runs again.
    after
        .responder
        .on_incident(&incident(3, "203.0.113.11"))
        .await
        .unwrap();
    after
        .responder
        .approve(3, "reset", true, "user:alice")
        .await
        .unwrap();
    after.responder.tick().await.unwrap();
    eventually("the approved reset and the e-mail", || {
        !after.hooks.events().is_empty() && !after.mails.0.lock().unwrap().is_empty()
    })
    .await;
    assert_eq!(after.hooks.events(), ["force_password_reset"]);
    assert_eq!(after.responder.book().count_active(clock.now()), 1);
    assert_eq!(status(&after.responder, 3, "reset").await, StepStatus::Done);
    assert!(
        after
            .responder
            .pending_approvals()
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn an_approval_nobody_gives_expires_and_the_run_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(t0()));
    let r = rig(&dir.path().join("respond.sqlite"), &clock, 5);
    r.responder
        .on_incident(&incident(4, "203.0.113.12"))
        .await
        .unwrap();
    clock.advance(Duration::seconds(7199));
    r.responder.tick().await.unwrap();
    assert_eq!(
        status(&r.responder, 4, "reset").await,
        StepStatus::AwaitingApproval
    );
    clock.advance(Duration::seconds(2));
    r.responder.tick().await.unwrap();
    assert_eq!(status(&r.responder, 4, "reset").await, StepStatus::Expired);
    assert_eq!(status(&r.responder, 4, "tell").await, StepStatus::Done);
    let late = r.responder.approve(4, "reset", true, "user:bob").await;
    assert!(late.is_err(), "an expired step cannot be approved");
}

#[tokio::test]
async fn e_mail_to_one_recipient_is_capped_per_hour() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(t0()));
    let r = rig(&dir.path().join("respond.sqlite"), &clock, 2);
    // Four incidents in a quarter of an hour, each ending with an e-mail to the same owner
    // (their resets are rejected, so that the runs reach the e-mail step).
    for id in 10..14 {
        r.responder
            .on_incident(&incident(id, &format!("198.51.100.{id}")))
            .await
            .unwrap();
        r.responder
            .approve(id, "reset", false, "user:alice")
            .await
            .unwrap();
        clock.advance(Duration::minutes(5));
    }
    r.responder.tick().await.unwrap();
    eventually("two e-mails", || r.mails.0.lock().unwrap().len() == 2).await;
    for id in 10..12 {
        assert_eq!(status(&r.responder, id, "tell").await, StepStatus::Done);
    }
    for id in 12..14 {
        let step = r
            .responder
            .steps(id)
            .await
            .unwrap()
            .into_iter()
            .find(|s| s.step_id == "tell")
            .unwrap();
        assert!(
            step.note.contains("rate limit reached, not sent"),
            "incident {id}: {}",
            step.note
        );
    }

    // An hour after the first two, the owner can be written to again.
    clock.advance(Duration::minutes(45));
    r.responder
        .on_incident(&incident(20, "198.51.100.20"))
        .await
        .unwrap();
    r.responder
        .approve(20, "reset", false, "user:alice")
        .await
        .unwrap();
    r.responder.tick().await.unwrap();
    eventually("the third e-mail", || r.mails.0.lock().unwrap().len() == 3).await;
    let subjects: Vec<String> = r
        .mails
        .0
        .lock()
        .unwrap()
        .iter()
        .map(|m| m.subject.clone())
        .collect();
    assert_eq!(subjects, ["Incident 10", "Incident 11", "Incident 20"]);
}
