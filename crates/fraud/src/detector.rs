//! The fraud module in the event pipeline: `payment_authorization` events are scored through the
//! shared [`FraudService`] and raise an alert when the decision is review or decline; payments,
//! chargebacks and analysts' verdicts feed the [`RingGraph`], whose rings become alerts too. The
//! correlator and the playbooks then treat them like any other alert.
//!
//! Both detectors keep one state for the whole process (the service, the graph), so they group
//! by nothing and each event is seen by exactly one partition.

use std::sync::{Arc, Mutex, PoisonError};

use ensuresec_model::event::{PaymentAuthorization, Verdict};
use ensuresec_model::{Alert, Detector, EntityKey, EntityKind, Event, EventData, EventType};
use serde_json::json;

use crate::request::PaymentRequest;
use crate::rings::{Link, Ring, RingGraph};
use crate::scorer::{Assessment, Decision};
use crate::service::FraudService;

/// The name on the alerts of both detectors.
pub const DETECTOR: &str = "fraud";

/// Scores payment events.
#[derive(Debug)]
pub struct PaymentDetector {
    service: Arc<FraudService>,
}

impl PaymentDetector {
    /// A detector scoring through `service`; events it cannot score (a field scoring needs is
    /// missing or invalid) are counted there ([`FraudService::unscored_events`]).
    pub fn new(service: Arc<FraudService>) -> PaymentDetector {
        PaymentDetector { service }
    }

    fn score(&self, event: &Event, p: &PaymentAuthorization) -> Option<Assessment> {
        let request = PaymentRequest::from_authorization(event.time, p).ok()?;
        self.service.score(&request).ok()
    }
}

/// The alert for a payment held for review or declined.
fn payment_alert(event: &Event, p: &PaymentAuthorization, a: &Assessment) -> Alert {
    let (rule, severity) = match a.decision {
        Decision::Decline => ("payment-decline", ensuresec_model::Severity::High),
        _ => ("payment-review", ensuresec_model::Severity::Medium),
    };
    Alert {
        id: 0,
        time: event.time,
        detector: DETECTOR.into(),
        rule_id: rule.into(),
        title: format!(
            "payment {} scored {:.2}: {}",
            p.payment_id,
            a.probability,
            a.decision.as_str()
        ),
        severity,
        confidence: a.probability as f32,
        entity: EntityKey::new(EntityKind::Card, &p.card_fingerprint),
        evidence: json!({
            "assessment": a,
            "amount": p.amount,
            "merchant": p.merchant,
            "outcome": p.outcome,
        }),
        tags: vec!["attack:T1657".into()],
        incident_id: None,
        ledger_index: None,
    }
}

impl Detector for PaymentDetector {
    fn name(&self) -> &str {
        "fraud-score"
    }

    fn group_by(&self) -> Option<EntityKind> {
        None
    }

    fn accepts(&self, event_type: EventType) -> bool {
        event_type == EventType::PaymentAuthorization
    }

    fn on_event(&mut self, event: &Event, out: &mut Vec<Alert>) {
        let EventData::PaymentAuthorization(p) = &event.data else {
            return;
        };
        match self.score(event, p) {
            Some(a) => {
                self.service.record_outcome(p, event.time.timestamp());
                if matches!(a.decision, Decision::Review | Decision::Decline) {
                    out.push(payment_alert(event, p, &a));
                }
            }
            None => self.service.note_unscored(),
        }
    }

    fn tracked_entities(&self) -> usize {
        self.service.status().entities
    }
}

/// Builds the ring graph from payments and labels.
#[derive(Debug)]
pub struct RingDetector {
    graph: Arc<Mutex<RingGraph>>,
}

impl RingDetector {
    /// A detector over the shared `graph`.
    pub fn new(graph: Arc<Mutex<RingGraph>>) -> RingDetector {
        RingDetector { graph }
    }
}

/// The entities a payment ties together, its card first.
fn links(p: &PaymentAuthorization) -> Vec<(Link, String)> {
    let mut out = vec![(Link::Card, p.card_fingerprint.clone())];
    let optional = [
        (Link::Device, p.device.clone()),
        (Link::Email, p.email_hash.clone()),
        (Link::Shipping, p.shipping_address_hash.clone()),
        (Link::Account, p.account.clone()),
        (Link::Ip, p.ip.map(|ip| ip.to_string())),
    ];
    out.extend(optional.into_iter().filter_map(|(k, v)| v.map(|v| (k, v))));
    out
}

/// The alert for a ring; its entity is the card of the payment that completed it.
fn ring_alert(event: &Event, card: &str, ring: &Ring) -> Alert {
    Alert {
        id: 0,
        time: event.time,
        detector: DETECTOR.into(),
        rule_id: "fraud-ring".into(),
        title: format!(
            "fraud ring: {} linked entities, {} of {} payments fraudulent",
            ring.size, ring.frauds, ring.payments
        ),
        severity: ensuresec_model::Severity::High,
        confidence: ring.fraud_rate as f32,
        entity: EntityKey::new(EntityKind::Card, card),
        evidence: json!({ "ring": ring }),
        tags: vec!["attack:T1657".into()],
        incident_id: None,
        ledger_index: None,
    }
}

impl Detector for RingDetector {
    fn name(&self) -> &str {
        "fraud-rings"
    }

    fn group_by(&self) -> Option<EntityKind> {
        None
    }

    fn accepts(&self, event_type: EventType) -> bool {
        matches!(
            event_type,
            EventType::PaymentAuthorization | EventType::Chargeback | EventType::FraudVerdict
        )
    }

    fn on_event(&mut self, event: &Event, out: &mut Vec<Alert>) {
        let mut graph = self.graph.lock().unwrap_or_else(PoisonError::into_inner);
        // Time is the events' own: the graph forgets by event time, as replays need.
        let time = event.time.timestamp();
        let (ring, card) = match &event.data {
            EventData::PaymentAuthorization(p) => {
                let owned = links(p);
                let borrowed: Vec<(Link, &str)> =
                    owned.iter().map(|(k, v)| (*k, v.as_str())).collect();
                (
                    graph.add_payment(time, &p.payment_id, &borrowed),
                    Some(p.card_fingerprint.as_str()),
                )
            }
            EventData::Chargeback(c) => (
                graph.label(time, &c.payment_id, true),
                Some(c.card_fingerprint.as_str()),
            ),
            EventData::FraudVerdict(v) => (
                graph.label(time, &v.payment_id, v.verdict == Verdict::Fraud),
                v.card_fingerprint.as_deref(),
            ),
            _ => return,
        };
        if let Some(ring) = ring {
            let card = card
                .map(str::to_string)
                .or_else(|| {
                    ring.members
                        .iter()
                        .find(|m| m.kind == Link::Card)
                        .map(|m| m.value.clone())
                })
                .unwrap_or_default();
            out.push(ring_alert(event, &card, &ring));
        }
    }

    fn tracked_entities(&self) -> usize {
        self.graph
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .stats()
            .nodes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rings::RingLimits;
    use crate::service::ServiceConfig;
    use crate::testing::{event, payment};

    fn scoring() -> (PaymentDetector, Arc<FraudService>) {
        let service = Arc::new(FraudService::open(&ServiceConfig::default()).expect("open"));
        (PaymentDetector::new(service.clone()), service)
    }

    #[test]
    fn declined_payment_event_raises_an_alert_ordinary_one_does_not() {
        let (mut d, service) = scoring();
        let mut out = Vec::new();
        d.on_event(&payment(0, "p1", "c1", |_| {}), &mut out);
        assert!(out.is_empty(), "{out:?}");
        d.on_event(
            &payment(60, "p2", "c2", |v| {
                v["three_ds"] = "failed".into();
                v["amount"]["minor"] = 250_000.into();
            }),
            &mut out,
        );
        assert_eq!(out.len(), 1, "{out:?}");
        let a = &out[0];
        assert_eq!(
            (a.detector.as_str(), a.rule_id.as_str()),
            ("fraud", "payment-decline")
        );
        assert_eq!(a.entity, EntityKey::new(EntityKind::Card, "c2"));
        assert_eq!(a.evidence["assessment"]["decision"], "decline");
        assert_eq!(
            a.evidence["assessment"]["reasons"][0]["code"],
            "three-ds-failed-high-value"
        );
        assert_eq!(service.unscored_events(), 0);
        assert!(d.tracked_entities() >= 4);
    }

    #[test]
    fn velocity_across_events_leads_to_review() {
        let (mut d, _) = scoring();
        let mut out = Vec::new();
        // Many cards tried on one device, then a burst on one card there (card testing).
        for i in 0..4 {
            d.on_event(
                &payment(i, &format!("q{i}"), &format!("k{i}"), |v| {
                    v["device"] = "dev-x".into()
                }),
                &mut out,
            );
        }
        assert!(out.is_empty(), "{out:?}");
        for i in 0..8 {
            d.on_event(
                &payment(10 + i, &format!("p{i}"), "c1", |v| {
                    v["device"] = "dev-x".into()
                }),
                &mut out,
            );
        }
        assert!(
            out.iter()
                .any(|a| a.rule_id == "payment-review" || a.rule_id == "payment-decline"),
            "{out:?}"
        );
        assert!(out.iter().all(|a| a.detector == "fraud"));
    }

    #[test]
    fn unscorable_events_are_counted_not_scored() {
        let (mut d, service) = scoring();
        let mut out = Vec::new();
        let e = payment(0, "p1", "c1", |v| {
            v.as_object_mut().expect("object").remove("billing_country");
        });
        d.on_event(&e, &mut out);
        assert!(out.is_empty());
        assert_eq!(service.unscored_events(), 1);
        assert_eq!(d.tracked_entities(), 0, "nothing was counted in the state");
    }

    #[test]
    fn constructed_ring_becomes_an_alert_with_its_members() {
        let graph = Arc::new(Mutex::new(RingGraph::new(RingLimits {
            min_members: 4,
            min_frauds: 3,
            min_fraud_rate: 0.5,
            ..RingLimits::default()
        })));
        let mut d = RingDetector::new(graph);
        let mut out = Vec::new();
        // Four stolen cards cashed out through two devices and one drop address.
        for i in 0..4 {
            d.on_event(
                &payment(i, &format!("r{i}"), &format!("stolen{i}"), |v| {
                    v["device"] = format!("dev-{}", i % 2).into();
                    v["shipping_address_hash"] = "drop-1".into();
                }),
                &mut out,
            );
        }
        // A bystander with its own everything.
        d.on_event(
            &payment(5, "ok", "mine", |v| {
                v["ip"] = "198.51.100.2".into();
            }),
            &mut out,
        );
        let chargeback = |s: i64, id: &str, card: &str| {
            event(
                s,
                json!({"type": "chargeback", "data": {"payment_id": id, "card_fingerprint": card,
                    "amount": {"minor": 5_000, "currency": "EUR"}, "reason_code": "10.4"}}),
            )
        };
        d.on_event(&chargeback(100, "r0", "stolen0"), &mut out);
        d.on_event(&chargeback(101, "r1", "stolen1"), &mut out);
        assert!(out.is_empty(), "two frauds are not yet a ring: {out:?}");
        let verdict = event(
            102,
            json!({"type": "fraud_verdict", "data": {"payment_id": "r2", "verdict": "fraud", "analyst": "ana"}}),
        );
        d.on_event(&verdict, &mut out);
        assert_eq!(out.len(), 1, "{out:?}");
        let a = &out[0];
        assert_eq!(a.rule_id, "fraud-ring");
        let ring = &a.evidence["ring"];
        assert_eq!(ring["frauds"], 3);
        let members: Vec<&str> = ring["members"]
            .as_array()
            .expect("members")
            .iter()
            .map(|m| m["value"].as_str().expect("value"))
            .collect();
        for m in ["stolen0", "stolen3", "dev-0", "dev-1", "drop-1"] {
            assert!(members.contains(&m), "{m} missing from {members:?}");
        }
        assert!(!members.contains(&"mine"), "{members:?}");
        // The shared IP 192.0.2.1 ties them as well: it is a member.
        assert!(members.contains(&"192.0.2.1"));
    }
}
