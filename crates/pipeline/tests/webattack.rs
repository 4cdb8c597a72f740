//! The simulator's SQL injection and XSS campaigns become web-attack incidents through the real
//! pipeline and store; the shop's normal traffic around them does not.

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use ensuresec_model::{Clock, Event, EventData};
use ensuresec_pipeline::{Ingestor, Pipeline, PipelineConfig, detectors};
use ensuresec_simulator::{DEFAULT_PROFILE, Profile, Scenario, SimConfig, Simulator};
use ensuresec_store::{
    AlertFilter, IncidentFilter, PageRequest, SqliteOptions, SqliteStore, Store,
};
use ensuresec_webattack::{Engine, EngineConfig, SharedEngine};

struct FixedClock;
impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 21, 23, 0, 0).unwrap()
    }
}

/// Simulated events of `scenario` until `attacks` labelled attack requests have been seen.
fn simulate(scenario: &str, attacks: usize) -> Vec<Event> {
    let sim = Simulator::new(SimConfig {
        seed: 11,
        start: Utc.with_ymd_and_hms(2026, 11, 21, 10, 0, 0).unwrap(),
        rate: 20.0,
        scenario: Scenario::named(scenario).unwrap(),
        profile: Profile::from_yaml("shop.yaml", DEFAULT_PROFILE).unwrap(),
        campaigns_per_hour: Some(6.0),
    })
    .unwrap();
    let mut seen = 0;
    let mut out = Vec::new();
    for e in sim {
        if e.labels.get("truth").is_some_and(|t| t == scenario) {
            seen += 1;
        }
        out.push(e);
        if seen >= attacks {
            break;
        }
    }
    out
}

/// Address of every labelled attack request, and of every unlabelled request.
fn addresses(events: &[Event], truth: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    let (mut attack, mut benign) = (BTreeSet::new(), BTreeSet::new());
    for e in events {
        if let EventData::HttpRequest(r) = &e.data {
            let ip = r.client_ip.to_string();
            match e.labels.get("truth") {
                Some(t) if t == truth => attack.insert(ip),
                Some(_) => false,
                None => benign.insert(ip),
            };
        }
    }
    (attack, benign)
}

async fn check(scenario: &str, class: &str) {
    let events = simulate(scenario, 150);
    let attack_requests = events
        .iter()
        .filter(|e| e.labels.get("truth").is_some_and(|t| t == scenario))
        .filter(|e| matches!(e.data, EventData::HttpRequest(_)))
        .count();
    let (attackers, benign_ips) = addresses(&events, scenario);
    assert!(
        !attackers.is_empty() && benign_ips.len() > 10,
        "the simulation has both"
    );

    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> =
        Arc::new(SqliteStore::open(dir.path(), SqliteOptions::default()).unwrap());
    let engine = SharedEngine::new(Engine::embedded(EngineConfig::at_paranoia(1)).unwrap());
    let pipeline = Pipeline::start(
        PipelineConfig {
            partitions: 2,
            ..PipelineConfig::default()
        },
        vec![detectors::webattack(engine)],
        store.clone(),
        Vec::new(),
        Arc::new(FixedClock),
    )
    .await
    .unwrap();
    let ingestor = Ingestor::new(store.clone(), pipeline.handle(), Arc::new(FixedClock));
    for chunk in events.chunks(2000) {
        ingestor.ingest(chunk.to_vec()).await.unwrap();
    }
    drop(ingestor);
    pipeline.shutdown().await;

    let alerts = store
        .list_alerts(
            AlertFilter::default(),
            PageRequest {
                limit: 1000,
                ..PageRequest::default()
            },
        )
        .await
        .unwrap()
        .items;
    let mut by_class: BTreeMap<String, usize> = BTreeMap::new();
    for a in &alerts {
        assert_eq!(a.detector, "webattack");
        assert!(
            attackers.contains(&a.entity.value),
            "alert on a benign address: {a:#?}"
        );
        for c in a.evidence["classes"].as_array().unwrap() {
            *by_class.entry(c.as_str().unwrap().to_owned()).or_default() += 1;
        }
    }
    let on_class = by_class.get(class).copied().unwrap_or(0);
    eprintln!(
        "{scenario}: {attack_requests} attack requests, {} alerts ({on_class} of class {class})",
        alerts.len()
    );
    // Every probe of the simulator's payload lists is a textbook attack: all must be flagged.
    assert_eq!(alerts.len(), attack_requests, "{by_class:?}");
    assert_eq!(on_class, attack_requests, "{by_class:?}");

    let incidents = store
        .list_incidents(IncidentFilter::default(), PageRequest::default())
        .await
        .unwrap()
        .items;
    let incident_ips: BTreeSet<String> = incidents.iter().map(|i| i.entity.value.clone()).collect();
    assert_eq!(
        incident_ips, attackers,
        "one incident per attacking address, none for shoppers"
    );
    for a in &alerts {
        assert!(a.incident_id.is_some());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulated_sqli_becomes_incidents() {
    check("sqli", "sqli").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulated_xss_becomes_incidents() {
    check("xss", "xss").await;
}
