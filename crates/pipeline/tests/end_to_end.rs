//! Event → alert → incident through the real pipeline and store, in-process.

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use ensuresec_behaviour::{DEFAULT_RULES, RuleSet};
use ensuresec_model::fixtures::{self, t0};
use ensuresec_model::{Clock, Event, IncidentStatus};
use ensuresec_pipeline::{BroadcastSink, Ingestor, Pipeline, PipelineConfig, Sink, detectors};
use ensuresec_store::{
    AlertFilter, IncidentFilter, PageRequest, SqliteOptions, SqliteStore, Store,
};

struct FixedClock;
impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        t0()
    }
}

fn failed_login(account: &str, ip: &str, seconds: i64) -> Event {
    fixtures::failed_login(account, ip, t0() + Duration::seconds(seconds))
}

/// Starts a pipeline of `partitions` workers with the shipped threshold rules over the store in
/// `dir` (which resumes detection), storing findings and handing them to `sinks` too;
/// ingests `batches`, stops, and returns the store.
async fn ingest_through(
    dir: &std::path::Path,
    partitions: usize,
    batches: Vec<Vec<Event>>,
    sinks: Vec<Arc<dyn Sink>>,
) -> Arc<dyn Store> {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir, SqliteOptions::default()).unwrap());
    let rules = RuleSet::from_yaml("thresholds.yaml", DEFAULT_RULES).unwrap();
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
        let ingest = ingestor.ingest(b);
        tokio::time::timeout(StdDuration::from_secs(30), ingest)
            .await
            .unwrap()
            .unwrap();
    }
    drop(ingestor);
    pipeline.shutdown().await;
    store
}

/// Runs `batches` through a fresh pipeline with `partitions` workers and returns the store.
async fn run(
    partitions: usize,
    batches: Vec<Vec<Event>>,
) -> (tempfile::TempDir, Arc<dyn Store>, usize) {
    let dir = tempfile::tempdir().unwrap();
    let live = BroadcastSink::new(64);
    let mut sub = live.subscribe();
    let store = ingest_through(dir.path(), partitions, batches, vec![Arc::new(live)]).await;
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
                .map(|i| {
                    failed_login(
                        &format!("victim{}", b * 10 + i),
                        "203.0.113.66",
                        (b * 20 + i * 2) as i64,
                    )
                })
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
    let alerts = store
        .list_alerts(AlertFilter::default(), PageRequest::default())
        .await
        .unwrap();
    assert_eq!(alerts.items.len(), 1, "{:#?}", alerts.items);
    let alert = &alerts.items[0];
    assert_eq!(alert.rule_id, "credential-stuffing-ip");
    assert_eq!(alert.entity.value, "203.0.113.66");
    assert_eq!(delivered, 1, "live subscribers saw the alert too");
    let incidents = store
        .list_incidents(IncidentFilter::default(), PageRequest::default())
        .await
        .unwrap();
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
        let alerts = store
            .list_alerts(AlertFilter::default(), PageRequest::default())
            .await
            .unwrap();
        results.push(
            alerts
                .items
                .iter()
                .map(|a| {
                    (
                        a.rule_id.clone(),
                        a.entity.clone(),
                        a.time,
                        a.evidence.clone(),
                    )
                })
                .collect::<Vec<_>>(),
        );
    }
    assert!(!results[0].is_empty());
    assert_eq!(results[0], results[1]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incidents_resume_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    for round in 0..2 {
        // Each round is a new stuffing wave from the same address, within the grouping window.
        let offset = round * 400;
        let batch: Vec<Event> = (0..20)
            .map(|i| failed_login(&format!("r{round}u{i}"), "203.0.113.66", offset + i))
            .collect();
        let partitions = PipelineConfig::default().partitions;
        ingest_through(dir.path(), partitions, vec![batch], Vec::new()).await;
    }
    let store = SqliteStore::open(dir.path(), SqliteOptions::default()).unwrap();
    let alerts = store
        .list_alerts(AlertFilter::default(), PageRequest::default())
        .await
        .unwrap();
    assert_eq!(alerts.items.len(), 2);
    assert_eq!(
        alerts.items[0].id,
        alerts.items[1].id + 1,
        "alert ids continue after a restart"
    );
    assert_eq!(
        alerts.items[0].incident_id, alerts.items[1].incident_id,
        "the second wave joins the incident still open from before the restart"
    );
}

/// [`ingest_through`], then the alerts stored, newest first.
async fn start_ingest_stop(
    dir: &std::path::Path,
    partitions: usize,
    batches: Vec<Vec<Event>>,
) -> Vec<ensuresec_model::Alert> {
    ingest_through(dir, partitions, batches, Vec::new())
        .await
        .list_alerts(AlertFilter::default(), PageRequest::default())
        .await
        .unwrap()
        .items
}

/// A stuffing wave from `ip`: 12 accounts tried within 24 s, starting `at` seconds in.
fn wave(ip: &str, at: i64) -> Vec<Event> {
    (0..12)
        .map(|i| failed_login(&format!("{ip}-victim{i}"), ip, at + 2 * i))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_stored_but_not_detected_are_detected_at_the_next_start_and_only_once() {
    let dir = tempfile::tempdir().unwrap();
    let first = start_ingest_stop(dir.path(), 2, vec![wave("203.0.113.10", 0)]).await;
    assert_eq!(first.len(), 1, "{first:#?}");
    {
        // A run that acknowledged two waves, then died before detecting them: they are in
        // the store, and no detector saw them.
        let store = SqliteStore::open(dir.path(), SqliteOptions::default()).unwrap();
        for ip in ["203.0.113.20", "203.0.113.30"] {
            store.append_events(&wave(ip, 0), None).await.unwrap();
        }
    }
    let resumed = start_ingest_stop(dir.path(), 2, vec![wave("203.0.113.40", 0)]).await;
    let mut raised: Vec<&str> = resumed.iter().map(|a| a.entity.value.as_str()).collect();
    raised.sort_unstable();
    assert_eq!(
        raised,
        vec![
            "203.0.113.10",
            "203.0.113.20",
            "203.0.113.30",
            "203.0.113.40"
        ],
        "the waves stored before the restart are detected, the first wave not again"
    );
    {
        let store = SqliteStore::open(dir.path(), SqliteOptions::default()).unwrap();
        let after_last = store.count_events().await.unwrap() + 1;
        assert_eq!(
            store.detection_progress().await.unwrap().next_seq,
            vec![after_last; 2],
            "a clean stop leaves every partition past the last event: nothing to resume"
        );
    }
    let again = start_ingest_stop(dir.path(), 3, Vec::new()).await;
    assert_eq!(
        again.len(),
        4,
        "another partition count does not detect what was detected again"
    );
}
