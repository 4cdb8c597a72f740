//! GDPR Article 33 notification drafts: for an incident that touches personal data, the fields
//! the supervisory authority asks for, pre-filled from the incident, with the 72-hour deadline
//! counted from when the platform became aware (the incident's opening).

use chrono::{DateTime, Duration, Utc};
use ensuresec_model::{EntityKind, Incident};
use schemars::JsonSchema;
use serde::Serialize;

use crate::stage::stage_of;

/// A draft, for a person to complete and send; every field says what it is based on.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct BreachDraft {
    /// The incident.
    pub incident_id: u64,
    /// Whether the incident's evidence points at personal data (if not, Art. 33 may not apply).
    pub personal_data_likely: bool,
    /// When the controller became aware (the incident's opening).
    pub aware_at: DateTime<Utc>,
    /// Art. 33(1): notify within 72 hours of becoming aware.
    pub deadline: DateTime<Utc>,
    /// Hours left until the deadline at the time of drafting (negative when late; the late
    /// notification must then give the reasons for the delay).
    pub hours_left: i64,
    /// Art. 33(3)(a): the nature of the breach.
    pub nature: String,
    /// Art. 33(3)(a): categories of data subjects concerned.
    pub data_subject_categories: Vec<String>,
    /// Art. 33(3)(a): approximate number of data subjects.
    pub approximate_data_subjects: u64,
    /// Art. 33(3)(a): categories of personal data records concerned.
    pub record_categories: Vec<String>,
    /// Art. 33(3)(a): approximate number of records.
    pub approximate_records: u64,
    /// Art. 33(3)(c): likely consequences.
    pub likely_consequences: Vec<String>,
    /// Art. 33(3)(d): measures taken or proposed.
    pub measures_taken: Vec<String>,
    /// Art. 33(3)(b): the contact point (to be filled in).
    pub contact_point: String,
    /// Plain text of the whole draft.
    pub text: String,
}

/// Drafts the notification for `incident` at `now`; `measures` are the actions taken so far
/// (decisions, webhooks, status changes), one line each.
pub fn draft(incident: &Incident, measures: Vec<String>, now: DateTime<Utc>) -> BreachDraft {
    let aware_at = incident
        .history
        .first()
        .map_or(incident.first_seen, |t| t.at);
    let deadline = aware_at + Duration::hours(72);
    let (subjects, records, consequences) = categories(incident);
    let personal = incident.entity.kind != EntityKind::Asset || has_tag(incident, "pii");
    let stage = stage_of(incident).map_or("unclassified", |s| s.as_str());
    let nature = format!(
        "{} — {} incident about {} {}, {} alerts from {} ({}), stage: {stage}, first seen {}, last seen {}",
        incident.title,
        incident.severity.as_str(),
        incident.entity.kind,
        incident.entity.value,
        incident.alert_count,
        incident.rule_ids.join(", "),
        incident.detectors.join(", "),
        incident.first_seen.to_rfc3339(),
        incident.last_seen.to_rfc3339(),
    );
    // One entity per incident: the number of subjects is at least one; the alert count bounds
    // the records touched from above when each alert is one attempt.
    let approximate_data_subjects = u64::from(personal);
    let approximate_records = if personal { incident.alert_count } else { 0 };
    let mut d = BreachDraft {
        incident_id: incident.id,
        personal_data_likely: personal,
        aware_at,
        deadline,
        hours_left: (deadline - now).num_hours(),
        nature,
        data_subject_categories: subjects,
        approximate_data_subjects,
        record_categories: records,
        approximate_records,
        likely_consequences: consequences,
        measures_taken: if measures.is_empty() {
            vec!["none recorded yet".into()]
        } else {
            measures
        },
        contact_point: "(name and contact details of the data protection officer)".into(),
        text: String::new(),
    };
    d.text = render(&d);
    d
}

fn has_tag(i: &Incident, needle: &str) -> bool {
    i.tags.iter().any(|t| t.contains(needle))
}

fn categories(i: &Incident) -> (Vec<String>, Vec<String>, Vec<String>) {
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    match i.entity.kind {
        EntityKind::Account => (
            s(&["customers (account holders)"]),
            s(&[
                "identification and contact data",
                "login credentials",
                "order history",
            ]),
            s(&[
                "account takeover and fraudulent orders in the customer's name",
                "disclosure of contact details and purchase history (for a pharmacy: health data by inference)",
                "phishing of the affected customers",
            ]),
        ),
        EntityKind::Card => (
            s(&["card holders"]),
            s(&["payment card fingerprints and authorisation outcomes"]),
            s(&[
                "fraudulent card payments",
                "card replacement costs for the card holders",
            ]),
        ),
        EntityKind::Parcel => (
            s(&["recipients of deliveries"]),
            s(&[
                "names and delivery addresses",
                "parcel contents (for a pharmacy: health data)",
            ]),
            s(&[
                "theft of parcels",
                "disclosure of health data through parcel contents",
            ]),
        ),
        EntityKind::Ip | EntityKind::Device => (
            s(&["customers using the affected service"]),
            s(&["account identifiers tried or reached from the attacking address or device"]),
            s(&[
                "unauthorised access to customer accounts",
                "fraudulent orders",
            ]),
        ),
        EntityKind::Asset => (
            s(&["to be determined"]),
            s(&["data held on the affected asset"]),
            s(&["to be assessed"]),
        ),
    }
}

fn render(d: &BreachDraft) -> String {
    let list = |v: &[String]| v.iter().map(|x| format!("  - {x}\n")).collect::<String>();
    format!(
        "Personal data breach notification (GDPR Article 33) — DRAFT\n\
         Incident: {}\nAware since: {}\nDeadline (72 h): {} ({} hours left)\n\n\
         (a) Nature of the breach:\n  {}\n\
         Categories of data subjects (approx. {}):\n{}\
         Categories of personal data records (approx. {}):\n{}\
         (b) Contact point: {}\n\
         (c) Likely consequences:\n{}\
         (d) Measures taken or proposed:\n{}",
        d.incident_id,
        d.aware_at.to_rfc3339(),
        d.deadline.to_rfc3339(),
        d.hours_left,
        d.nature,
        d.approximate_data_subjects,
        list(&d.data_subject_categories),
        d.approximate_records,
        list(&d.record_categories),
        d.contact_point,
        list(&d.likely_consequences),
        list(&d.measures_taken),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::incident;
    use ensuresec_model::{EntityKey, Transition};

    #[test]
    fn the_deadline_is_72_hours_after_awareness() {
        let mut i = incident("account-takeover-address-change", &["attack:T1098"]);
        i.entity = EntityKey::new(EntityKind::Account, "c-1042");
        let opened = i.first_seen + Duration::minutes(5);
        i.history.push(Transition {
            at: opened,
            from: None,
            to: ensuresec_model::IncidentStatus::Open,
            by: "correlator".into(),
            reason: "alert".into(),
        });
        let d = draft(
            &i,
            vec!["ban ip 203.0.113.9".into()],
            opened + Duration::hours(10),
        );
        assert_eq!(d.deadline, opened + Duration::hours(72));
        assert_eq!(d.hours_left, 62);
        assert!(d.personal_data_likely);
        assert!(d.text.contains("customers (account holders)"));
        assert!(d.text.contains("ban ip 203.0.113.9"));
        assert!(d.nature.contains("stage: impact"));
    }
}
