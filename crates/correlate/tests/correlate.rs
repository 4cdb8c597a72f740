//! Correlation: grouping by entity and window, escalation, resumption and bounds.

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

use chrono::{DateTime, Duration, TimeZone, Utc};
use ensuresec_correlate::{Correlator, CorrelatorConfig};
use ensuresec_model::{Alert, EntityKey, EntityKind, IncidentStatus, Severity};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 21, 12, 0, 0).unwrap()
}

fn alert(ip: &str, rule: &str, minutes: i64, severity: Severity) -> Alert {
    Alert {
        id: 0,
        time: t0() + Duration::minutes(minutes),
        detector: "threshold".into(),
        rule_id: rule.into(),
        title: format!("{rule} fired"),
        severity,
        confidence: 0.8,
        entity: EntityKey::new(EntityKind::Ip, ip),
        evidence: serde_json::Value::Null,
        tags: vec![format!("tag:{rule}")],
        incident_id: None,
        ledger_index: None,
    }
}

fn fresh() -> Correlator {
    Correlator::new(CorrelatorConfig::default(), vec![], 0, 0)
}

#[test]
fn alerts_about_one_entity_within_the_window_share_an_incident() {
    let mut c = fresh();
    let out = c.correlate(
        vec![
            alert("10.0.0.1", "a", 0, Severity::Medium),
            alert("10.0.0.1", "a", 30, Severity::High),
            alert("10.0.0.2", "a", 31, Severity::Low),
        ],
        t0(),
    );
    assert_eq!(
        out.alerts.iter().map(|a| a.id).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    assert_eq!(out.alerts[0].incident_id, out.alerts[1].incident_id);
    assert_ne!(out.alerts[0].incident_id, out.alerts[2].incident_id);
    assert_eq!(out.opened.len(), 2);
    let first = out
        .incidents
        .iter()
        .find(|i| i.entity.value == "10.0.0.1")
        .unwrap();
    assert_eq!(first.alert_count, 2);
    assert_eq!(
        first.severity,
        Severity::High,
        "the worst alert sets the severity"
    );
    assert_eq!(first.status, IncidentStatus::Open);
    assert_eq!(first.history.len(), 1);
    assert_eq!(
        out.actions
            .iter()
            .filter(|a| a.kind == "incident_opened")
            .count(),
        2
    );
}

#[test]
fn an_alert_after_the_window_opens_a_new_incident() {
    let mut c = fresh();
    let a = c.correlate(vec![alert("10.0.0.1", "a", 0, Severity::Low)], t0());
    let b = c.correlate(vec![alert("10.0.0.1", "a", 61, Severity::Low)], t0());
    assert_ne!(a.alerts[0].incident_id, b.alerts[0].incident_id);
}

#[test]
fn severity_escalates_with_distinct_rules_and_counts() {
    let mut c = fresh();
    let out = c.correlate(
        vec![
            alert("10.0.0.1", "a", 0, Severity::Medium),
            alert("10.0.0.1", "b", 1, Severity::Medium),
            alert("10.0.0.1", "c", 2, Severity::Medium),
        ],
        t0(),
    );
    assert_eq!(
        out.incidents[0].severity,
        Severity::High,
        "three rules escalate one step"
    );
    assert!(out.actions.iter().any(|a| a.kind == "severity_escalated"));
    let more: Vec<Alert> = (3..10)
        .map(|m| alert("10.0.0.1", "a", m, Severity::Medium))
        .collect();
    let out = c.correlate(more, t0());
    assert_eq!(out.incidents[0].alert_count, 10);
    assert_eq!(
        out.incidents[0].severity,
        Severity::Critical,
        "ten alerts escalate again"
    );
}

#[test]
fn resumes_with_open_incidents_and_continues_ids() {
    let mut c = fresh();
    let out = c.correlate(vec![alert("10.0.0.1", "a", 0, Severity::Low)], t0());
    let open = out.incidents.clone();
    let mut resumed = Correlator::new(CorrelatorConfig::default(), open, 41, 7);
    let next = resumed.correlate(
        vec![
            alert("10.0.0.1", "a", 5, Severity::Low),
            alert("10.0.0.9", "a", 5, Severity::Low),
        ],
        t0(),
    );
    assert_eq!(next.alerts[0].id, 42);
    assert_eq!(
        next.alerts[0].incident_id, out.alerts[0].incident_id,
        "joins the resumed incident"
    );
    assert_eq!(
        next.alerts[1].incident_id,
        Some(8),
        "new incidents continue after the last id"
    );
}

#[test]
fn memory_stays_within_the_bound() {
    let config = CorrelatorConfig {
        max_tracked: 10,
        ..CorrelatorConfig::default()
    };
    let mut c = Correlator::new(config, vec![], 0, 0);
    let alerts: Vec<Alert> = (0..50)
        .map(|i| alert(&format!("10.0.1.{i}"), "a", 0, Severity::Low))
        .collect();
    let out = c.correlate(alerts, t0());
    assert_eq!(out.opened.len(), 50);
    assert!(c.tracked() <= 10, "tracked {}", c.tracked());
    assert_eq!(c.dropped(), 40);
}

#[test]
fn status_changes_record_who_and_why_and_closed_incidents_take_no_more_alerts() {
    let mut c = fresh();
    let out = c.correlate(vec![alert("10.0.0.9", "a", 0, Severity::High)], t0());
    let id = out.opened[0];
    let moved = c
        .transition(
            id,
            None,
            IncidentStatus::Mitigating,
            "playbook:x",
            "step ban",
            t0(),
        )
        .unwrap();
    let incident = &moved.incidents[0];
    assert_eq!(incident.status, IncidentStatus::Mitigating);
    let last = incident.history.last().unwrap();
    assert_eq!(
        (last.from, last.by.as_str()),
        (Some(IncidentStatus::Open), "playbook:x")
    );
    assert_eq!(moved.actions[0].kind, "status_change");
    assert_eq!(
        c.transition(id, None, IncidentStatus::Mitigating, "u", "again", t0())
            .unwrap_err(),
        ensuresec_correlate::TransitionError::Same(IncidentStatus::Mitigating)
    );
    c.transition(id, None, IncidentStatus::Resolved, "alice", "done", t0())
        .unwrap();
    assert!(
        c.transition(id, None, IncidentStatus::Contained, "alice", "oops", t0())
            .is_err()
    );
    // A new alert about the same entity opens a new incident.
    let next = c.correlate(vec![alert("10.0.0.9", "a", 1, Severity::High)], t0());
    assert_eq!(next.opened.len(), 1);
    assert_ne!(next.opened[0], id);
    // Untracked incidents are moved from the store's copy.
    assert!(matches!(
        c.transition(999, None, IncidentStatus::Resolved, "a", "b", t0()),
        Err(ensuresec_correlate::TransitionError::Unknown(999))
    ));
}
