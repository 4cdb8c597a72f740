//! Export of alerts as OCSF "Detection Finding" (class 2004) JSON, so that SIEMs and data lakes
//! that speak the Open Cybersecurity Schema Framework can take our findings as they are.

use serde_json::{Value, json};

use crate::alert::Alert;
use crate::entity::EntityKind;

/// The OCSF schema version the export follows.
pub const OCSF_VERSION: &str = "1.3.0";

/// Renders one alert as an OCSF Detection Finding; `product_version` is ensuresec's version.
pub fn detection_finding(alert: &Alert, product_version: &str) -> Value {
    let time_ms = alert.time.timestamp_millis();
    let attacks: Vec<Value> = alert
        .tags
        .iter()
        .filter_map(|t| t.strip_prefix("attack:"))
        .map(|technique| json!({ "technique": { "uid": technique } }))
        .collect();
    let mut finding = json!({
        "activity_id": 1,
        "activity_name": "Create",
        "category_uid": 2,
        "category_name": "Findings",
        "class_uid": 2004,
        "class_name": "Detection Finding",
        "type_uid": 200401,
        "type_name": "Detection Finding: Create",
        "severity_id": alert.severity.ocsf_id(),
        "severity": ocsf_severity_name(alert.severity.ocsf_id()),
        "status_id": 1,
        "status": "New",
        "time": time_ms,
        "confidence_score": (alert.confidence.clamp(0.0, 1.0) * 100.0).round() as u8,
        "message": alert.title,
        "finding_info": {
            "uid": alert.id.to_string(),
            "title": alert.title,
            "types": alert.tags,
            "first_seen_time": time_ms,
            "last_seen_time": time_ms,
            "analytic": {
                "uid": alert.rule_id,
                "name": format!("{}/{}", alert.detector, alert.rule_id),
                "type_id": 1,
                "type": "Rule",
            },
        },
        "metadata": {
            "version": OCSF_VERSION,
            "product": { "name": "ensuresec", "vendor_name": "ensuresec", "version": product_version },
            "log_name": alert.detector,
        },
        "observables": [{
            "name": format!("entity.{}", alert.entity.kind),
            "type_id": observable_type(alert.entity.kind),
            "value": alert.entity.value,
        }],
        "evidences": [{ "data": alert.evidence }],
    });
    if !attacks.is_empty() {
        finding["finding_info"]["attacks"] = Value::Array(attacks);
    }
    if let Some(incident) = alert.incident_id {
        finding["finding_info"]["related_events_count"] = json!(1);
        finding["unmapped"] = json!({ "incident_id": incident });
    }
    finding
}

fn ocsf_severity_name(id: u8) -> &'static str {
    match id {
        1 => "Informational",
        2 => "Low",
        3 => "Medium",
        4 => "High",
        _ => "Critical",
    }
}

/// OCSF observable `type_id`s: 2 IP Address, 4 User Name, 10 Resource UID, 99 Other.
fn observable_type(kind: EntityKind) -> u8 {
    match kind {
        EntityKind::Ip => 2,
        EntityKind::Account => 4,
        EntityKind::Asset | EntityKind::Device => 10,
        EntityKind::Card | EntityKind::Parcel => 99,
    }
}
