//! Scoring detectors against labelled events: precision, recall and detection delay per scenario.
//!
//! Labelled events carry their ground truth in `labels["truth"]` (the simulator's convention).
//! An *attacker* is an entity of the scenario's unit kind (an address, an account, a target host)
//! that appears in at least `min_events` events labelled with that truth. An attacker is
//! *detected* when a rule mapped to the truth raises an alert naming it; the delay is from its
//! first labelled event to that alert. An alert is *true* when the entity it names appeared in
//! a labelled attack event at most ten minutes before, *false* otherwise. Pure: callers feed
//! events and alerts ([`run`] does both).

pub mod campaigns;

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use ensuresec_model::{Alert, Detector, EntityKey, EntityKind, Event};

use crate::anomaly::{AnomalyConfig, AnomalyDetector};
use crate::baseline::{BaselineConfig, BaselineDetector};
use crate::{RuleSet, ScenarioDetector};

/// The truth of an expectation that any attack label satisfies (to score a detector of unknown
/// threats on every attack).
pub const ANY: &str = "*";

/// How one truth label is scored.
#[derive(Debug, Clone)]
pub struct Expectation {
    /// The `labels["truth"]` value, or [`ANY`].
    pub truth: &'static str,
    /// The kind of entity that counts as one attacker.
    pub unit: EntityKind,
    /// Rule ids (or prefixes ending in `*`) that are meant to catch it.
    pub rules: Vec<&'static str>,
    /// Attackers with fewer labelled events are not counted (too small to catch by design).
    pub min_events: u32,
    /// Only labelled events of these types count (empty: all), for detectors that read some.
    pub event_types: Vec<ensuresec_model::EventType>,
}

/// Per-scenario figures.
#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioScore {
    /// The truth label.
    pub truth: String,
    /// Attackers counted.
    pub attackers: usize,
    /// Attackers detected by a mapped rule.
    pub detected: usize,
    /// Alerts of mapped rules.
    pub alerts: usize,
    /// Alerts of mapped rules naming a labelled attack entity.
    pub true_alerts: usize,
    /// Detection delays in seconds, sorted.
    pub delays_seconds: Vec<f64>,
}

impl ScenarioScore {
    /// Detected attackers over attackers (1 when there were none).
    pub fn recall(&self) -> f64 {
        if self.attackers == 0 {
            1.0
        } else {
            self.detected as f64 / self.attackers as f64
        }
    }

    /// True alerts over alerts (1 when there were none).
    pub fn precision(&self) -> f64 {
        if self.alerts == 0 {
            1.0
        } else {
            self.true_alerts as f64 / self.alerts as f64
        }
    }

    /// The median delay in seconds.
    pub fn median_delay(&self) -> Option<f64> {
        quantile(&self.delays_seconds, 0.5)
    }

    /// The 95th-percentile delay in seconds.
    pub fn p95_delay(&self) -> Option<f64> {
        quantile(&self.delays_seconds, 0.95)
    }
}

/// Per-rule figures, over all alerts of the rule.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RuleScore {
    /// Alerts raised.
    pub alerts: usize,
    /// Alerts naming a labelled attack entity.
    pub true_alerts: usize,
}

fn quantile(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let i = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted.get(i).copied()
}

fn rule_matches(pattern: &str, rule: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => rule.starts_with(prefix),
        None => pattern == rule,
    }
}

/// Collects labelled events and alerts, then scores them.
#[derive(Debug, Default)]
pub struct Evaluation {
    expectations: Vec<Expectation>,
    /// (expectation index, unit entity) → (first labelled time, labelled events).
    attackers: HashMap<(usize, EntityKey), (DateTime<Utc>, u32)>,
    /// Every entity named by a labelled event, with its first and last labelled time.
    attack_entities: HashMap<EntityKey, (DateTime<Utc>, DateTime<Utc>)>,
    alerts: Vec<Alert>,
    events: u64,
}

impl Evaluation {
    /// An evaluation for these expectations.
    pub fn new(expectations: Vec<Expectation>) -> Self {
        Evaluation {
            expectations,
            ..Evaluation::default()
        }
    }

    /// Records an event's truth, if it has one.
    pub fn event(&mut self, event: &Event) {
        self.events += 1;
        let Some(truth) = event.labels.get("truth") else {
            return;
        };
        for key in event.entities() {
            let span = self
                .attack_entities
                .entry(key)
                .or_insert((event.time, event.time));
            span.1 = span.1.max(event.time);
        }
        for (i, e) in self.expectations.iter().enumerate() {
            if (e.truth != truth && e.truth != ANY)
                || (!e.event_types.is_empty() && !e.event_types.contains(&event.event_type()))
            {
                continue;
            }
            if let Some(v) = event.entity(e.unit) {
                let entry = self
                    .attackers
                    .entry((i, EntityKey::new(e.unit, v)))
                    .or_insert((event.time, 0));
                entry.1 += 1;
            }
        }
    }

    /// Records an alert.
    pub fn alert(&mut self, alert: &Alert) {
        self.alerts.push(alert.clone());
    }

    /// Events seen.
    pub fn events(&self) -> u64 {
        self.events
    }

    /// Whether an alert names an attack entity while it attacked (or within ten minutes after).
    fn is_true(&self, a: &Alert) -> bool {
        self.attack_entities
            .get(&a.entity)
            .is_some_and(|(first, last)| {
                a.time >= *first && a.time <= *last + chrono::Duration::minutes(10)
            })
    }

    /// Figures per expectation, in the order given.
    pub fn scenarios(&self) -> Vec<ScenarioScore> {
        self.expectations
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let mapped: Vec<&Alert> = self
                    .alerts
                    .iter()
                    .filter(|a| e.rules.iter().any(|p| rule_matches(p, &a.rule_id)))
                    .collect();
                let mut delays = Vec::new();
                let mut attackers = 0;
                for ((index, key), (first, n)) in &self.attackers {
                    if *index != i || *n < e.min_events {
                        continue;
                    }
                    attackers += 1;
                    if let Some(t) = mapped
                        .iter()
                        .filter(|a| a.entity == *key && a.time >= *first)
                        .map(|a| a.time)
                        .min()
                    {
                        delays.push((t - *first).num_milliseconds() as f64 / 1000.0);
                    }
                }
                delays.sort_by(f64::total_cmp);
                ScenarioScore {
                    truth: e.truth.to_string(),
                    attackers,
                    detected: delays.len(),
                    alerts: mapped.len(),
                    true_alerts: mapped.iter().filter(|a| self.is_true(a)).count(),
                    delays_seconds: delays,
                }
            })
            .collect()
    }

    /// Figures per rule id, sorted by id.
    pub fn rules(&self) -> BTreeMap<String, RuleScore> {
        let mut out: BTreeMap<String, RuleScore> = BTreeMap::new();
        for a in &self.alerts {
            let r = out.entry(a.rule_id.clone()).or_default();
            r.alerts += 1;
            if self.is_true(a) {
                r.true_alerts += 1;
            }
        }
        out
    }
}

/// How the shipped scenarios are scored against the simulator's and [`campaigns`]' truths.
pub fn default_expectations() -> Vec<Expectation> {
    let e = |truth, unit, rules: &[&'static str], min_events| Expectation {
        truth,
        unit,
        rules: rules.to_vec(),
        min_events,
        event_types: vec![],
    };
    use EntityKind::*;
    vec![
        e(
            "credential_stuffing_rotating",
            Device,
            &["credential-stuffing-device"],
            12,
        ),
        e(
            "credential_stuffing",
            Ip,
            &[
                "credential-stuffing-*",
                "login-flood-ip",
                "anomalous-behaviour",
            ],
            12,
        ),
        e("card_testing", Ip, &["card-testing-*"], 8),
        e(
            "sqli",
            Ip,
            &[
                "headless-client",
                "scanner-user-agent",
                "http-error-burst-ip",
                "anomalous-behaviour",
            ],
            20,
        ),
        e(
            "xss",
            Ip,
            &[
                "headless-client",
                "scanner-user-agent",
                "http-error-burst-ip",
                "anomalous-behaviour",
            ],
            20,
        ),
        e("brute_force", Account, &["password-brute-force-*"], 20),
        e(
            "scraping",
            Ip,
            &[
                "scraping-no-assets",
                "headless-client",
                "anomalous-behaviour",
            ],
            150,
        ),
        e(
            "vulnerability_scan",
            Ip,
            &[
                "vulnerability-scan-*",
                "scanner-user-agent",
                "http-error-burst-ip",
                "anomalous-behaviour",
            ],
            20,
        ),
        e("coupon_enumeration", Ip, &["coupon-enumeration*"], 15),
        e("account_takeover", Account, &["account-takeover-*"], 3),
        e("http_flood", Ip, &["http-flood-ip"], 300),
        e("distributed_flood", Asset, &["volume-flood"], 300),
        e("syn_flood", Asset, &["syn-flood-*"], 500),
        e("port_scan", Ip, &["port-scan"], 100),
        e("host_scan", Ip, &["host-scan"], 64),
        e("udp_amplification", Asset, &["udp-amplification"], 100),
        Expectation {
            event_types: vec![
                ensuresec_model::EventType::HttpRequest,
                ensuresec_model::EventType::Auth,
            ],
            ..e(ANY, Ip, &["anomalous-behaviour"], 20)
        },
    ]
}

/// Runs events (in time order) through detectors, recording both in the evaluation.
pub fn run(
    events: impl Iterator<Item = Event>,
    detectors: &mut [Box<dyn Detector>],
    eval: &mut Evaluation,
) {
    let mut out = Vec::new();
    for event in events {
        eval.event(&event);
        let ty = event.event_type();
        for d in detectors.iter_mut() {
            if d.accepts(ty) {
                d.on_event(&event, &mut out);
            }
        }
        for a in out.drain(..) {
            eval.alert(&a);
        }
    }
}

/// Every detector of this crate, one instance each: the scenario detectors of `rules` (one per
/// entity kind), the anomaly detector over addresses and the volume baselines.
pub fn all_detectors(rules: &RuleSet) -> Vec<Box<dyn Detector>> {
    let mut out: Vec<Box<dyn Detector>> = rules
        .group_kinds()
        .into_iter()
        .map(|k| {
            Box::new(ScenarioDetector::with_limits(k, &rules.rules, rules.limits))
                as Box<dyn Detector>
        })
        .collect();
    out.push(Box::new(AnomalyDetector::new(AnomalyConfig::default())));
    out.push(Box::new(BaselineDetector::new(BaselineConfig::default())));
    out
}

/// Merges two time-ordered event streams into one.
pub fn merge_by_time(a: impl Iterator<Item = Event>, b: Vec<Event>) -> impl Iterator<Item = Event> {
    let mut a = a.peekable();
    let mut b = b.into_iter().peekable();
    std::iter::from_fn(move || match (a.peek(), b.peek()) {
        (Some(x), Some(y)) => {
            if y.time < x.time {
                b.next()
            } else {
                a.next()
            }
        }
        (Some(_), None) => a.next(),
        (None, _) => b.next(),
    })
}
