//! The ground truth of a delivery day: one label per injected attack, kept apart from the events
//! (an evaluator reads both; the detectors see only the events).

use chrono::{DateTime, Utc};
use ensuresec_model::EntityKey;
use serde::{Deserialize, Serialize};

/// One injected attack.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Truth {
    /// The attack kind, as named in the scenario (`cold_chain_break`, `delivered_far`…).
    pub kind: String,
    /// The entity an alert about it is raised on (the parcel, the courier, the claimant, the
    /// sensor, the badge, the account).
    pub entity: EntityKey,
    /// The parcel concerned, when the entity is not the parcel itself (alerts name it in their
    /// evidence as `parcel_id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parcel: Option<String>,
    /// The sensor whose readings show it, for the delay in readings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sensor: Option<String>,
    /// When the attack began (event time).
    pub onset: DateTime<Utc>,
    /// The rules that catch it, from the scenario.
    pub detected_by: Vec<String>,
}
