//! The anomaly detector: per-entity windows in, scored and explained vectors out.

use std::collections::HashMap;

use ensuresec_model::{Alert, Detector, EntityKey, EntityKind, Event, EventType, Severity};
use serde_json::json;

use crate::anomaly::features::{Accumulator, FEATURES, scale};
use crate::anomaly::hst::{HalfSpaceTrees, HstConfig};
use crate::hash::{HashedMap, hash_entity};

/// Settings of the anomaly detector.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AnomalyConfig {
    /// The entity whose behaviour is modelled.
    pub group_by: EntityKind,
    /// Length of a behaviour window, in seconds of event time.
    pub window_seconds: u32,
    /// Score (0 to 1) at or above which a window is reported. The default sits above the highest
    /// score of benign windows measured on the simulator (0.39 over 35 000 windows, see
    /// `bench/RESULTS.md`); set it from your own traffic's benign scores.
    pub threshold: f64,
    /// Windows with fewer events are learned but not reported (too little to judge).
    pub min_events: u32,
    /// At most one alert per entity in this many seconds.
    pub cooldown_seconds: u32,
    /// Most entities with an open window; new ones beyond it are refused and counted.
    pub max_entities: usize,
    /// The model.
    pub model: HstConfig,
}

impl Default for AnomalyConfig {
    fn default() -> Self {
        AnomalyConfig {
            group_by: EntityKind::Ip,
            window_seconds: 60,
            threshold: 0.45,
            min_events: 10,
            cooldown_seconds: 600,
            max_entities: 500_000,
            model: HstConfig::default(),
        }
    }
}

struct Entity {
    acc: Accumulator,
    text: String,
    last_alert_ms: Option<i64>,
}

/// Scores per-entity behaviour vectors with Half-Space Trees and explains the outliers.
pub struct AnomalyDetector {
    name: String,
    config: AnomalyConfig,
    model: HalfSpaceTrees,
    entities: HashedMap<Entity>,
    /// Running mean of each scaled feature over learned windows, for "typical" in explanations.
    typical: [f64; 10],
    typical_raw: [f64; 10],
    learned: u64,
    latest_ms: i64,
    next_close_ms: i64,
    refused: u64,
    high_not_learned: u64,
}

impl AnomalyDetector {
    /// A detector with these settings.
    pub fn new(config: AnomalyConfig) -> Self {
        AnomalyDetector {
            name: format!("anomaly/{}", config.group_by),
            model: HalfSpaceTrees::new(FEATURES.len(), config.model),
            config,
            entities: HashMap::default(),
            typical: [0.0; 10],
            typical_raw: [0.0; 10],
            learned: 0,
            latest_ms: i64::MIN,
            next_close_ms: i64::MIN,
            refused: 0,
            high_not_learned: 0,
        }
    }

    /// New entities refused because the table was full.
    pub fn refused(&self) -> u64 {
        self.refused
    }

    fn window_ms(&self) -> i64 {
        i64::from(self.config.window_seconds.max(1)) * 1000
    }

    /// Scores, explains and learns one closed window.
    fn close(&mut self, key: u64, close_time_ms: i64, out: &mut Vec<Alert>) {
        let window_ms = self.window_ms();
        let Some(e) = self.entities.get_mut(&key) else {
            return;
        };
        if e.acc.is_empty() {
            return;
        }
        let raw = e.acc.raw(window_ms);
        let x = scale(&raw);
        let events = raw[0] + raw[7];
        let mut scored_high = false;
        if self.model.warmed_up() && events >= f64::from(self.config.min_events) {
            let s = self.model.score(&x);
            scored_high = s.score >= self.config.threshold;
            let quiet = e.last_alert_ms.is_none_or(|t| {
                close_time_ms - t >= i64::from(self.config.cooldown_seconds) * 1000
            });
            if s.score >= self.config.threshold && quiet {
                e.last_alert_ms = Some(close_time_ms);
                let mut drivers: Vec<usize> = (0..FEATURES.len()).collect();
                drivers.sort_by(|a, b| {
                    s.attribution[*b]
                        .total_cmp(&s.attribution[*a])
                        .then(a.cmp(b))
                });
                let explain: Vec<serde_json::Value> = drivers
                    .iter()
                    .take(3)
                    .filter(|i| s.attribution[**i] > 0.0)
                    .map(|i| {
                        json!({
                            "feature": FEATURES[*i],
                            "share": (s.attribution[*i] * 1000.0).round() / 1000.0,
                            "value": raw[*i],
                            "typical": (self.typical_raw[*i] * 1000.0).round() / 1000.0,
                        })
                    })
                    .collect();
                let top = explain
                    .first()
                    .and_then(|d| d["feature"].as_str())
                    .unwrap_or("behaviour")
                    .to_string();
                out.push(Alert {
                    id: 0,
                    time: chrono::DateTime::from_timestamp_millis(close_time_ms).unwrap_or_default(),
                    detector: "anomaly".into(),
                    rule_id: "anomalous-behaviour".into(),
                    title: format!("Unusual behaviour of one {} (mostly {top})", self.config.group_by),
                    severity: if s.score >= 0.97 { Severity::Medium } else { Severity::Low },
                    confidence: s.score as f32,
                    entity: EntityKey {
                        kind: self.config.group_by,
                        value: e.text.clone(),
                    },
                    evidence: json!({
                        "score": (s.score * 1000.0).round() / 1000.0,
                        "threshold": self.config.threshold,
                        "window_seconds": self.config.window_seconds,
                        "window_start": chrono::DateTime::from_timestamp_millis(e.acc.start_ms),
                        "drivers": explain,
                        "features": FEATURES.iter().zip(raw.iter()).map(|(n, v)| (n.to_string(), json!(v))).collect::<serde_json::Map<_, _>>(),
                    }),
                    tags: vec!["attack:T1595".into()],
                    incident_id: None,
                    ledger_index: None,
                });
            }
        }
        // Anomalous windows are learned only one time in eight, so that a long attack does not
        // teach the model that it is normal, while a lasting change of behaviour still is learned.
        if scored_high {
            self.high_not_learned += 1;
            if !self.high_not_learned.is_multiple_of(8) {
                return;
            }
        }
        self.model.learn(&x);
        self.learned += 1;
        let rate = 1.0 / (self.learned.min(1000) as f64);
        for i in 0..FEATURES.len() {
            self.typical[i] += rate * (x[i] - self.typical[i]);
            self.typical_raw[i] += rate * (raw[i] - self.typical_raw[i]);
        }
    }

    /// Closes every window that ended before `now_ms`, in a deterministic order, and forgets
    /// entities idle for a whole window after that.
    fn close_idle(&mut self, now_ms: i64, out: &mut Vec<Alert>) {
        let window_ms = self.window_ms();
        let mut due: Vec<(i64, u64)> = self
            .entities
            .iter()
            .filter(|(_, e)| e.acc.start_ms + window_ms <= now_ms)
            .map(|(k, e)| (e.acc.start_ms, *k))
            .collect();
        due.sort_unstable();
        for (start, key) in due {
            self.close(key, start + window_ms, out);
            let keep_alert = self.entities.get(&key).and_then(|e| e.last_alert_ms);
            if let Some(e) = self.entities.get_mut(&key) {
                e.acc = Accumulator::new(now_ms - (now_ms - start).rem_euclid(window_ms));
                e.last_alert_ms = keep_alert;
            }
        }
        let cooldown = i64::from(self.config.cooldown_seconds) * 1000;
        self.entities.retain(|_, e| {
            !(e.acc.is_empty()
                && now_ms - e.acc.last_ms > window_ms
                && e.last_alert_ms.is_none_or(|t| now_ms - t > cooldown))
        });
    }
}

impl Detector for AnomalyDetector {
    fn name(&self) -> &str {
        &self.name
    }

    fn group_by(&self) -> Option<EntityKind> {
        Some(self.config.group_by)
    }

    fn accepts(&self, event_type: EventType) -> bool {
        matches!(event_type, EventType::HttpRequest | EventType::Auth)
    }

    fn on_event(&mut self, event: &Event, out: &mut Vec<Alert>) {
        if !self.accepts(event.event_type()) {
            return;
        }
        let Some(entity) = event.entity(self.config.group_by) else {
            return;
        };
        let time_ms = event.time.timestamp_millis();
        let window_ms = self.window_ms();
        if time_ms > self.latest_ms {
            self.latest_ms = time_ms;
            if time_ms >= self.next_close_ms {
                if self.next_close_ms != i64::MIN {
                    self.close_idle(time_ms, out);
                }
                self.next_close_ms = time_ms - time_ms.rem_euclid(window_ms) + window_ms;
            }
        }
        let key = hash_entity(entity);
        let start = time_ms - time_ms.rem_euclid(window_ms);
        if !self.entities.contains_key(&key) {
            if self.entities.len() >= self.config.max_entities {
                self.refused += 1;
                return;
            }
            self.entities.insert(
                key,
                Entity {
                    acc: Accumulator::new(start),
                    text: entity.to_string(),
                    last_alert_ms: None,
                },
            );
        }
        let needs_close = self
            .entities
            .get(&key)
            .is_some_and(|e| start > e.acc.start_ms);
        if needs_close {
            let close_at = self
                .entities
                .get(&key)
                .map_or(start, |e| e.acc.start_ms + window_ms);
            self.close(key, close_at, out);
            if let Some(e) = self.entities.get_mut(&key) {
                e.acc = Accumulator::new(start);
            }
        }
        if let Some(e) = self.entities.get_mut(&key) {
            e.acc.add(event, time_ms);
        }
    }

    fn tracked_entities(&self) -> usize {
        self.entities.len()
    }
}
