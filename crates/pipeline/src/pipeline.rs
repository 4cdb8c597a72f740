//! Partitioned detection and the correlator task.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use ensuresec_correlate::{Correlated, Correlator, CorrelatorConfig};
use ensuresec_model::detector::DetectorFactory;
use ensuresec_model::hash;
use ensuresec_model::{
    Alert, AlertChain, Clock, Detector, EntityKind, EntityRef, Event, Incident, IncidentStatus,
};
use ensuresec_store::{DetectionProgress, Findings, Store, StoreError};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use crate::metric as m;
use crate::recorder::Recorder;
use crate::resume::{self, ResumeError, Taken};
use crate::sink::Sink;
use crate::store_writer::{RetryPolicy, StoreHealth, StoreWriter};

/// Tuning of the pipeline.
#[derive(Debug, Clone)]
pub struct PipelineConfig {
    /// Worker threads, each owning one partition of detector state.
    pub partitions: usize,
    /// Batches queued per partition before submitters wait.
    pub queue_batches: usize,
    /// Correlation settings.
    pub correlator: CorrelatorConfig,
    /// How long to wait before writing again a round of findings the store refused.
    pub store_retry: RetryPolicy,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        PipelineConfig {
            partitions: std::thread::available_parallelism().map_or(2, |n| n.get()),
            queue_batches: 64,
            correlator: CorrelatorConfig::default(),
            store_retry: RetryPolicy::default(),
        }
    }
}

/// A durable batch of events on its way through detection.
#[derive(Debug)]
pub struct Batch {
    /// The events, with `ingest_time` set.
    pub events: Vec<Event>,
    /// Sequence number of the first event in the store.
    pub first_seq: u64,
    /// When the batch was received, for the latency metric.
    pub received: Instant,
}

/// Alerts from one worker's pass over one batch, sent for every batch (with or without
/// alerts) so that the correlator knows how far each partition has come.
struct AlertBatch {
    alerts: Vec<Alert>,
    received: Instant,
    /// The partition that made them.
    partition: usize,
    /// The sequence number after the batch: the partition has taken every event before it.
    next_seq: u64,
}

/// A cloneable handle to submit batches into a running pipeline.
#[derive(Clone)]
pub struct PipelineHandle {
    inputs: Arc<Vec<mpsc::Sender<Arc<Batch>>>>,
}

/// Why a batch could not enter the pipeline.
#[derive(Debug, thiserror::Error)]
#[error("the pipeline has stopped")]
pub struct PipelineStopped;

impl PipelineHandle {
    /// Hands a batch to every partition, waiting while any partition's queue is full.
    pub async fn submit(&self, batch: Batch) -> Result<(), PipelineStopped> {
        let batch = Arc::new(batch);
        for (index, input) in self.inputs.iter().enumerate() {
            input
                .send(Arc::clone(&batch))
                .await
                .map_err(|_| PipelineStopped)?;
            metrics::gauge!(m::PARTITION_QUEUE, "partition" => index.to_string())
                .set((input.max_capacity() - input.capacity()) as f64);
        }
        Ok(())
    }
}

/// A status change for the correlator to make (from the API or a playbook).
struct StatusChange {
    incident: u64,
    to: IncidentStatus,
    by: String,
    reason: String,
    reply: Option<oneshot::Sender<Result<Incident, String>>>,
}

/// Moves incidents along their lifecycle through the correlator, which owns their state: a
/// change goes through the audit log and every sink like any other finding.
#[derive(Clone)]
pub struct LifecycleHandle(mpsc::Sender<StatusChange>);

impl LifecycleHandle {
    /// Changes an incident's status and returns its new state; the error says why it was
    /// refused (unknown incident, already in that status, closed).
    pub async fn change(
        &self,
        incident: u64,
        to: IncidentStatus,
        by: String,
        reason: String,
    ) -> Result<Incident, String> {
        let (reply, answer) = oneshot::channel();
        self.0
            .send(StatusChange {
                incident,
                to,
                by,
                reason,
                reply: Some(reply),
            })
            .await
            .map_err(|_| "the pipeline has stopped".to_string())?;
        answer
            .await
            .map_err(|_| "the pipeline has stopped".to_string())?
    }

    /// Requests a change without waiting for it (for callers inside a sink, which the
    /// correlator is waiting on).
    pub fn request(&self, incident: u64, to: IncidentStatus, by: String, reason: String) {
        let tx = self.0.clone();
        tokio::spawn(async move {
            let change = StatusChange {
                incident,
                to,
                by,
                reason,
                reply: None,
            };
            if tx.send(change).await.is_err() {
                tracing::warn!(incident, "status change dropped: the pipeline has stopped");
            }
        });
    }
}

/// A running pipeline.
pub struct Pipeline {
    handle: PipelineHandle,
    lifecycle: LifecycleHandle,
    workers: Vec<std::thread::JoinHandle<()>>,
    correlator: JoinHandle<()>,
    store: Arc<dyn Store>,
    resume_from: u64,
    stop: watch::Sender<bool>,
    store_health: watch::Receiver<StoreHealth>,
}

impl Pipeline {
    /// Starts the workers and the correlator and [resumes](Pipeline::resume) detection of the
    /// events stored but not yet detected. `store` gives the ids, open incidents and detection
    /// progress to resume from; findings are stored in it, with how far detection has come,
    /// and then go to every sink in order.
    pub async fn start(
        config: PipelineConfig,
        detectors: Vec<DetectorFactory>,
        store: Arc<dyn Store>,
        sinks: Vec<Arc<dyn Sink>>,
        clock: Arc<dyn Clock>,
    ) -> Result<Pipeline, ResumeError> {
        let pipeline =
            Pipeline::start_recorded(config, detectors, Vec::new(), store, None, sinks, clock)
                .await?;
        pipeline.resume().await?;
        Ok(pipeline)
    }

    /// Like [`Pipeline::start`], with chains over the alerts (run in the correlator task, before
    /// correlation) and a recorder (the audit log) that appends every batch of findings and
    /// stamps their leaf indexes before the sinks see them; detection is not resumed until the
    /// caller calls [`Pipeline::resume`], so that what the sinks need is connected first.
    ///
    /// How far detection has come is written to `store` in the transaction of the findings
    /// (alone for rounds without findings). A round the store refuses is written again until
    /// it is taken, and meanwhile detection waits ([`Pipeline::store_health`]).
    pub async fn start_recorded(
        config: PipelineConfig,
        detectors: Vec<DetectorFactory>,
        chains: Vec<Box<dyn AlertChain>>,
        store: Arc<dyn Store>,
        recorder: Option<Arc<dyn Recorder>>,
        sinks: Vec<Arc<dyn Sink>>,
        clock: Arc<dyn Clock>,
    ) -> Result<Pipeline, StoreError> {
        let (last_alert, last_incident) = store.max_ids().await?;
        let open = store.open_incidents().await?;
        let partitions = config.partitions.max(1);
        let taken = Arc::new(Taken::new(&store.detection_progress().await?));
        let correlator =
            Correlator::new(config.correlator.clone(), open, last_alert, last_incident);
        let (alert_tx, alert_rx) =
            mpsc::channel::<AlertBatch>(partitions * config.queue_batches.max(1));
        let mut inputs = Vec::with_capacity(partitions);
        let mut workers = Vec::with_capacity(partitions);
        for index in 0..partitions {
            let (tx, rx) = mpsc::channel::<Arc<Batch>>(config.queue_batches.max(1));
            inputs.push(tx);
            let instances: Vec<Box<dyn Detector>> = detectors.iter().map(|f| f()).collect();
            let alerts = alert_tx.clone();
            let taken = Arc::clone(&taken);
            let worker = std::thread::Builder::new()
                .name(format!("detect-{index}"))
                .spawn(move || run_partition(index, partitions, &taken, instances, rx, alerts))
                .map_err(|e| StoreError::Commit(format!("cannot start worker thread: {e}")))?;
            workers.push(worker);
        }
        drop(alert_tx);
        let (lifecycle_tx, lifecycle_rx) = mpsc::channel(256);
        let resume_from = taken.replay_from();
        let (stop, stopping) = watch::channel(false);
        let (health, store_health) = watch::channel(StoreHealth::Writing);
        let correlator = tokio::spawn(run_correlator(
            correlator,
            chains,
            alert_rx,
            lifecycle_rx,
            taken.progress_for(partitions),
            Outputs {
                store: store.clone(),
                writer: StoreWriter::new(store.clone(), config.store_retry, health, stopping),
                recorder,
                sinks,
                clock,
            },
        ));
        Ok(Pipeline {
            handle: PipelineHandle {
                inputs: Arc::new(inputs),
            },
            lifecycle: LifecycleHandle(lifecycle_tx),
            workers,
            correlator,
            store,
            resume_from,
            stop,
            store_health,
        })
    }

    /// Feeds the events stored after the detection progress kept by the last run (events that
    /// were acknowledged but not yet detected when it stopped, or crashed) through the
    /// detectors, in order, and returns how many it read. Call it once, before any new batch
    /// is submitted; each partition skips the events the last run had taken.
    pub async fn resume(&self) -> Result<u64, ResumeError> {
        resume::replay(self.store.as_ref(), &self.handle, self.resume_from).await
    }

    /// A handle for submitting batches.
    pub fn handle(&self) -> PipelineHandle {
        self.handle.clone()
    }

    /// A handle for status changes.
    pub fn lifecycle(&self) -> LifecycleHandle {
        self.lifecycle.clone()
    }

    /// How the writes of findings to the store are going: readiness checks answer "not ready"
    /// while a refused round waits.
    pub fn store_health(&self) -> watch::Receiver<StoreHealth> {
        self.store_health.clone()
    }

    /// Stops taking batches, finishes everything queued, delivers the last findings and returns.
    /// Handles still held elsewhere must be dropped first, or this waits for them. A round the
    /// store refuses is not waited for: it and the rest are left to the next start, which
    /// detects their events again.
    pub async fn shutdown(self) {
        self.stop.send_replace(true);
        drop(self.handle);
        let workers = self.workers;
        let _ = tokio::task::spawn_blocking(move || {
            for w in workers {
                let _ = w.join();
            }
        })
        .await;
        let _ = self.correlator.await;
    }
}

/// Which partition owns an entity value. The hash is fixed (not `DefaultHasher`, whose
/// algorithm a new build may change): resuming after a restart works out which partition
/// owned an event in the last run, with that run's partition count.
fn partition_of(kind: EntityKind, value: EntityRef<'_>, partitions: usize) -> usize {
    // An address by its octets: formatting it as text, as the fraud tables' keys do, costs
    // more than the rest of routing an event.
    let value = match value {
        EntityRef::Ip(IpAddr::V4(ip)) => hash::hash_bytes(&ip.octets()),
        EntityRef::Ip(IpAddr::V6(ip)) => hash::hash_bytes(&ip.octets()),
        EntityRef::Name(name) => hash::hash_bytes(name.as_bytes()),
    };
    let h = hash::mix(value ^ hash::hash_bytes(kind.as_str().as_bytes()));
    (h % partitions as u64) as usize
}

/// Detectors of one partition, grouped by the entity kind that routes to them.
struct Group {
    kind: Option<EntityKind>,
    detectors: Vec<Box<dyn Detector>>,
}

/// One partition's worker: runs its detectors over the events it owns, except those the last
/// run had `taken` (events fed again at start).
fn run_partition(
    index: usize,
    partitions: usize,
    taken: &Taken,
    instances: Vec<Box<dyn Detector>>,
    mut rx: mpsc::Receiver<Arc<Batch>>,
    alerts_tx: mpsc::Sender<AlertBatch>,
) {
    let mut groups: Vec<Group> = Vec::new();
    for d in instances {
        let kind = d.group_by();
        match groups.iter_mut().find(|g| g.kind == kind) {
            Some(g) => g.detectors.push(d),
            None => groups.push(Group {
                kind,
                detectors: vec![d],
            }),
        }
    }
    let processed = metrics::counter!(m::EVENTS_PROCESSED);
    while let Some(batch) = rx.blocking_recv() {
        let mut alerts = Vec::new();
        let mut mine = 0u64;
        for (offset, event) in batch.events.iter().enumerate() {
            let seq = batch.first_seq + offset as u64;
            let event_type = event.event_type();
            for group in &mut groups {
                let owned = match group.kind {
                    Some(kind) => event
                        .entity(kind)
                        .is_some_and(|v| partition_of(kind, v, partitions) == index),
                    None => seq % partitions as u64 == index as u64,
                };
                if !owned {
                    continue;
                }
                let owner_then = |then: usize| match group.kind {
                    Some(kind) => event.entity(kind).map(|v| partition_of(kind, v, then)),
                    None => Some((seq % then as u64) as usize),
                };
                if taken.had(seq, owner_then) {
                    continue;
                }
                mine += 1;
                for d in &mut group.detectors {
                    if d.accepts(event_type) {
                        d.on_event(event, &mut alerts);
                    }
                }
            }
        }
        processed.increment(mine);
        for group in &groups {
            for d in &group.detectors {
                metrics::gauge!(m::DETECTOR_ENTITIES, "detector" => d.name().to_string(), "partition" => index.to_string())
                    .set(d.tracked_entities() as f64);
            }
        }
        let done = AlertBatch {
            alerts,
            received: batch.received,
            partition: index,
            next_seq: batch.first_seq + batch.events.len() as u64,
        };
        if alerts_tx.blocking_send(done).is_err() {
            tracing::error!(
                partition = index,
                "correlator stopped; partition worker exits"
            );
            return;
        }
    }
}

/// Most alert batches the correlator takes in one round.
const CORRELATE_ROUND: usize = 64;

/// Where the correlator's findings go.
struct Outputs {
    /// Read for status changes; written only through `writer`.
    store: Arc<dyn Store>,
    writer: StoreWriter,
    recorder: Option<Arc<dyn Recorder>>,
    sinks: Vec<Arc<dyn Sink>>,
    clock: Arc<dyn Clock>,
}

impl Outputs {
    /// Records findings in the audit log, stores them, then hands them to every sink; answers
    /// whether they were stored. `progress`, when given, is how far detection has come with
    /// them: it goes to the store with the findings, or alone when there are none.
    async fn emit(&mut self, out: Correlated, progress: Option<DetectionProgress>) -> bool {
        let mut findings = Findings {
            alerts: out.alerts,
            incidents: out.incidents,
            actions: out.actions,
            progress,
        };
        if findings.alerts.is_empty()
            && findings.incidents.is_empty()
            && findings.actions.is_empty()
        {
            return findings.progress.is_none() || self.writer.write(&findings).await;
        }
        if let Some(recorder) = &self.recorder
            && let Err(e) = recorder.record(&mut findings).await
        {
            // Detection goes on; the records reach the store without a leaf index, and the
            // failure is loud (the audit log refuses appends until it is reopened).
            metrics::counter!(m::RECORDER_ERRORS, "recorder" => recorder.name().to_string())
                .increment(1);
            tracing::error!(error = %e, "audit log append failed; findings stored without ledger_index");
        }
        if !self.writer.write(&findings).await {
            // Not stored: the next start detects these events again and delivers what it finds.
            return false;
        }
        for sink in &self.sinks {
            if let Err(e) = sink.deliver(&findings).await {
                metrics::counter!(m::SINK_ERRORS, "sink" => sink.name().to_string()).increment(1);
                tracing::error!(error = %e, "sink failed");
            }
        }
        true
    }

    /// Applies a status change and emits it; answers the requester.
    async fn change(&mut self, correlator: &mut Correlator, c: StatusChange) {
        let stored = match self.store.incident(c.incident).await {
            Ok(detail) => detail.map(|d| d.incident),
            Err(e) => {
                if let Some(reply) = c.reply {
                    let _ = reply.send(Err(format!("store: {e}")));
                }
                return;
            }
        };
        let result =
            correlator.transition(c.incident, stored, c.to, &c.by, &c.reason, self.clock.now());
        match result {
            Ok(out) => {
                let incident = out.incidents.first().cloned();
                let stored = self.emit(out, None).await;
                if let (Some(reply), Some(i)) = (c.reply, incident) {
                    let _ = reply.send(if stored {
                        Ok(i)
                    } else {
                        Err("the store refused the change; the pipeline is stopping".to_string())
                    });
                }
            }
            Err(e) => {
                tracing::info!(incident = c.incident, by = %c.by, error = %e, "status change refused");
                if let Some(reply) = c.reply {
                    let _ = reply.send(Err(e.to_string()));
                }
            }
        }
    }
}

async fn run_correlator(
    mut correlator: Correlator,
    mut chains: Vec<Box<dyn AlertChain>>,
    mut rx: mpsc::Receiver<AlertBatch>,
    mut lifecycle: mpsc::Receiver<StatusChange>,
    mut progress: DetectionProgress,
    mut outputs: Outputs,
) {
    let latency = metrics::histogram!(m::EVENT_TO_ALERT_SECONDS);
    let mut round = Vec::with_capacity(CORRELATE_ROUND);
    loop {
        tokio::select! {
            biased;
            n = rx.recv_many(&mut round, CORRELATE_ROUND) => {
                if n == 0 {
                    break;
                }
            }
            Some(change) = lifecycle.recv() => {
                outputs.change(&mut correlator, change).await;
                continue;
            }
        }
        let received: Vec<Instant> = round
            .iter()
            .flat_map(|b: &AlertBatch| std::iter::repeat_n(b.received, b.alerts.len()))
            .collect();
        for b in &round {
            let next = &mut progress.next_seq[b.partition];
            *next = (*next).max(b.next_seq);
        }
        let mut alerts: Vec<Alert> = round.drain(..).flat_map(|b| b.alerts).collect();
        let mut derived = Vec::new();
        for chain in &mut chains {
            for a in &alerts {
                chain.on_alert(a, &mut derived);
            }
        }
        alerts.extend(derived);
        for a in &alerts {
            metrics::counter!(m::ALERTS, "detector" => a.detector.clone(), "rule" => a.rule_id.clone())
                .increment(1);
        }
        let out = correlator.correlate(alerts, outputs.clock.now());
        metrics::counter!(m::INCIDENTS_OPENED).increment(out.opened.len() as u64);
        metrics::gauge!(m::CORRELATOR_INCIDENTS).set(correlator.tracked() as f64);
        metrics::counter!(m::CORRELATOR_DROPPED).absolute(correlator.dropped());
        outputs.emit(out, Some(progress.clone())).await;
        for r in received {
            latency.record(r.elapsed().as_secs_f64());
        }
    }
}

#[cfg(test)]
mod tests {
    use ensuresec_model::fixtures::{self, t0};
    use ensuresec_model::{EntityKey, EventType, Severity};

    use super::*;

    /// Raises one alert per event it sees, naming the event's account.
    struct EveryEvent;

    impl Detector for EveryEvent {
        fn name(&self) -> &str {
            "every-event"
        }
        fn group_by(&self) -> Option<EntityKind> {
            None
        }
        fn accepts(&self, _: EventType) -> bool {
            true
        }
        fn on_event(&mut self, event: &Event, out: &mut Vec<Alert>) {
            let account = event.entity(EntityKind::Account).map(|a| a.to_value());
            out.push(Alert {
                id: 0,
                time: event.time,
                detector: "every-event".into(),
                rule_id: "seen".into(),
                title: "seen".into(),
                severity: Severity::Low,
                confidence: 1.0,
                entity: EntityKey::new(EntityKind::Account, account.unwrap_or_default()),
                evidence: serde_json::Value::Null,
                tags: Vec::new(),
                incident_id: None,
                ledger_index: None,
            });
        }
    }

    #[test]
    fn a_partition_skips_the_events_the_last_run_took_and_reports_how_far_it_came() {
        let (tx, rx) = mpsc::channel(4);
        let (alerts_tx, mut alerts_rx) = mpsc::channel(4);
        let events = (0..4)
            .map(|i| fixtures::failed_login(&format!("user{i}"), "192.0.2.1", t0()))
            .collect();
        tx.blocking_send(Arc::new(Batch {
            events,
            first_seq: 3,
            received: Instant::now(),
        }))
        .unwrap();
        drop(tx);
        // The last run had two partitions: the even events' had come to 7, the odd events' to 4.
        let taken = Taken::new(&DetectionProgress {
            next_seq: vec![7, 4],
        });
        run_partition(0, 1, &taken, vec![Box::new(EveryEvent)], rx, alerts_tx);
        let done = alerts_rx.blocking_recv().unwrap();
        let seen: Vec<&str> = done
            .alerts
            .iter()
            .map(|a| a.entity.value.as_str())
            .collect();
        assert_eq!(
            seen,
            vec!["user2"],
            "events 3 (odd, below 4), 4 and 6 (even, below 7) were taken before the restart"
        );
        assert_eq!((done.partition, done.next_seq), (0, 7));
        assert!(alerts_rx.blocking_recv().is_none());
    }
}
