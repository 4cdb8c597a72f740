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
use crate::state::{ENTITY_BYTES, Entities, Entity, EntityState, Layout, Place, RulePlan};

/// Most measures a rule has (the rule loader enforces it).
const MAX_MEASURES: usize = 8;
/// Events between two sweeps of expired entities.
const SWEEP_EVERY: u64 = 65_536;
/// At most one `state-limit-reached` alert per detector in this much event time.
const LIMIT_ALERT_EVERY_MS: i64 = 3_600_000;

/// Keeps per-entity measures over sliding windows and alerts when a rule's measures all pass.
///
/// Every rule's state for one entity sits in one entry of one table, so an event costs one hash
/// lookup whatever the number of rules it feeds.
pub struct ScenarioDetector {
    name: String,
    group_by: EntityKind,
    plans: Vec<RulePlan>,
    entities: Entities,
    /// Rule indices per event type (indexed like `EventType::ALL`).
    by_type: Vec<Vec<u16>>,
    /// The rules an event matched, reused from event to event.
    matched: Vec<u16>,
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

/// `EventType::ALL` lists the types in declaration order, so the discriminant is the index.
#[inline]
fn type_index(t: EventType) -> usize {
    t as usize
}

/// What one event does to one entity, shared by the rules it feeds.
struct Feed<'e> {
    event: &'e Event,
    entity: EntityRef<'e>,
    group_by: EntityKind,
    time_ms: i64,
}

impl ScenarioDetector {
    /// A detector for the rules among `rules` that group by `group_by`, with default limits.
    pub fn new(group_by: EntityKind, rules: &[Rule]) -> Self {
        Self::with_limits(group_by, rules, StateLimits::default())
    }

    /// A detector for the rules among `rules` that group by `group_by`, bounded by `limits`.
    pub fn with_limits(group_by: EntityKind, rules: &[Rule], limits: StateLimits) -> Self {
        // Rule indices are u16 in the state: more rules of one kind than that are not kept.
        let plans: Vec<RulePlan> = rules
            .iter()
            .filter(|r| r.group_by == group_by)
            .take(usize::from(u16::MAX))
            .cloned()
            .map(RulePlan::new)
            .collect();
        let mut by_type = vec![Vec::new(); EventType::ALL.len()];
        for (i, t) in plans.iter().enumerate() {
            for ty in &t.rule.events {
                by_type[type_index(*ty)].push(i as u16);
            }
        }
        ScenarioDetector {
            name: format!("threshold/{group_by}"),
            group_by,
            plans,
            entities: Entities::default(),
            by_type,
            matched: Vec::new(),
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

    /// (rule, entity) pairs holding state: an entity fed by several rules counts once per rule.
    pub fn rule_states(&self) -> usize {
        self.plans.iter().map(|p| p.held).sum()
    }

    /// Removes expired states now (the detector also does it by itself).
    pub fn sweep(&mut self) {
        let now = self.latest_ms;
        let plans = &mut self.plans;
        let (mut freed, mut removed) = (0usize, 0u64);
        self.entities.retain(|_, e| {
            if now <= e.check_ms {
                return true;
            }
            e.states.retain(|s| {
                let plan = &mut plans[usize::from(s.rule)];
                if !plan.expired(s, now) {
                    return true;
                }
                plan.held -= 1;
                freed += s.bytes as usize;
                removed += 1;
                false
            });
            if e.states.is_empty() {
                freed += ENTITY_BYTES;
                return false;
            }
            e.states.shrink_to_fit();
            // A bucket still draining keeps its state: look again at the next sweep.
            e.check_ms = e
                .states
                .iter()
                .map(|s| plans[usize::from(s.rule)].expiry(s))
                .min()
                .unwrap_or(now)
                .max(now);
            true
        });
        self.hits.expired += removed;
        self.bytes = self.bytes.saturating_sub(freed);
    }

    /// Feeds the event to the matched `rules` of the entity keyed `key`; returns the rules that
    /// wanted a new state but found a limit reached.
    fn feed(&mut self, key: u64, f: &Feed<'_>, rules: &[u16], out: &mut Vec<Alert>) -> Vec<u16> {
        let mut refused = Vec::new();
        let Self {
            plans,
            entities,
            limits,
            hits,
            bytes,
            ..
        } = self;
        let entity = match entities.get_mut(&key) {
            Some(entity) => entity,
            None => {
                // An event that feeds no measure of a rule without ratios cannot make it pass:
                // it creates no state (most page views never create a 404-scan state).
                if !rules
                    .iter()
                    .any(|r| plans[usize::from(*r)].needs_state(f.event))
                {
                    return refused;
                }
                *bytes += ENTITY_BYTES;
                entities.entry(key).or_insert(Entity {
                    check_ms: i64::MAX,
                    states: Vec::new(),
                })
            }
        };
        for &ri in rules {
            let i = match entity.states.iter().position(|s| s.rule == ri) {
                Some(i) => i,
                None => {
                    let plan = &mut plans[usize::from(ri)];
                    if !plan.needs_state(f.event) {
                        continue;
                    }
                    if plan.held >= limits.max_entities || *bytes >= limits.max_state_bytes {
                        refused.push(ri);
                        continue;
                    }
                    let slot = f.time_ms.div_euclid(plan.slot_ms);
                    let state = EntityState::new(ri, &plan.layout, slot, f.time_ms);
                    *bytes += state.bytes as usize;
                    entity.check_ms = entity.check_ms.min(plan.expiry(&state));
                    plan.held += 1;
                    entity.states.reserve_exact(1);
                    entity.states.push(state);
                    entity.states.len() - 1
                }
            };
            let may_grow = *bytes < limits.max_state_bytes;
            let state = &mut entity.states[i];
            let grew = feed_rule(&plans[usize::from(ri)], state, f, may_grow, hits, out);
            state.bytes = state.bytes.saturating_add(grew as u32);
            *bytes += grew;
        }
        if entity.states.is_empty() {
            entities.remove(&key);
            *bytes -= ENTITY_BYTES;
        }
        refused
    }

    fn limit_alert(&mut self, f: &Feed<'_>, rule: &str, out: &mut Vec<Alert>) {
        if self
            .last_limit_alert_ms
            .is_some_and(|t| self.latest_ms - t < LIMIT_ALERT_EVERY_MS)
        {
            return;
        }
        self.last_limit_alert_ms = Some(self.latest_ms);
        out.push(Alert {
            id: 0,
            time: f.event.time,
            detector: "threshold".into(),
            rule_id: "state-limit-reached".into(),
            title: format!(
                "Behaviour state limit reached: new {} entities are not tracked",
                self.group_by
            ),
            severity: Severity::Info,
            confidence: 1.0,
            entity: EntityKey::new(self.group_by, f.entity),
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

/// Feeds one event to one rule's state of an entity, raising the rule's alert if every measure
/// passes; returns the bytes the state grew by.
fn feed_rule(
    plan: &RulePlan,
    state: &mut EntityState,
    f: &Feed<'_>,
    may_grow: bool,
    hits: &mut LimitHits,
    out: &mut Vec<Alert>,
) -> usize {
    let RulePlan {
        rule,
        layout,
        window_ms,
        slot_ms,
        ..
    } = plan;
    let (event, time_ms) = (f.event, f.time_ms);
    let slot = time_ms.div_euclid(*slot_ms);
    if slot > state.newest_slot {
        ring::advance(
            std::slice::from_mut(&mut state.total),
            state.newest_slot,
            slot,
        );
        ring::advance(&mut state.lanes, state.newest_slot, slot);
        state.newest_slot = slot;
    } else if !in_ring(state.newest_slot, slot) {
        hits.too_late += 1;
        return 0;
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
            (MeasureKind::NewValue { field, .. }, Place::NewValue { lane, known }) => {
                if let Some(v) = field.read(event)
                    && state.known[known].insert(v.hash64())
                {
                    ring::add(&mut state.lanes[lane], slot, 1);
                }
            }
            (MeasureKind::Distinct { field, exact_limit }, Place::Distinct(i)) => {
                if let Some(v) = field.read(event) {
                    let growth = state.distinct[i].observe(
                        v.hash64(),
                        slot,
                        state.newest_slot,
                        *exact_limit,
                        may_grow,
                    );
                    match growth {
                        Growth::Value => grew += 8,
                        Growth::Sketch => grew += crate::measure::hll::SlidingHll::BYTES,
                        Growth::Refused => hits.refused_sketches += 1,
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
    let quiet = state.last_alert_ms == i64::MIN
        || state.last_ms.saturating_sub(state.last_alert_ms) >= *window_ms;
    if !quiet {
        return grew;
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
    if pass {
        state.last_alert_ms = state.last_ms;
        out.push(rule_alert(rule, state, &values[..n], f));
    }
    grew
}

/// The alert of a rule whose measures all passed, with their values as evidence.
fn rule_alert(rule: &Rule, state: &mut EntityState, values: &[f64], f: &Feed<'_>) -> Alert {
    let since = std::mem::take(&mut state.since_alert);
    let measures: Vec<serde_json::Value> = rule
        .measures
        .iter()
        .zip(values)
        .map(|(m, v)| json!({ "measure": m.label(), "value": v, "test": test_text(m.test) }))
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
        && let Some(v) = field.read(f.event)
    {
        evidence["distinct_field"] = json!(field.name);
        evidence["last_value"] = json!(v.to_text());
    }
    Alert {
        id: 0,
        time: f.event.time,
        detector: "threshold".into(),
        rule_id: rule.id.clone(),
        title: rule.title.clone(),
        severity: rule.severity,
        confidence: rule.confidence,
        entity: EntityKey::new(f.group_by, f.entity),
        evidence,
        tags: rule.tags.clone(),
        incident_id: None,
        ledger_index: None,
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
        (MeasureKind::NewValue { .. }, Place::NewValue { lane, .. }) => {
            ring::total(&state.lanes[lane]) as f64
        }
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
        let ti = type_index(event.event_type());
        if self.by_type[ti].is_empty() {
            return;
        }
        let Some(entity) = event.entity(self.group_by) else {
            return;
        };
        let mut matched = std::mem::take(&mut self.matched);
        matched.clear();
        matched.extend(self.by_type[ti].iter().copied().filter(|r| {
            self.plans[usize::from(*r)]
                .rule
                .conditions
                .iter()
                .all(|c| c.matches(event))
        }));
        if !matched.is_empty() {
            self.on_matched(event, entity, &matched, out);
        }
        self.matched = matched;
    }

    fn tracked_entities(&self) -> usize {
        self.entities.len()
    }
}

impl ScenarioDetector {
    fn on_matched(
        &mut self,
        event: &Event,
        entity: EntityRef<'_>,
        matched: &[u16],
        out: &mut Vec<Alert>,
    ) {
        let time_ms = event.time.timestamp_millis();
        self.latest_ms = self.latest_ms.max(time_ms);
        self.seen += 1;
        if self.seen.is_multiple_of(SWEEP_EVERY) {
            self.sweep();
        }
        let f = Feed {
            event,
            entity,
            group_by: self.group_by,
            time_ms,
        };
        let key = hash_entity(entity);
        let mut refused = self.feed(key, &f, matched, out);
        // Sweeping is linear in the table: when full, at most once a second of event time.
        if !refused.is_empty() && self.latest_ms >= self.next_full_sweep_ms {
            self.sweep();
            self.next_full_sweep_ms = self.latest_ms.saturating_add(1000);
            refused = self.feed(key, &f, &refused, out);
        }
        for ri in refused {
            self.hits.refused_entities += 1;
            let id = self.plans[usize::from(ri)].rule.id.clone();
            self.limit_alert(&f, &id, out);
        }
    }
}
