//! Alerts of other security tools, imported as `external_alert` events, become our alerts here:
//! one alert per event, so that they are correlated into incidents and recorded in the audit log
//! exactly like the alerts of our own detectors.

use ensuresec_model::event::ExternalAlert;
use ensuresec_model::{Alert, Detector, EntityKey, EntityKind, Event, EventData, EventType};
use serde_json::json;

/// Passes every `external_alert` event through as an alert. Stateless, so it runs on whichever
/// partition the event lands on.
#[derive(Debug, Default)]
pub struct ExternalAlertDetector;

/// Confidence given to another tool's alert: its rules are curated, but we cannot see what
/// matched.
const CONFIDENCE: f32 = 0.8;

/// The alert an imported alert becomes; its entity is the source address, else the destination
/// (as an asset), else the tool itself.
pub fn alert_of(event: &Event, a: &ExternalAlert) -> Alert {
    let entity = match (a.src_ip, a.dst_ip) {
        (Some(src), _) => EntityKey::new(EntityKind::Ip, src),
        (None, Some(dst)) => EntityKey::new(EntityKind::Asset, dst),
        (None, None) => EntityKey::new(EntityKind::Asset, &a.tool),
    };
    Alert {
        id: 0,
        time: event.time,
        detector: a.tool.clone(),
        rule_id: format!("{}:{}", a.tool, a.signature_id),
        title: a.signature.clone(),
        severity: a.severity,
        confidence: CONFIDENCE,
        entity,
        evidence: json!({
            "source": event.source,
            "signature_id": a.signature_id,
            "revision": a.revision,
            "category": a.category,
            "action": a.action,
            "src_ip": a.src_ip,
            "src_port": a.src_port,
            "dst_ip": a.dst_ip,
            "dst_port": a.dst_port,
            "protocol": a.protocol,
        }),
        tags: vec![format!("{}:sid:{}", a.tool, a.signature_id)],
        incident_id: None,
        ledger_index: None,
    }
}

impl Detector for ExternalAlertDetector {
    fn name(&self) -> &str {
        "external"
    }

    fn group_by(&self) -> Option<EntityKind> {
        None
    }

    fn accepts(&self, event_type: EventType) -> bool {
        event_type == EventType::ExternalAlert
    }

    fn on_event(&mut self, event: &Event, out: &mut Vec<Alert>) {
        if let EventData::ExternalAlert(a) = &event.data {
            out.push(alert_of(event, a));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ensuresec_model::Severity;

    fn event(src: Option<&str>, dst: Option<&str>) -> Event {
        Event {
            time: chrono::DateTime::parse_from_rfc3339("2026-11-21T10:00:00Z")
                .map(|t| t.to_utc())
                .unwrap_or_default(),
            ingest_time: None,
            source: "suricata:eve.json".into(),
            labels: Default::default(),
            data: EventData::ExternalAlert(ExternalAlert {
                tool: "suricata".into(),
                signature_id: "2010937".into(),
                signature: "ET SCAN Suspicious inbound to mySQL port 3306".into(),
                severity: Severity::Medium,
                category: Some("Potentially Bad Traffic".into()),
                revision: Some(3),
                action: Some("allowed".into()),
                src_ip: src.and_then(|s| s.parse().ok()),
                src_port: Some(51000),
                dst_ip: dst.and_then(|s| s.parse().ok()),
                dst_port: Some(3306),
                protocol: Some("TCP".into()),
            }),
        }
    }

    #[test]
    fn an_external_alert_event_becomes_one_alert_about_its_source() {
        let mut d = ExternalAlertDetector;
        let mut out = Vec::new();
        d.on_event(&event(Some("198.51.100.7"), Some("203.0.113.10")), &mut out);
        assert_eq!(out.len(), 1);
        let a = &out[0];
        assert_eq!(a.rule_id, "suricata:2010937");
        assert_eq!(a.detector, "suricata");
        assert_eq!(a.severity, Severity::Medium);
        assert_eq!(a.entity.to_string(), "ip:198.51.100.7");
        assert_eq!(a.evidence["dst_port"], 3306);
        assert_eq!(a.evidence["category"], "Potentially Bad Traffic");
    }

    #[test]
    fn without_a_source_the_destination_is_the_entity_and_other_types_are_ignored() {
        let mut d = ExternalAlertDetector;
        let mut out = Vec::new();
        d.on_event(&event(None, Some("203.0.113.10")), &mut out);
        assert_eq!(out[0].entity.to_string(), "asset:203.0.113.10");
        assert!(d.accepts(EventType::ExternalAlert));
        assert!(!d.accepts(EventType::NetworkFlow));
    }
}
