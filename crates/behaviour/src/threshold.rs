//! The threshold detector: runs every rule that groups by one entity kind.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};

use ensuresec_model::{Alert, Detector, EntityKey, EntityKind, Event, EventType};
use serde_json::json;

use crate::rules::ThresholdRule;
use crate::window::Window;

/// Entities tracked per rule before idle ones are swept; beyond it the oldest go first.
const MAX_ENTITIES_PER_RULE: usize = 200_000;
/// Events between sweeps of idle entities.
const SWEEP_EVERY: u64 = 50_000;

struct RuleState {
    rule: ThresholdRule,
    windows: HashMap<String, Window>,
    evicted: u64,
}

/// Counts events per entity over sliding windows and alerts at thresholds.
pub struct ThresholdDetector {
    name: String,
    group_by: EntityKind,
    rules: Vec<RuleState>,
    seen: u64,
    latest_ms: i64,
}

impl ThresholdDetector {
    /// A detector for the rules among `rules` that group by `group_by`.
    pub fn new(group_by: EntityKind, rules: &[ThresholdRule]) -> Self {
        ThresholdDetector {
            name: format!("threshold/{group_by}"),
            group_by,
            rules: rules
                .iter()
                .filter(|r| r.group_by == group_by)
                .map(|r| RuleState {
                    rule: r.clone(),
                    windows: HashMap::new(),
                    evicted: 0,
                })
                .collect(),
            seen: 0,
            latest_ms: i64::MIN,
        }
    }

    /// Entities dropped because a rule's table was full (an attacker rotating keys).
    pub fn evicted(&self) -> u64 {
        self.rules.iter().map(|r| r.evicted).sum()
    }

    fn sweep(&mut self) {
        let now = self.latest_ms;
        for state in &mut self.rules {
            let window_ms = i64::from(state.rule.window_seconds) * 1000;
            state.windows.retain(|_, w| !w.idle(now, window_ms));
        }
    }
}

fn hash_text(text: &str) -> u64 {
    let mut h = DefaultHasher::new();
    text.hash(&mut h);
    h.finish()
}

fn field_text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

impl Detector for ThresholdDetector {
    fn name(&self) -> &str {
        &self.name
    }

    fn group_by(&self) -> Option<EntityKind> {
        Some(self.group_by)
    }

    fn accepts(&self, event_type: EventType) -> bool {
        self.rules.iter().any(|r| r.rule.event == event_type)
    }

    fn on_event(&mut self, event: &Event, out: &mut Vec<Alert>) {
        let Some(entity) = event.entity(self.group_by) else {
            return;
        };
        let event_type = event.event_type();
        let time_ms = event.time.timestamp_millis();
        self.latest_ms = self.latest_ms.max(time_ms);
        self.seen += 1;
        if self.seen.is_multiple_of(SWEEP_EVERY) {
            self.sweep();
        }
        // The payload as JSON, made once and only if a matching rule looks at fields.
        let mut payload: Option<serde_json::Value> = None;
        let entity_text = entity.to_string();
        for state in &mut self.rules {
            let rule = &state.rule;
            if rule.event != event_type {
                continue;
            }
            let fields = if rule.needs_fields() {
                payload.get_or_insert_with(|| {
                    serde_json::to_value(&event.data)
                        .ok()
                        .and_then(|mut v| v.get_mut("data").map(serde_json::Value::take))
                        .unwrap_or(serde_json::Value::Null)
                })
            } else {
                &serde_json::Value::Null
            };
            let matches = rule
                .conditions
                .iter()
                .all(|(field, cond)| fields.get(field).is_some_and(|v| cond.matches(v)));
            if !matches {
                continue;
            }
            let distinct = match &rule.distinct {
                Some(field) => match fields.get(field) {
                    Some(v) if !v.is_null() => Some(field_text(v)),
                    _ => continue,
                },
                None => None,
            };
            if !state.windows.contains_key(&entity_text)
                && state.windows.len() >= MAX_ENTITIES_PER_RULE
            {
                let window_ms = i64::from(rule.window_seconds) * 1000;
                let now = self.latest_ms;
                state.windows.retain(|_, w| !w.idle(now, window_ms));
                if state.windows.len() >= MAX_ENTITIES_PER_RULE
                    && let Some(oldest) = state
                        .windows
                        .iter()
                        .min_by_key(|(_, w)| w.latest_ms)
                        .map(|(k, _)| k.clone())
                {
                    state.windows.remove(&oldest);
                    state.evicted += 1;
                }
            }
            let window = state.windows.entry(entity_text.clone()).or_default();
            let window_ms = i64::from(rule.window_seconds) * 1000;
            let hit = window.observe(
                time_ms,
                distinct.as_deref().map(|d| (hash_text(d), d)),
                window_ms,
                rule.threshold,
            );
            if let Some(count) = hit {
                let mut evidence = json!({
                    "count": count,
                    "threshold": rule.threshold,
                    "window_seconds": rule.window_seconds,
                    "events_since_last_alert": window.total_since_alert,
                });
                if let Some(field) = &rule.distinct {
                    evidence["distinct_field"] = json!(field);
                    evidence["samples"] = json!(window.samples);
                }
                window.alerted();
                out.push(Alert {
                    id: 0,
                    time: event.time,
                    detector: "threshold".into(),
                    rule_id: rule.id.clone(),
                    title: rule.title.clone(),
                    severity: rule.severity,
                    confidence: rule.confidence,
                    entity: EntityKey::new(self.group_by, &entity_text),
                    evidence,
                    tags: rule.tags.clone(),
                    incident_id: None,
                    ledger_index: None,
                });
            }
        }
    }

    fn tracked_entities(&self) -> usize {
        self.rules.iter().map(|r| r.windows.len()).sum()
    }
}
