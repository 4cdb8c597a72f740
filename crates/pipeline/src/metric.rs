//! Names of the Prometheus metrics the pipeline reports, in one place so that dashboards and
//! tests refer to the same strings.

/// Events accepted and made durable, by `type`.
pub const EVENTS_INGESTED: &str = "ensuresec_events_ingested_total";
/// Batches sent again under an `Idempotency-Key` already used, answered without storing them
/// twice.
pub const BATCHES_SENT_AGAIN: &str = "ensuresec_ingest_batches_sent_again_total";
/// Events run through the detectors.
pub const EVENTS_PROCESSED: &str = "ensuresec_events_processed_total";
/// Alerts raised, by `detector` and `rule`.
pub const ALERTS: &str = "ensuresec_alerts_total";
/// Incidents opened.
pub const INCIDENTS_OPENED: &str = "ensuresec_incidents_opened_total";
/// Time from receiving an event to its alert being stored, in seconds.
pub const EVENT_TO_ALERT_SECONDS: &str = "ensuresec_event_to_alert_seconds";
/// Batches waiting for a partition worker, by `partition`.
pub const PARTITION_QUEUE: &str = "ensuresec_partition_queue_batches";
/// Entities held in detector state, by `detector`.
pub const DETECTOR_ENTITIES: &str = "ensuresec_detector_entities";
/// Sink deliveries that failed, by `sink`.
pub const SINK_ERRORS: &str = "ensuresec_sink_errors_total";
/// Batches of findings a recorder (the audit log) failed to append, by recorder.
pub const RECORDER_ERRORS: &str = "ensuresec_recorder_errors_total";
/// Incidents held by the correlator.
pub const CORRELATOR_INCIDENTS: &str = "ensuresec_correlator_incidents";
/// Incidents the correlator dropped from memory because its table was full.
pub const CORRELATOR_DROPPED: &str = "ensuresec_correlator_dropped_total";
/// Events fed through detection again at start because they were stored but not yet detected
/// when the last run stopped.
pub const EVENTS_RESUMED: &str = "ensuresec_events_resumed_total";
/// Writes of findings the store refused and the pipeline tried again (detection waits).
pub const STORE_WRITE_RETRIES: &str = "ensuresec_store_write_retries_total";
/// 1 while a round of findings waits for the store to take it, else 0.
pub const FINDINGS_WAITING: &str = "ensuresec_findings_waiting_for_store";
