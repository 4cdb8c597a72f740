//! Aggregates for overviews (the dashboard's first page): counts that backends answer from
//! indexes, so that an overview stays fast with millions of alerts.

use ensuresec_model::{IncidentStatus, Severity};
use serde::Serialize;

/// How many incidents share a module (their first detector), severity and status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IncidentCount {
    /// The first detector that contributed (`webattack`, `threshold`…).
    pub module: String,
    /// The incident's severity.
    pub severity: Severity,
    /// Its status.
    pub status: IncidentStatus,
    /// How many.
    pub count: u64,
}

/// Events and alerts per time bucket, oldest first; buckets without any are absent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Activity {
    /// Width of a bucket, in seconds.
    pub bucket_seconds: u32,
    /// (bucket start in Unix seconds, events ingested in it).
    pub events: Vec<(i64, u64)>,
    /// (bucket start in Unix seconds, alerts whose event time falls in it).
    pub alerts: Vec<(i64, u64)>,
}
