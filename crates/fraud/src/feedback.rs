//! Feedback: chargebacks and analysts' verdicts label payments after the fact, and the
//! evaluation measures the scoring against those labels. [`Replay`] runs events in time order
//! through a [`FraudService`] as the pipeline would (payments are scored and counted, declines
//! recorded), remembers each payment's probability, takes labels from `chargeback` (fraud) and
//! `fraud_verdict` events (the latest label of a payment wins, so an analyst can overturn a
//! friendly-fraud chargeback), and reports precision and recall at the configured thresholds
//! over the payments that were both scored and labelled. A payment declined by a blocking rule
//! counts as scoring 1: it is flagged whatever its probability.

use std::collections::HashMap;

use ensuresec_model::event::Verdict;
use ensuresec_model::{Event, EventData};
use serde::Serialize;

use crate::metrics::{AtThreshold, Ranking, at_thresholds, ranking};
use crate::request::PaymentRequest;
use crate::service::FraudService;

/// What an evaluation on labelled events found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FeedbackReport {
    /// `payment_authorization` events seen.
    pub payments: usize,
    /// Of them, scored.
    pub scored: usize,
    /// Not scored, by the field that was missing or invalid.
    pub unscored: HashMap<String, usize>,
    /// Chargeback and verdict events seen.
    pub labels: usize,
    /// Labels of payments that were not scored (or not in the events).
    pub labels_without_score: usize,
    /// Payments scored and labelled: what the figures below are computed on.
    pub labelled: usize,
    /// Of them, fraud.
    pub frauds: usize,
    /// Ranking figures over the labelled payments.
    pub ranking: Ranking,
    /// Precision and recall at each decision threshold.
    pub thresholds: Vec<AtThreshold>,
}

/// Events in, figures out.
#[derive(Debug)]
pub struct Replay<'a> {
    service: &'a FraudService,
    scores: HashMap<String, f64>,
    labels: HashMap<String, bool>,
    payments: usize,
    label_events: usize,
    unscored: HashMap<String, usize>,
}

impl<'a> Replay<'a> {
    /// A replay scoring through `service`.
    pub fn new(service: &'a FraudService) -> Replay<'a> {
        Replay {
            service,
            scores: HashMap::new(),
            labels: HashMap::new(),
            payments: 0,
            label_events: 0,
            unscored: HashMap::new(),
        }
    }

    /// Takes one event (in time order); other event types are ignored.
    pub fn observe(&mut self, event: &Event) {
        match &event.data {
            EventData::PaymentAuthorization(p) => {
                self.payments += 1;
                let scored = PaymentRequest::from_authorization(event.time, p)
                    .and_then(|r| self.service.score(&r));
                match scored {
                    Ok(a) => {
                        self.service.record_outcome(p, event.time.timestamp());
                        // A blocking rule declines whatever the probability: flagged at
                        // every threshold.
                        let score = if a.blocked_by.is_some() {
                            1.0
                        } else {
                            a.probability
                        };
                        self.scores.insert(p.payment_id.clone(), score);
                    }
                    Err(e) => *self.unscored.entry(e.field).or_default() += 1,
                }
            }
            EventData::Chargeback(c) => {
                self.label_events += 1;
                self.labels.insert(c.payment_id.clone(), true);
            }
            EventData::FraudVerdict(v) => {
                self.label_events += 1;
                self.labels
                    .insert(v.payment_id.clone(), v.verdict == Verdict::Fraud);
            }
            _ => {}
        }
    }

    /// The figures so far, at the service's thresholds.
    pub fn report(&self) -> FeedbackReport {
        let mut ids: Vec<&String> = self
            .labels
            .keys()
            .filter(|id| self.scores.contains_key(*id))
            .collect();
        ids.sort();
        let scores: Vec<f64> = ids.iter().map(|id| self.scores[*id]).collect();
        let labels: Vec<bool> = ids.iter().map(|id| self.labels[*id]).collect();
        FeedbackReport {
            payments: self.payments,
            scored: self.scores.len(),
            unscored: self.unscored.clone(),
            labels: self.label_events,
            labels_without_score: self.labels.len() - ids.len(),
            labelled: ids.len(),
            frauds: labels.iter().filter(|l| **l).count(),
            ranking: ranking(&scores, &labels),
            thresholds: at_thresholds(&scores, &labels, &self.service.thresholds()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::ServiceConfig;
    use crate::testing::{event, payment};
    use serde_json::json;

    fn chargeback(second: i64, id: &str) -> Event {
        event(
            second,
            json!({"type": "chargeback", "data": {"payment_id": id, "card_fingerprint": "c",
                "amount": {"minor": 5_000, "currency": "EUR"}}}),
        )
    }

    fn verdict(second: i64, id: &str, verdict: &str) -> Event {
        event(
            second,
            json!({"type": "fraud_verdict", "data": {"payment_id": id, "verdict": verdict}}),
        )
    }

    #[test]
    fn labels_from_chargebacks_and_verdicts_measure_the_thresholds() {
        let service = FraudService::open(&ServiceConfig::default()).expect("open");
        let mut replay = Replay::new(&service);
        let events = [
            payment(0, "ok1", "c1", |_| {}),
            payment(1, "bad", "c2", |v| {
                v["three_ds"] = "failed".into();
                v["amount"]["minor"] = 300_000.into();
            }),
            payment(2, "ok2", "c3", |_| {}),
            payment(3, "missed", "c4", |_| {}),
            payment(4, "nobill", "c5", |v| {
                v.as_object_mut().expect("object").remove("billing_country");
            }),
            chargeback(100, "bad"),
            verdict(101, "ok1", "legitimate"),
            // A friendly-fraud chargeback the analyst overturned.
            chargeback(102, "ok2"),
            verdict(103, "ok2", "legitimate"),
            verdict(104, "missed", "fraud"),
            chargeback(105, "nobill"),
            chargeback(106, "never-seen"),
        ];
        for e in &events {
            replay.observe(e);
        }
        let r = replay.report();
        assert_eq!((r.payments, r.scored), (5, 4));
        assert_eq!(r.unscored.get("data.billing_country"), Some(&1));
        assert_eq!(r.labels, 7);
        assert_eq!(r.labels_without_score, 2);
        assert_eq!((r.labelled, r.frauds), (4, 2));
        let decline = r
            .thresholds
            .iter()
            .find(|t| t.decision == "decline")
            .expect("decline figures");
        // Only the blocked payment reaches the decline threshold: precise, half the frauds.
        assert!((decline.precision - 1.0).abs() < 1e-12, "{decline:?}");
        assert!((decline.recall - 0.5).abs() < 1e-12, "{decline:?}");
        assert_eq!(r.ranking.positives, 2);
    }
}
