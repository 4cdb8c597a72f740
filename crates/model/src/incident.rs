//! Incidents: alerts about the same entity and threat, grouped, with a lifecycle that records who
//! moved it and why.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::entity::EntityKey;
use crate::severity::Severity;

/// Identifies an incident; assigned by the correlator, increasing.
pub type IncidentId = u64;

/// Where an incident is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum IncidentStatus {
    /// New, nobody acts yet.
    Open,
    /// Actions are under way.
    Mitigating,
    /// The attack can do no more harm.
    Contained,
    /// Restoring a good state.
    Recovering,
    /// Done.
    Resolved,
    /// Not an attack after all.
    FalsePositive,
}

impl IncidentStatus {
    /// Every status, in lifecycle order.
    pub const ALL: [IncidentStatus; 6] = [
        IncidentStatus::Open,
        IncidentStatus::Mitigating,
        IncidentStatus::Contained,
        IncidentStatus::Recovering,
        IncidentStatus::Resolved,
        IncidentStatus::FalsePositive,
    ];

    /// The snake_case name used in JSON, URLs and the store.
    pub fn as_str(self) -> &'static str {
        match self {
            IncidentStatus::Open => "open",
            IncidentStatus::Mitigating => "mitigating",
            IncidentStatus::Contained => "contained",
            IncidentStatus::Recovering => "recovering",
            IncidentStatus::Resolved => "resolved",
            IncidentStatus::FalsePositive => "false_positive",
        }
    }

    /// Closed incidents take no new alerts; a new alert opens a new incident.
    pub fn is_closed(self) -> bool {
        matches!(
            self,
            IncidentStatus::Resolved | IncidentStatus::FalsePositive
        )
    }
}

impl std::fmt::Display for IncidentStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for IncidentStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        IncidentStatus::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| format!("unknown incident status `{s}`"))
    }
}

/// One step of an incident's lifecycle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Transition {
    /// When it happened (wall clock of the platform).
    pub at: DateTime<Utc>,
    /// Status before; absent for the opening step.
    pub from: Option<IncidentStatus>,
    /// Status after.
    pub to: IncidentStatus,
    /// Who or what made it: `correlator`, a playbook, a user.
    pub by: String,
    /// Why.
    pub reason: String,
}

/// Grouped alerts about one entity and threat.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Incident {
    /// Its id.
    pub id: IncidentId,
    /// One line a person can read.
    pub title: String,
    /// Where it is in its life.
    pub status: IncidentStatus,
    /// The worst of its alerts, escalated as evidence accumulates.
    pub severity: Severity,
    /// What it is about.
    pub entity: EntityKey,
    /// Event time of its first alert.
    pub first_seen: DateTime<Utc>,
    /// Event time of its latest alert.
    pub last_seen: DateTime<Utc>,
    /// How many alerts it holds.
    pub alert_count: u64,
    /// Detectors that contributed.
    pub detectors: Vec<String>,
    /// Rules that contributed.
    pub rule_ids: Vec<String>,
    /// Union of its alerts' tags.
    pub tags: Vec<String>,
    /// Lifecycle steps, oldest first.
    pub history: Vec<Transition>,
    /// Leaf index of this record in the tamper-evident audit log, once appended (for an
    /// incident: of its latest state). `GET /v1/ledger/receipt/{index}` proves it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ledger_index: Option<u64>,
}
