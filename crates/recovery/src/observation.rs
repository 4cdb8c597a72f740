//! Observations: what is known about an asset's health, since when and from where. They come
//! from health probes, from the platform's alerts mapped to assets, or from a person.

use schemars::JsonSchema;
use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use ensuresec_assets::{AssetModel, IncidentView};
use ensuresec_model::Incident;
use serde::{Deserialize, Serialize};

/// An asset's observed health.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Health {
    /// Works as expected.
    Ok,
    /// Shows a symptom: a failed probe or an alert.
    Faulty,
    /// Not known (a probe that could not decide); carries no information for diagnosis.
    Unknown,
}

/// One observation of one asset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Observation {
    /// The asset's id.
    pub asset: String,
    /// What was seen.
    pub health: Health,
    /// When.
    pub at: DateTime<Utc>,
    /// Where it comes from (`probe:http`, `alert:webattack`, `manual`).
    pub source: String,
    /// The evidence in plain words (`status 503, expected 200`).
    #[serde(default)]
    pub detail: String,
}

/// Faulty observations from open incidents that touch assets (one per touched asset, at the
/// incident's last sighting), and how many incidents touched each asset since `since` (for the
/// prior). Resolved incidents are skipped: they are no longer symptoms.
pub fn from_incidents(
    model: &AssetModel,
    incidents: &[Incident],
    since: DateTime<Utc>,
) -> (Vec<Observation>, HashMap<String, u32>) {
    let mut observations = Vec::new();
    let mut counts: HashMap<String, u32> = HashMap::new();
    for incident in incidents {
        if incident.last_seen < since {
            continue;
        }
        let open = !matches!(
            incident.status,
            ensuresec_model::IncidentStatus::Resolved
                | ensuresec_model::IncidentStatus::FalsePositive
        );
        for i in model.assets_for(&IncidentView::of(incident)) {
            let id = model.assets()[i].id.clone();
            *counts.entry(id.clone()).or_default() += 1;
            if open {
                observations.push(Observation {
                    asset: id,
                    health: Health::Faulty,
                    at: incident.last_seen,
                    source: format!(
                        "alert:{}",
                        incident
                            .detectors
                            .first()
                            .map_or("incident", String::as_str)
                    ),
                    detail: format!("incident {}: {}", incident.id, incident.title),
                });
            }
        }
    }
    (observations, counts)
}

/// The window of "recent" alerts that raise an asset's prior.
pub fn recent_window() -> Duration {
    Duration::hours(24)
}
