//! The scenario detector: runs every rule that groups by one entity kind.

use ensuresec_model::{
    Alert, Detector, EntityKey, EntityKind, EntityRef, Event, EventType, Severity,
};
use serde_json::json;

use crate::field::Value;
use crate::hash::hash_entity;
use crate::limits::{LimitHits, StateLimits};
use crate::measure::distinct::Growth;
use crate::measure::ring::{self, in_ring};
use crate::rules::{MeasureKind, Rule, Test};
use crate::state::{EntityState, Layout, Place, RuleTable};

/// Most measures a rule has (the rule loader enforces it).
const MAX_MEASURES: usize = 8;
/// Events between two sweeps of expired entities.
const SWEEP_EVERY: u64 = 65_536;
/// At most one `state-limit-reached` alert per detector in this much event time.
const LIMIT_ALERT_EVERY_MS: i64 = 3_600_000;

/// Keeps per-entity measures over sliding windows and alerts when a rule's measures all pass.
pub struct ScenarioDetector {
    name: String,
    group_by: EntityKind,
    tables: Vec<RuleTable>,
    /// Rule indices per event type (indexed like `EventType::ALL`).
    by_type: Vec<Vec<usize>>,
    limits: StateLimits,
    hits: LimitHits,
    bytes: usize,
    seen: u64,
    latest_ms: i64,
    last_limit_alert_ms: Option<i64>,
    next_full_sweep_ms: i64,
}

/// The name the first version gave this detector; kept so that callers still compile.
pub type ThresholdDetector = ScenarioDetector;

fn type_index(t: EventType) -> usize {
    EventType::ALL.iter().position(|x| *x == t).unwrap_or(0)
}

impl ScenarioDetector {
    /// A detector for the rules among `rules` that group by `group_by`, with default limits.
    pub fn new(group_by: EntityKind, rules: &[Rule]) -> Self {
        Self::with_limits(group_by, rules, StateLimits::default())
    }

    /// A detector for the rules among `rules` that group by `group_by`, bounded by `limits`.
    pub fn with_limits(group_by: EntityKind, rules: &[Rule], limits: StateLimits) -> Self {
        let tables: Vec<RuleTable> = rules
            .iter()
            .filter(|r| r.group_by == group_by)
            .cloned()
            .map(RuleTable::new)
            .collect();
        let mut by_type = vec![Vec::new(); EventType::ALL.len()];
        for (i, t) in tables.iter().enumerate() {
            for ty in &t.rule.events {
                by_type[type_index(*ty)].push(i);
            }
        }
        ScenarioDetector {
            name: format!("threshold/{group_by}"),
            group_by,
            tables,
            by_type,
            limits,
            hits: LimitHits::default(),
            bytes: 0,
            seen: 0,
            latest_ms: i64::MIN,
            last_limit_alert_ms: None,
            next_full_sweep_ms: i64::MIN,
        }
    }

    /// Entities refused because a table or the memory ceiling was full (an attacker rotating
    /// keys); the old name of [`ScenarioDetector::limit_hits`]`().refused_entities`.
    pub fn evicted(&self) -> u64 {
        self.hits.refused_entities
    }

    /// How often each limit was hit.
    pub fn limit_hits(&self) -> LimitHits {
        self.hits
    }

    /// Estimated bytes of state held (what the memory ceiling is compared with).
    pub fn state_bytes(&self) -> usize {
        self.bytes
    }

    /// Removes expired entities from every table now (the detector also does it by itself).
    pub fn sweep(&mut self) {
        let now = self.latest_ms;
        let mut bytes = 0;
        for t in &mut self.tables {
            let (removed, held) = t.sweep(now);
            self.hits.expired += removed;
            bytes += held;
        }
        self.bytes = bytes;
    }

    fn limit_alert(
        &mut self,
        event: &Event,
        entity: EntityRef<'_>,
        rule: &str,
        out: &mut Vec<Alert>,
    ) {
        if self
            .last_limit_alert_ms
            .is_some_and(|t| self.latest_ms - t < LIMIT_ALERT_EVERY_MS)
        {
            return;
        }
        self.last_limit_alert_ms = Some(self.latest_ms);
        out.push(Alert {
            id: 0,
            time: event.time,
            detector: "threshold".into(),
            rule_id: "state-limit-reached".into(),
            title: format!(
                "Behaviour state limit reached: new {} entities are not tracked",
                self.group_by
            ),
            severity: Severity::Info,
            confidence: 1.0,
            entity: EntityKey::new(self.group_by, entity),
            evidence: json!({
                "rule": rule,
                "max_entities": self.limits.max_entities,
                "max_state_bytes": self.limits.max_state_bytes,
                "state_bytes": self.bytes,
                "refused_entities": self.hits.refused_entities,
            }),
            tags: vec![],
            incident_id: None,
            ledger_index: None,
        });
    }
}

/// A measure's current value for the test (for buckets, the level).
fn measure_value(rule: &Rule, layout: &Layout, state: &EntityState, m: usize) -> f64 {
    let place = layout.places[m];
    match (&rule.measures[m].kind, place) {
        (MeasureKind::Count, Place::Total) => ring::total(&state.total) as f64,
        (MeasureKind::Count, Place::Lane(i)) => ring::total(&state.lanes[i]) as f64,
        (MeasureKind::Ratio { min_events }, Place::Lane(i)) => {
            let total = ring::total(&state.total);
            if total < u64::from(*min_events) {
                f64::NAN
            } else {
                ring::total(&state.lanes[i]) as f64 / total as f64
            }
        }
        (MeasureKind::Distinct { .. }, Place::Distinct(i)) => {
            state.distinct[i].count(state.newest_slot)
        }
        (MeasureKind::Bucket { .. }, Place::Bucket(i)) => state.buckets[i].level,
        _ => f64::NAN,
    }
}

fn test_text(t: Test) -> String {
    match t {
        Test::AtLeast(x) => format!(">= {x}"),
        Test::AtMost(x) => format!("<= {x}"),
        Test::Overflows(c) => format!("> {c} (bucket capacity)"),
    }
}

impl Detector for ScenarioDetector {
    fn name(&self) -> &str {
        &self.name
    }

    fn group_by(&self) -> Option<EntityKind> {
        Some(self.group_by)
    }

    fn accepts(&self, event_type: EventType) -> bool {
        !self.by_type[type_index(event_type)].is_empty()
    }

    fn on_event(&mut self, event: &Event, out: &mut Vec<Alert>) {
        let Some(entity) = event.entity(self.group_by) else {
            return;
        };
        let ti = type_index(event.event_type());
        if self.by_type[ti].is_empty() {
            return;
        }
        let time_ms = event.time.timestamp_millis();
        self.latest_ms = self.latest_ms.max(time_ms);
        self.seen += 1;
        if self.seen.is_multiple_of(SWEEP_EVERY) {
            self.sweep();
        }
        let key = hash_entity(entity);
        for r in 0..self.by_type[ti].len() {
            let ri = self.by_type[ti][r];
            if !self.tables[ri]
                .rule
                .conditions
                .iter()
                .all(|c| c.matches(event))
            {
                continue;
            }
            let slot = time_ms.div_euclid(self.tables[ri].slot_ms);
            if !self.tables[ri].states.contains_key(&key) {
                // An event that feeds no measure of a rule without ratios cannot make it pass:
                // it creates no state (most page views never create a 404-scan state).
                if !self.tables[ri].needs_state(event) {
                    continue;
                }
                let full = |d: &Self| {
                    d.tables[ri].states.len() >= d.limits.max_entities
                        || d.bytes >= d.limits.max_state_bytes
                };
                // Sweeping is linear in the tables: when full, at most once a second of event time.
                if full(self) && self.latest_ms >= self.next_full_sweep_ms {
                    self.sweep();
                    self.next_full_sweep_ms = self.latest_ms.saturating_add(1000);
                }
                if full(self) {
                    self.hits.refused_entities += 1;
                    let id = self.tables[ri].rule.id.clone();
                    self.limit_alert(event, entity, &id, out);
                    continue;
                }
                let state = EntityState::new(&self.tables[ri].layout, slot, time_ms);
                self.bytes += state.bytes();
                self.tables[ri].states.insert(key, state);
            }
            let may_grow = self.bytes < self.limits.max_state_bytes;
            let RuleTable {
                rule,
                layout,
                states,
                window_ms,
                ..
            } = &mut self.tables[ri];
            let Some(state) = states.get_mut(&key) else {
                continue;
            };
            if slot > state.newest_slot {
                ring::advance(
                    std::slice::from_mut(&mut state.total),
                    state.newest_slot,
                    slot,
                );
                ring::advance(&mut state.lanes, state.newest_slot, slot);
                state.newest_slot = slot;
            } else if !in_ring(state.newest_slot, slot) {
                self.hits.too_late += 1;
                continue;
            }
            state.last_ms = state.last_ms.max(time_ms);
            state.since_alert = state.since_alert.saturating_add(1);
            ring::add(&mut state.total, slot, 1);
            let mut grew = 0usize;
            for (m, measure) in rule.measures.iter().enumerate() {
                if !measure.conditions.iter().all(|c| c.matches(event)) {
                    continue;
                }
                match (&measure.kind, layout.places[m]) {
                    (_, Place::Lane(i)) => ring::add(&mut state.lanes[i], slot, 1),
                    (MeasureKind::Distinct { field, exact_limit }, Place::Distinct(i)) => {
                        if let Some(v) = field.read(event) {
                            let (_, growth) = state.distinct[i].observe(
                                v.hash64(),
                                slot,
                                state.newest_slot,
                                *exact_limit,
                                may_grow,
                            );
                            match growth {
                                Growth::Value => grew += 8,
                                Growth::Sketch => grew += crate::measure::hll::SlidingHll::BYTES,
                                Growth::Refused => self.hits.refused_sketches += 1,
                                Growth::None => {}
                            }
                        }
                    }
                    (
                        MeasureKind::Bucket {
                            leak_per_second,
                            weight,
                            ..
                        },
                        Place::Bucket(i),
                    ) => {
                        let w = match weight {
                            Some(f) => match f.read(event) {
                                Some(Value::Num(n)) if n.is_finite() => n,
                                _ => continue,
                            },
                            None => 1.0,
                        };
                        state.buckets[i].pour(time_ms, w, *leak_per_second);
                    }
                    _ => {}
                }
            }
            self.bytes += grew;
            let quiet = state.last_alert_ms == i64::MIN
                || state.last_ms.saturating_sub(state.last_alert_ms) >= *window_ms;
            if !quiet {
                continue;
            }
            // Cheap measures first: distinct counts scan their values.
            let mut values = [f64::NAN; MAX_MEASURES];
            let n = rule.measures.len().min(MAX_MEASURES);
            let mut pass = true;
            for distinct_pass in [false, true] {
                for (m, value) in values.iter_mut().enumerate().take(n) {
                    if matches!(layout.places[m], Place::Distinct(_)) != distinct_pass || !pass {
                        continue;
                    }
                    *value = measure_value(rule, layout, state, m);
                    pass = rule.measures[m].test.passes(*value);
                }
            }
            if !pass {
                continue;
            }
            state.last_alert_ms = state.last_ms;
            let since = std::mem::take(&mut state.since_alert);
            let measures: Vec<serde_json::Value> = rule
                .measures
                .iter()
                .zip(&values)
                .map(
                    |(m, v)| json!({ "measure": m.label(), "value": v, "test": test_text(m.test) }),
                )
                .collect();
            let mut evidence = json!({
                "count": values.first().copied().unwrap_or(f64::NAN),
                "measures": measures,
                "window_seconds": rule.window_seconds,
                "events_in_window": ring::total(&state.total),
                "events_since_last_alert": since,
            });
            if let Some(MeasureKind::Distinct { field, .. }) = rule
                .measures
                .iter()
                .map(|m| &m.kind)
                .find(|k| matches!(k, MeasureKind::Distinct { .. }))
                && let Some(v) = field.read(event)
            {
                evidence["distinct_field"] = json!(field.name);
                evidence["last_value"] = json!(v.to_text());
            }
            out.push(Alert {
                id: 0,
                time: event.time,
                detector: "threshold".into(),
                rule_id: rule.id.clone(),
                title: rule.title.clone(),
                severity: rule.severity,
                confidence: rule.confidence,
                entity: EntityKey::new(self.group_by, entity),
                evidence,
                tags: rule.tags.clone(),
                incident_id: None,
                ledger_index: None,
            });
        }
    }

    fn tracked_entities(&self) -> usize {
        self.tables.iter().map(|t| t.states.len()).sum()
    }
}
