//! A round of findings the store refuses is written again until the store takes it, and is
//! never passed over by a later round's progress; a stop while the store refuses leaves the
//! round to the next start. The store is the real SQLite store, made to refuse alerts by a
//! trigger that a second connection adds and drops, as a full disk or a failing volume would.

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

use std::path::Path;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use ensuresec_model::event::ExternalAlert;
use ensuresec_model::fixtures::t0;
use ensuresec_model::{Clock, Event, EventData, Severity};
use ensuresec_pipeline::{
    BroadcastSink, Ingestor, Pipeline, PipelineConfig, RetryPolicy, StoreHealth, detectors,
};
use ensuresec_store::{AlertFilter, PageRequest, SqliteOptions, SqliteStore, Store};

const WAIT: StdDuration = StdDuration::from_secs(30);

struct FixedClock;
impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        t0()
    }
}

/// Another tool's alert about `src`: the pipeline raises one alert for it.
fn imported_alert(signature: &str, src: &str, seconds: i64) -> Event {
    Event {
        time: t0() + Duration::seconds(seconds),
        ingest_time: None,
        source: "suricata:eve.json".into(),
        labels: Default::default(),
        data: EventData::ExternalAlert(ExternalAlert {
            tool: "suricata".into(),
            signature_id: signature.into(),
            signature: format!("signature {signature}"),
            severity: Severity::High,
            category: None,
            revision: None,
            action: None,
            src_ip: Some(src.parse().unwrap()),
            src_port: None,
            dst_ip: None,
            dst_port: None,
            protocol: None,
        }),
    }
}

/// Makes the store at `dir` refuse (or take again) every alert, from a second connection.
fn refuse_alerts(dir: &Path, refuse: bool) {
    let db = rusqlite::Connection::open(dir.join("ensuresec.db")).unwrap();
    db.busy_timeout(WAIT).unwrap();
    let sql = if refuse {
        "CREATE TRIGGER refuse_alerts BEFORE INSERT ON alerts \
         BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"
    } else {
        "DROP TRIGGER refuse_alerts"
    };
    db.execute_batch(sql).unwrap();
}

async fn start(store: &Arc<dyn Store>, live: &BroadcastSink) -> Pipeline {
    Pipeline::start(
        PipelineConfig {
            partitions: 2,
            store_retry: RetryPolicy {
                first: StdDuration::from_millis(20),
                most: StdDuration::from_millis(200),
            },
            ..PipelineConfig::default()
        },
        vec![detectors::external()],
        store.clone(),
        vec![Arc::new(live.clone())],
        Arc::new(FixedClock),
    )
    .await
    .unwrap()
}

async fn stored_rules(store: &Arc<dyn Store>) -> Vec<String> {
    let mut rules: Vec<String> = store
        .list_alerts(AlertFilter::default(), PageRequest::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|a| a.rule_id)
        .collect();
    rules.sort();
    rules
}

/// A pipeline over a store in its own directory that refuses alerts, with one imported alert
/// acknowledged and its round refused, and a subscriber to what the sinks are handed.
struct Refused {
    dir: tempfile::TempDir,
    store: Arc<dyn Store>,
    live: BroadcastSink,
    delivered: tokio::sync::broadcast::Receiver<Arc<ensuresec_store::Findings>>,
    pipeline: Pipeline,
    ingestor: Ingestor,
}

impl Refused {
    /// Starts the pipeline, ingests alert `1` and waits until the store has refused its round.
    async fn first_alert() -> Refused {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> =
            Arc::new(SqliteStore::open(dir.path(), SqliteOptions::default()).unwrap());
        refuse_alerts(dir.path(), true);
        let live = BroadcastSink::new(64);
        let delivered = live.subscribe();
        let pipeline = start(&store, &live).await;
        let ingestor = Ingestor::new(store.clone(), pipeline.handle(), Arc::new(FixedClock));
        ingestor
            .ingest(vec![imported_alert("1", "198.51.100.1", 0)])
            .await
            .unwrap();
        let mut health = pipeline.store_health();
        let refused = health.wait_for(|h| matches!(h, StoreHealth::Retrying { .. }));
        tokio::time::timeout(WAIT, refused).await.unwrap().unwrap();
        Refused {
            dir,
            store,
            live,
            delivered,
            pipeline,
            ingestor,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_round_the_store_refuses_is_stored_once_the_store_takes_it_again() {
    let Refused {
        dir,
        store,
        mut delivered,
        pipeline,
        ingestor,
        ..
    } = Refused::first_alert().await;
    // A second batch is acknowledged while the first one's alert waits; its round must not
    // pass the first.
    ingestor
        .ingest(vec![imported_alert("2", "198.51.100.2", 1)])
        .await
        .unwrap();
    assert!(
        stored_rules(&store).await.is_empty(),
        "nothing is stored yet"
    );
    assert!(
        delivered.try_recv().is_err(),
        "sinks see findings only once they are stored"
    );

    refuse_alerts(dir.path(), false);
    let first = tokio::time::timeout(WAIT, delivered.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.alerts[0].rule_id, "suricata:1");
    let second = tokio::time::timeout(WAIT, delivered.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(second.alerts[0].rule_id, "suricata:2");
    drop(ingestor);
    pipeline.shutdown().await;

    assert_eq!(stored_rules(&store).await, ["suricata:1", "suricata:2"]);
    let progress = store.detection_progress().await.unwrap();
    assert_eq!(
        progress.next_seq.iter().min().copied(),
        Some(3),
        "both events are detected: {progress:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_while_the_store_refuses_leaves_the_round_to_the_next_start() {
    let Refused {
        dir,
        store,
        live,
        pipeline,
        ingestor,
        ..
    } = Refused::first_alert().await;
    let health = pipeline.store_health();
    drop(ingestor);
    tokio::time::timeout(WAIT, pipeline.shutdown())
        .await
        .expect("a stop does not wait for a store that refuses");
    assert!(
        matches!(&*health.borrow(), StoreHealth::GaveUp { error } if error.contains("disk is full")),
        "{:?}",
        *health.borrow()
    );
    assert!(stored_rules(&store).await.is_empty());
    let progress = store.detection_progress().await.unwrap();
    assert!(
        progress.next_seq.iter().min().is_none_or(|&n| n <= 1),
        "the refused round's event is not stored as detected: {progress:?}"
    );

    // The next start, with a store that takes alerts, detects the event again.
    refuse_alerts(dir.path(), false);
    let mut delivered = live.subscribe();
    let pipeline = start(&store, &live).await;
    let again = tokio::time::timeout(WAIT, delivered.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.alerts[0].rule_id, "suricata:1");
    pipeline.shutdown().await;
    assert_eq!(stored_rules(&store).await, ["suricata:1"]);
}
