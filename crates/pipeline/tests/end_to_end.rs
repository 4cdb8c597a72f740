//! Event → alert → incident through the real pipeline and store, in-process.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, TimeZone, Utc};
use ensuresec_behaviour::{DEFAULT_RULES, RuleSet};
use ensuresec_model::event::{AuthAction, AuthEvent, AuthOutcome};
use ensuresec_model::{Clock, Event, EventData, IncidentStatus};
use ensuresec_pipeline::{
    BroadcastSink, Ingestor, Pipeline, PipelineConfig, Sink, StoreSink, detectors,
};
use ensuresec_store::{AlertFilter, IncidentFilter, PageRequest, SqliteOptions, SqliteStore, Store};

struct FixedClock;
impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        t0()
    }
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 21, 12, 0, 0).unwrap()
}

fn failed_login(account: &str, ip: &str, seconds: i64) -> Event {
    Event {
        time: t0() + Duration::seconds(seconds),
        ingest_time: None,
        source: "test".into(),
        labels: Default::default(),
        data: EventData::Auth(AuthEvent {
            account: account.into(),
            ip: ip.parse().unwrap(),
            action: AuthAction::Login,
            outcome: AuthOutcome::Failure,
            reason: None,
            device: None,
            user_agent: None,
        }),
    }
}

/// Runs `batches` through a fresh pipeline with `partitions` workers and returns the store.
async fn run(partitions: usize, batches: Vec<Vec<Event>>) -> (tempfile::TempDir, Arc<dyn Store>, usize) {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path(), SqliteOptions::default()).unwrap());
    let live = BroadcastSink::new(64);
    let mut sub = live.subscribe();
    let rules = RuleSet::from_yaml("thresholds.yaml", DEFAULT_RULES).unwrap();
    let sinks: Vec<Arc<dyn Sink>> = vec![Arc::new(StoreSink(store.clone())), Arc::new(live)];
    let pipeline = Pipeline::start(
        PipelineConfig {
            partitions,
            ..PipelineConfig::default()
        },
        detectors::threshold(&rules),
        store.clone(),
        sinks,
        Arc::new(FixedClock),
    )
    .await
    .unwrap();
    let ingestor = Ingestor::new(store.clone(), pipeline.handle(), Arc::new(FixedClock));
    for b in batches {
        ingestor.ingest(b).await.unwrap();
    }
    drop(ingestor);
    pipeline.shutdown().await;
    let mut delivered = 0;
    while let Ok(f) = sub.try_recv() {
        delivered += f.alerts.len();
    }
    (dir, store, delivered)
}

fn stuffing_batches() -> Vec<Vec<Event>> {
    // 40 accounts tried from one address over 80 s, in 4 batches, mixed with a benign user.
    (0..4)
        .map(|b| {
            let mut batch: Vec<Event> = (0..10)
                .map(|i| failed_login(&format!("victim{}", b * 10 + i), "203.0.113.66", (b * 20 + i * 2) as i64))
                .collect();
            batch.push(failed_login("alice", "198.51.100.4", b as i64));
            batch
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credential_stuffing_becomes_one_incident() {
    let (_dir, store, delivered) = run(2, stuffing_batches()).await;
    assert_eq!(store.count_events().await.unwrap(), 44);
    let alerts = store.list_alerts(AlertFilter::default(), PageRequest::default()).await.unwrap();
    assert_eq!(alerts.items.len(), 1, "{:#?}", alerts.items);
    let alert = &alerts.items[0];
    assert_eq!(alert.rule_id, "credential-stuffing-ip");
    assert_eq!(alert.entity.value, "203.0.113.66");
    assert_eq!(delivered, 1, "live subscribers saw the alert too");
    let incidents = store.list_incidents(IncidentFilter::default(), PageRequest::default()).await.unwrap();
    assert_eq!(incidents.items.len(), 1);
    let incident = &incidents.items[0];
    assert_eq!(incident.status, IncidentStatus::Open);
    assert_eq!(Some(incident.id), alert.incident_id);
    let detail = store.incident(incident.id).await.unwrap().unwrap();
    assert_eq!(detail.actions[0].kind, "incident_opened");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partitioning_does_not_change_the_result() {
    let mut results = Vec::new();
    for partitions in [1, 3] {
        let (_dir, store, _) = run(partitions, stuffing_batches()).await;
        let alerts = store.list_alerts(AlertFilter::default(), PageRequest::default()).await.unwrap();
        results.push(
            alerts
                .items
                .iter()
                .map(|a| (a.rule_id.clone(), a.entity.clone(), a.time, a.evidence.clone()))
                .collect::<Vec<_>>(),
        );
    }
    assert!(!results[0].is_empty());
    assert_eq!(results[0], results[1]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incidents_resume_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let rules = RuleSet::from_yaml("thresholds.yaml", DEFAULT_RULES).unwrap();
    for round in 0..2 {
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path(), SqliteOptions::default()).unwrap());
        let pipeline = Pipeline::start(
            PipelineConfig::default(),
            detectors::threshold(&rules),
            store.clone(),
            vec![Arc::new(StoreSink(store.clone()))],
            Arc::new(FixedClock),
        )
        .await
        .unwrap();
        let ingestor = Ingestor::new(store.clone(), pipeline.handle(), Arc::new(FixedClock));
        // Each round is a new stuffing wave from the same address, within the grouping window.
        let offset = round * 400;
        let batch: Vec<Event> = (0..20)
            .map(|i| failed_login(&format!("r{round}u{i}"), "203.0.113.66", offset + i))
            .collect();
        let ingest = ingestor.ingest(batch);
        tokio::time::timeout(StdDuration::from_secs(30), ingest).await.unwrap().unwrap();
        drop(ingestor);
        pipeline.shutdown().await;
    }
    let store = SqliteStore::open(dir.path(), SqliteOptions::default()).unwrap();
    let alerts = store.list_alerts(AlertFilter::default(), PageRequest::default()).await.unwrap();
    assert_eq!(alerts.items.len(), 2);
    assert_eq!(alerts.items[0].id, alerts.items[1].id + 1, "alert ids continue after a restart");
    assert_eq!(
        alerts.items[0].incident_id, alerts.items[1].incident_id,
        "the second wave joins the incident still open from before the restart"
    );
}
