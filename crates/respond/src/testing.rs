//! Test helpers shared by the unit tests.

use chrono::{TimeZone, Utc};
use ensuresec_model::{EntityKey, EntityKind, Incident, IncidentStatus, Severity};

/// An open, high-severity incident about 203.0.113.9 from one rule with these tags.
pub(crate) fn incident(rule: &str, tags: &[&str]) -> Incident {
    let t = Utc
        .with_ymd_and_hms(2026, 11, 21, 10, 0, 0)
        .single()
        .expect("valid date");
    Incident {
        id: 7,
        title: format!("{rule} (ip:203.0.113.9)"),
        status: IncidentStatus::Open,
        severity: Severity::High,
        entity: EntityKey::new(EntityKind::Ip, "203.0.113.9"),
        first_seen: t,
        last_seen: t,
        alert_count: 3,
        detectors: vec!["threshold".into()],
        rule_ids: vec![rule.into()],
        tags: tags.iter().map(|s| s.to_string()).collect(),
        history: vec![],
        ledger_index: None,
    }
}
