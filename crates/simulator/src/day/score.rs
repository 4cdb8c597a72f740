//! Scores alerts against a day's ground truth, per attack kind: precision, recall and detection
//! delay, in event time and in readings of the sensor that shows the attack.
//!
//! An alert matches a label when its rule is one the label's kind is `detected_by`, it is about
//! the label's entity (and names the label's parcel in its evidence, when the label has one),
//! and it comes at or after the onset. Precision counts every alert of the kind's rules: those
//! that match no label of the kind are false positives.

use std::collections::{BTreeMap, HashMap};

use ensuresec_model::{Alert, Event, EventData};

use super::Truth;

/// The score of one attack kind.
#[derive(Debug, Clone, PartialEq)]
pub struct KindScore {
    /// The attack kind.
    pub kind: String,
    /// Attacks injected.
    pub injected: usize,
    /// Attacks with at least one matching alert.
    pub detected: usize,
    /// Alerts of the kind's rules.
    pub alerts: usize,
    /// Of those, alerts that match an attack of the kind.
    pub true_alerts: usize,
    /// Seconds from onset to the first matching alert, per detected attack.
    pub delay_seconds: Vec<i64>,
    /// Readings of the attack's sensor from onset to the first matching alert (the reading that
    /// raised it included), per detected attack that names a sensor.
    pub delay_readings: Vec<usize>,
}

impl KindScore {
    /// True alerts over all alerts of the kind's rules; `None` without alerts.
    pub fn precision(&self) -> Option<f64> {
        (self.alerts > 0).then(|| self.true_alerts as f64 / self.alerts as f64)
    }

    /// Detected over injected; `None` when none was injected.
    pub fn recall(&self) -> Option<f64> {
        (self.injected > 0).then(|| self.detected as f64 / self.injected as f64)
    }
}

/// What the scorer found besides the kinds: alerts of rules no kind claims.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scores {
    /// Per attack kind, in name order.
    pub kinds: Vec<KindScore>,
    /// Alerts of other rules, by rule id (informational rules, sensor health).
    pub other_alerts: BTreeMap<String, usize>,
}

fn matches(label: &Truth, alert: &Alert) -> bool {
    label.detected_by.contains(&alert.rule_id)
        && alert.entity == label.entity
        && alert.time >= label.onset
        && label
            .parcel
            .as_deref()
            .is_none_or(|p| alert.evidence.get("parcel_id").and_then(|v| v.as_str()) == Some(p))
}

/// Scores `alerts` against `truth`; `events` are the day's events, for delays in readings.
pub fn score(truth: &[Truth], events: &[Event], alerts: &[Alert]) -> Scores {
    let mut by_kind: BTreeMap<&str, Vec<&Truth>> = BTreeMap::new();
    for t in truth {
        by_kind.entry(t.kind.as_str()).or_default().push(t);
    }
    let mut rule_kind: HashMap<&str, &str> = HashMap::new();
    for t in truth {
        for r in &t.detected_by {
            rule_kind.insert(r.as_str(), t.kind.as_str());
        }
    }
    let mut readings: HashMap<&str, Vec<i64>> = HashMap::new();
    for e in events {
        if let EventData::SensorReading(r) = &e.data {
            readings
                .entry(r.sensor.as_str())
                .or_default()
                .push(e.time.timestamp());
        }
    }
    for times in readings.values_mut() {
        times.sort_unstable();
        times.dedup();
    }
    let mut scores = Scores::default();
    for (kind, labels) in &by_kind {
        let mut s = KindScore {
            kind: kind.to_string(),
            injected: labels.len(),
            detected: 0,
            alerts: 0,
            true_alerts: 0,
            delay_seconds: Vec::new(),
            delay_readings: Vec::new(),
        };
        for l in labels {
            let first = alerts
                .iter()
                .filter(|a| matches(l, a))
                .map(|a| a.time)
                .min();
            let Some(at) = first else { continue };
            s.detected += 1;
            s.delay_seconds.push((at - l.onset).num_seconds());
            if let Some(times) = l.sensor.as_deref().and_then(|id| readings.get(id)) {
                let (from, to) = (l.onset.timestamp(), at.timestamp());
                s.delay_readings
                    .push(times.iter().filter(|t| **t >= from && **t <= to).count());
            }
        }
        for a in alerts {
            if rule_kind.get(a.rule_id.as_str()) == Some(kind) {
                s.alerts += 1;
                if labels.iter().any(|l| matches(l, a)) {
                    s.true_alerts += 1;
                }
            }
        }
        scores.kinds.push(s);
    }
    for a in alerts {
        if !rule_kind.contains_key(a.rule_id.as_str()) {
            *scores.other_alerts.entry(a.rule_id.clone()).or_default() += 1;
        }
    }
    scores
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Utc};
    use ensuresec_model::{EntityKey, EntityKind, Severity};
    use serde_json::json;

    fn at(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + s, 0).unwrap()
    }

    fn alert(rule: &str, parcel: &str, t: i64) -> Alert {
        Alert {
            id: 0,
            time: at(t),
            detector: "delivery".into(),
            rule_id: rule.into(),
            title: String::new(),
            severity: Severity::High,
            confidence: 0.9,
            entity: EntityKey::new(EntityKind::Parcel, parcel),
            evidence: json!({}),
            tags: vec![],
            incident_id: None,
            ledger_index: None,
        }
    }

    fn label(parcel: &str, onset: i64) -> Truth {
        Truth {
            kind: "parcel_opened".into(),
            entity: EntityKey::new(EntityKind::Parcel, parcel),
            parcel: None,
            sensor: Some(format!("trk-{parcel}")),
            onset: at(onset),
            detected_by: vec!["parcel-opened-in-transit".into()],
        }
    }

    fn reading(sensor: &str, t: i64) -> Event {
        Event {
            time: at(t),
            ingest_time: None,
            source: "t".into(),
            labels: Default::default(),
            data: EventData::SensorReading(ensuresec_model::event::SensorReading {
                sensor: sensor.into(),
                ..Default::default()
            }),
        }
    }

    #[test]
    fn precision_recall_and_delays_count_what_matched() {
        let truth = [label("A", 100), label("B", 100)];
        let events = [
            reading("trk-A", 100),
            reading("trk-A", 400),
            reading("trk-A", 400),
        ];
        let alerts = [
            alert("parcel-opened-in-transit", "A", 400),
            alert("parcel-opened-in-transit", "A", 700), // a second alert on A still matches
            alert("parcel-opened-in-transit", "C", 100), // nobody opened C: a false positive
            alert("parcel-opened-in-transit", "B", 50),  // before the onset: no match
            alert("sensor-low-battery", "A", 100),
        ];
        let s = score(&truth, &events, &alerts);
        let k = &s.kinds[0];
        assert_eq!(
            (k.injected, k.detected, k.alerts, k.true_alerts),
            (2, 1, 4, 2)
        );
        assert_eq!(k.recall(), Some(0.5));
        assert_eq!(k.precision(), Some(0.5));
        assert_eq!(k.delay_seconds, [300]);
        // Readings at 100 and 400 (the duplicate counted once).
        assert_eq!(k.delay_readings, [2]);
        assert_eq!(s.other_alerts.get("sensor-low-battery"), Some(&1));
    }
}
