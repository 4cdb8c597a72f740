//! Actions: what the platform or a person did about an incident (a ban, a notification, a status
//! change). Kept so that the response is as reviewable as the attack.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::entity::EntityKey;
use crate::incident::IncidentId;

/// Identifies a stored action; assigned by the store.
pub type ActionId = u64;

/// One thing done in response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Action {
    /// Assigned by the store; 0 before.
    #[serde(default)]
    pub id: ActionId,
    /// When it was done (wall clock).
    pub time: DateTime<Utc>,
    /// The incident it answers, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident_id: Option<IncidentId>,
    /// What kind of action: `incident_opened`, `status_change`, `ban`, `notify`…
    pub kind: String,
    /// What it was applied to, if anything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<EntityKey>,
    /// Who or what did it: `correlator`, a playbook name, a user.
    pub by: String,
    /// Details, specific to the kind.
    #[serde(default)]
    pub detail: serde_json::Value,
    /// Leaf index of this record in the tamper-evident audit log, once appended (for an
    /// incident: of its latest state). `GET /v1/ledger/receipt/{index}` proves it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ledger_index: Option<u64>,
}
