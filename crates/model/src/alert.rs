//! Alerts: what a detector says when it sees something. Alerts are facts with evidence; the
//! correlator groups them into incidents, which are what people work on.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::entity::EntityKey;
use crate::incident::IncidentId;
use crate::severity::Severity;

/// Identifies a stored alert; assigned by the pipeline, increasing.
pub type AlertId = u64;

/// One detector finding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Alert {
    /// Assigned when the alert enters the correlator; 0 before.
    #[serde(default)]
    pub id: AlertId,
    /// Event time of the observation that completed the finding.
    pub time: DateTime<Utc>,
    /// The detector that raised it (e.g. `threshold`).
    pub detector: String,
    /// The rule within that detector (e.g. `credential-stuffing-ip`).
    pub rule_id: String,
    /// One line a person can read.
    pub title: String,
    /// How bad it is.
    pub severity: Severity,
    /// How sure the detector is, from 0 to 1.
    pub confidence: f32,
    /// What it is about.
    pub entity: EntityKey,
    /// What the detector saw: counts, sample values, matched parts.
    #[serde(default)]
    pub evidence: serde_json::Value,
    /// Classification ids: `owasp:…`, `attack:T…` (MITRE ATT&CK), `capec:…`.
    #[serde(default)]
    pub tags: Vec<String>,
    /// The incident the correlator put it in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident_id: Option<IncidentId>,
    /// Leaf index of this record in the tamper-evident audit log, once appended (for an
    /// incident: of its latest state). `GET /v1/ledger/receipt/{index}` proves it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ledger_index: Option<u64>,
}
