//! What pages show of an incident: a row with the assets it touches, and whether the viewer may
//! see it at all (partners see only what concerns them).

use chrono::{DateTime, Utc};
use ensuresec_assets::{AssetModel, IncidentView};
use ensuresec_model::Incident;
use serde::Serialize;

use crate::session::Viewer;

/// One incident as the list, the search and the live feed show it.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct IncidentRow {
    /// Id.
    pub id: u64,
    /// Title.
    pub title: String,
    /// Severity name.
    pub severity: &'static str,
    /// Status name.
    pub status: &'static str,
    /// `kind:value`.
    pub entity: String,
    /// Detectors, comma-separated.
    pub modules: String,
    /// Alerts in it.
    pub alerts: u64,
    /// Last alert time, for people.
    pub last_seen: String,
    /// Ids of the assets it touches.
    pub assets: Vec<String>,
}

/// A time as pages print it (UTC, to the second).
pub(crate) fn when(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S").to_string()
}

impl IncidentRow {
    /// The row of an incident under an asset model.
    pub fn of(incident: &Incident, model: &AssetModel) -> IncidentRow {
        IncidentRow {
            id: incident.id,
            title: incident.title.clone(),
            severity: incident.severity.as_str(),
            status: incident.status.as_str(),
            entity: incident.entity.to_string(),
            modules: incident.detectors.join(", "),
            alerts: incident.alert_count,
            last_seen: when(incident.last_seen),
            assets: model
                .assets_for(&IncidentView::of(incident))
                .into_iter()
                .map(|i| model.assets()[i].id.clone())
                .collect(),
        }
    }
}

/// Whether the viewer may see the incident.
pub(crate) fn visible(viewer: &Viewer, model: &AssetModel, incident: &Incident) -> bool {
    match viewer.partner() {
        None => true,
        Some(partner) => model.visible_to_partner(partner, &IncidentView::of(incident)),
    }
}

/// Whether the viewer may see the asset.
pub(crate) fn asset_visible(viewer: &Viewer, asset: &ensuresec_assets::Asset) -> bool {
    match viewer.partner() {
        None => true,
        Some(partner) => asset.partners.iter().any(|p| p == partner),
    }
}

/// Serialises for a `<script type="application/json">` block: `<` escaped so that no string in
/// the data can close the element.
pub(crate) fn json_for_script(value: &impl Serialize) -> String {
    serde_json::to_string(value)
        .unwrap_or_else(|_| "null".into())
        .replace('<', "\\u003c")
}
