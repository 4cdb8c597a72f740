//! Query shapes shared by every backend: filters and keyset pagination.

use chrono::{DateTime, Utc};
use ensuresec_model::{Action, Alert, EntityKey, Incident, IncidentStatus, Severity};
use serde::Serialize;

/// Which alerts to list.
#[derive(Debug, Clone, Default)]
pub struct AlertFilter {
    /// Only this severity or worse.
    pub min_severity: Option<Severity>,
    /// Only from this detector.
    pub detector: Option<String>,
    /// Only this rule.
    pub rule_id: Option<String>,
    /// Only about this entity.
    pub entity: Option<EntityKey>,
    /// Only in this incident.
    pub incident_id: Option<u64>,
    /// Only with event time at or after this.
    pub since: Option<DateTime<Utc>>,
    /// Only with event time before this.
    pub until: Option<DateTime<Utc>>,
}

/// Which incidents to list.
#[derive(Debug, Clone, Default)]
pub struct IncidentFilter {
    /// Only in this status.
    pub status: Option<IncidentStatus>,
    /// Only this severity or worse.
    pub min_severity: Option<Severity>,
    /// Only about this entity.
    pub entity: Option<EntityKey>,
    /// Only seen at or after this (last alert time).
    pub since: Option<DateTime<Utc>>,
    /// Only first seen before this.
    pub until: Option<DateTime<Utc>>,
}

/// Keyset pagination: newest first, continuing below an id.
#[derive(Debug, Clone, Copy)]
pub struct PageRequest {
    /// How many items, at most [`PageRequest::MAX_LIMIT`].
    pub limit: usize,
    /// Continue with ids strictly below this one (the previous page's `next_cursor`).
    pub before_id: Option<u64>,
}

impl PageRequest {
    /// The largest page a caller may ask for.
    pub const MAX_LIMIT: usize = 1000;

    /// A page of `limit` (clamped to 1..=MAX_LIMIT) items below `before_id`.
    pub fn new(limit: usize, before_id: Option<u64>) -> Self {
        PageRequest {
            limit: limit.clamp(1, Self::MAX_LIMIT),
            before_id,
        }
    }
}

impl Default for PageRequest {
    fn default() -> Self {
        PageRequest::new(100, None)
    }
}

/// One page of results.
#[derive(Debug, Clone, Serialize)]
pub struct Page<T> {
    /// The items, newest first.
    pub items: Vec<T>,
    /// Pass as `before` to get the next page; absent on the last page.
    pub next_cursor: Option<u64>,
}

/// An incident with what belongs to it.
#[derive(Debug, Clone, Serialize)]
pub struct IncidentDetail {
    /// The incident.
    pub incident: Incident,
    /// Its alerts, newest first (at most 1,000).
    pub alerts: Vec<Alert>,
    /// Actions taken on it, oldest first.
    pub actions: Vec<Action>,
}
