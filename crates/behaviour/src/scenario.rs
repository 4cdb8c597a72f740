//! The scenario detector: runs every rule that groups by one entity kind.

use ensuresec_model::{
    Alert, Detector, EntityKey, EntityKind, EntityRef, Event, EventType, Severity,
};
use serde_json::json;

use crate::checks::{Memo, RuleChecks, TypeChecks};
use crate::field::Value;
use crate::hash::hash_entity;
use crate::limits::{LimitHits, StateLimits};
use crate::measure::distinct::{self, Growth};
use crate::measure::known::Known;
use crate::measure::ring::{self, Lane, SLOTS, in_ring};
use crate::rules::{MeasureKind, Rule, Test};
use crate::state::{
    ENTITY_BYTES, Entities, Entity, Header, Layout, Place, RulePlan, Spilled, TOTAL,
};

/// Most measures a rule has (the rule loader enforces it).
const MAX_MEASURES: usize = 8;
/// Events between two sweeps of expired entities.
const SWEEP_EVERY: u64 = 65_536;
/// At most one `state-limit-reached` alert per detector in this much event time.
const LIMIT_ALERT_EVERY_MS: i64 = 3_600_000;

/// Keeps per-entity measures over sliding windows and alerts when a rule's measures all pass.
///
/// Every rule's state for one entity sits in one entry of one table, so an event costs one hash
/// lookup whatever the number of rules it feeds; each event type has its own compiled list of
/// the rules that read it and of the checks they need.
pub struct ScenarioDetector {
    name: String,
    group_by: EntityKind,
    plans: Vec<RulePlan>,
    entities: Entities,
    spilled: Spilled,
    /// Compiled checks per event type (indexed like `EventType::ALL`).
    by_type: Vec<TypeChecks>,
    /// Evaluated checks of the current event, reused from event to event.
    memo: Memo,
    /// The rules (positions in the type's list) an event matched, reused from event to event.
    matched: Vec<u16>,
    /// Rules that need a new state for the current entity, reused from event to event.
    fresh: Vec<u16>,
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

/// Where an event's checks are: the compiled list of its type and what it evaluated so far.
struct Checked<'a> {
    checks: &'a TypeChecks,
    memo: &'a mut Memo,
}

impl Checked<'_> {
    /// Whether measure `m` of a rule counts the event.
    #[inline]
    fn measure(&mut self, rc: &RuleChecks, m: usize, event: &Event) -> bool {
        rc.measures[m]
            .as_deref()
            .is_some_and(|ids| self.checks.all(ids, event, self.memo))
    }

    /// Whether the event should create a rule's state for a new entity: only if it feeds a
    /// measure, or the rule has a ratio (whose denominator it is). An event that feeds no
    /// measure of a rule without ratios cannot make it pass.
    fn needs_state(&mut self, plan: &RulePlan, rc: &RuleChecks, event: &Event) -> bool {
        plan.rule.measures.iter().enumerate().any(|(m, measure)| {
            matches!(measure.kind, MeasureKind::Ratio { .. }) || self.measure(rc, m, event)
        })
    }
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
        let by_type = EventType::ALL
            .iter()
            .map(|ty| TypeChecks::compile(*ty, plans.iter().map(|p| &p.rule)))
            .collect();
        ScenarioDetector {
            name: format!("threshold/{group_by}"),
            group_by,
            plans,
            entities: Entities::default(),
            spilled: Spilled::default(),
            by_type,
            memo: Memo::default(),
            matched: Vec::new(),
            fresh: Vec::new(),
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
        let Self {
            plans,
            spilled,
            entities,
            ..
        } = self;
        let (mut freed, mut removed) = (0usize, 0u64);
        entities.retain(|_, e| {
            if now <= e.check_ms {
                return true;
            }
            let (f, r) = e.sweep(plans, spilled, now);
            freed += f;
            removed += r;
            if e.words.is_empty() {
                freed += ENTITY_BYTES;
                return false;
            }
            true
        });
        self.hits.expired += removed;
        self.bytes = self.bytes.saturating_sub(freed);
    }

    /// Feeds the event to the `matched` rules (positions in the type's list) of the entity keyed
    /// `key`; returns the positions of the rules that wanted a new state but found a limit
    /// reached.
    fn feed(
        &mut self,
        key: u64,
        f: &Feed<'_>,
        ti: usize,
        matched: &[u16],
        out: &mut Vec<Alert>,
    ) -> Vec<u16> {
        let mut refused = Vec::new();
        let Self {
            plans,
            entities,
            spilled,
            by_type,
            memo,
            fresh,
            limits,
            hits,
            bytes,
            ..
        } = self;
        let checks = &by_type[ti];
        let mut checked = Checked { checks, memo };
        let entity = match entities.get_mut(&key) {
            Some(entity) => entity,
            None => {
                if !matched.iter().any(|k| {
                    let rc = &checks.rules[usize::from(*k)];
                    checked.needs_state(&plans[usize::from(rc.rule)], rc, f.event)
                }) {
                    return refused;
                }
                *bytes += ENTITY_BYTES;
                entities.entry(key).or_insert(Entity {
                    check_ms: i64::MAX,
                    words: Box::default(),
                })
            }
        };
        // New states first, all in one reallocation of the entity's block.
        fresh.clear();
        for &k in matched {
            let rc = &checks.rules[usize::from(k)];
            if entity.find(plans, rc.rule).is_some() {
                continue;
            }
            let plan = &mut plans[usize::from(rc.rule)];
            if !checked.needs_state(plan, rc, f.event) {
                continue;
            }
            if plan.held >= limits.max_entities || *bytes >= limits.max_state_bytes {
                refused.push(k);
                continue;
            }
            plan.held += 1;
            *bytes += plan.layout.words * 4;
            entity.check_ms = entity.check_ms.min(f.time_ms.saturating_add(plan.keep_ms));
            fresh.push(rc.rule);
        }
        if !fresh.is_empty() {
            entity.push(plans, fresh, f.time_ms);
        }
        for &k in matched {
            let rc = &checks.rules[usize::from(k)];
            let Some(at) = entity.find(plans, rc.rule) else {
                continue;
            };
            let plan = &plans[usize::from(rc.rule)];
            let state = &mut entity.words[at..at + plan.layout.words];
            let may_grow = *bytes < limits.max_state_bytes;
            let mut rule = RuleFeed {
                plan,
                rc,
                state,
                spilled: &mut *spilled,
                hits: &mut *hits,
            };
            *bytes += rule.feed(&mut checked, f, may_grow, out);
        }
        if entity.words.is_empty() {
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

/// One rule's state of an entity, about to be fed one event.
struct RuleFeed<'a> {
    plan: &'a RulePlan,
    rc: &'a RuleChecks,
    state: &'a mut [u32],
    spilled: &'a mut Spilled,
    hits: &'a mut LimitHits,
}

/// The counter rings of a state (its own first), as lanes.
#[inline]
fn rings(state: &mut [u32], lanes: usize) -> &mut [Lane] {
    state[TOTAL..TOTAL + (1 + lanes) * SLOTS].as_chunks_mut().0
}

/// Ring `i` of a state.
#[inline]
fn lane(state: &[u32], i: usize) -> &Lane {
    state[Layout::ring(i)..]
        .first_chunk::<SLOTS>()
        .unwrap_or(&[0; SLOTS])
}

impl RuleFeed<'_> {
    /// Feeds the event, raising the rule's alert if every measure passes; returns the bytes the
    /// state grew by.
    fn feed(
        &mut self,
        checked: &mut Checked<'_>,
        f: &Feed<'_>,
        may_grow: bool,
        out: &mut Vec<Alert>,
    ) -> usize {
        let plan: &RulePlan = self.plan;
        let rc: &RuleChecks = self.rc;
        let RulePlan {
            rule,
            layout,
            window_ms,
            slot_ms,
            ..
        } = plan;
        let (event, time_ms) = (f.event, f.time_ms);
        let slot = time_ms.div_euclid(*slot_ms);
        // The newest slot is the newest event's: an older event never moves it.
        let newest = Header::last_ms(self.state).div_euclid(*slot_ms);
        if slot > newest {
            ring::advance(rings(self.state, layout.lanes), newest, slot);
        } else if !in_ring(newest, slot) {
            self.hits.too_late += 1;
            return 0;
        }
        let newest = newest.max(slot);
        Header::advance_to(self.state, time_ms);
        Header::count_event(self.state);
        ring::add(&mut rings(self.state, 0)[0], slot, 1);
        let mut grew = 0usize;
        for (m, measure) in rule.measures.iter().enumerate() {
            if !checked.measure(rc, m, event) {
                continue;
            }
            match (&measure.kind, layout.places[m]) {
                (_, Place::Lane(i)) => ring::add(&mut rings(self.state, layout.lanes)[i], slot, 1),
                (MeasureKind::NewValue { .. }, Place::NewValue { lane, known }) => {
                    if let Some(v) = rc.fields[m].and_then(|field| field.read(event)) {
                        let at = layout.known[known];
                        let mut set = Known::load(&self.state[at..]);
                        if set.insert(v.hash64()) {
                            set.store(&mut self.state[at..]);
                            ring::add(&mut rings(self.state, layout.lanes)[lane], slot, 1);
                        }
                    }
                }
                (MeasureKind::Distinct { exact_limit, .. }, Place::Distinct(i)) => {
                    if let Some(v) = rc.fields[m].and_then(|field| field.read(event)) {
                        let at = layout.distinct[i];
                        grew += self.observe(at, v.hash64(), slot, newest, *exact_limit, may_grow);
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
                        Some(_) => match rc.fields[m].and_then(|field| field.read(event)) {
                            Some(Value::Num(n)) if n.is_finite() => n,
                            _ => continue,
                        },
                        None => 1.0,
                    };
                    let at = layout.buckets[i];
                    let mut bucket = crate::measure::bucket::Bucket::load(&self.state[at..]);
                    bucket.pour(time_ms, w, *leak_per_second);
                    bucket.store(&mut self.state[at..]);
                }
                _ => {}
            }
        }
        if i64::from(Header::quiet_ms(self.state)) < *window_ms {
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
                *value = self.measure_value(m, newest);
                pass = rule.measures[m].test.passes(*value);
            }
        }
        if pass {
            let since = Header::alerted(self.state);
            out.push(rule_alert(
                rule,
                lane(self.state, 0),
                since,
                &values[..n],
                f,
            ));
        }
        grew
    }

    /// Records a value in the distinct count at word `at`; returns the bytes it grew by.
    fn observe(
        &mut self,
        at: usize,
        hash: u64,
        slot: i64,
        newest: i64,
        exact_limit: u32,
        may_grow: bool,
    ) -> usize {
        let w = &mut self.state[at..at + distinct::WORDS];
        let (i, before) = match distinct::spilled(w) {
            Some(i) => (i, Spilled::bytes_of(self.spilled.get(i))),
            None => match distinct::observe_inline(w, hash, slot, newest, exact_limit) {
                None => return 0,
                Some(list) => {
                    w[0] = self.spilled.add(list);
                    (distinct::spilled(w).unwrap_or_default(), 0)
                }
            },
        };
        let d = self.spilled.get_mut(i);
        if d.observe(hash, slot, newest, exact_limit, may_grow) == Growth::Refused {
            self.hits.refused_sketches += 1;
        }
        Spilled::bytes_of(d).saturating_sub(before)
    }

    /// A measure's current value for the test (for buckets, the level).
    fn measure_value(&self, m: usize, newest: i64) -> f64 {
        let (rule, layout, state) = (&self.plan.rule, &self.plan.layout, &*self.state);
        match (&rule.measures[m].kind, layout.places[m]) {
            (MeasureKind::Count, Place::Total) => ring::total(lane(state, 0)) as f64,
            (MeasureKind::Count, Place::Lane(i))
            | (MeasureKind::NewValue { .. }, Place::NewValue { lane: i, .. }) => {
                ring::total(lane(state, i)) as f64
            }
            (MeasureKind::Ratio { min_events }, Place::Lane(i)) => {
                let total = ring::total(lane(state, 0));
                if total < u64::from(*min_events) {
                    f64::NAN
                } else {
                    ring::total(lane(state, i)) as f64 / total as f64
                }
            }
            (MeasureKind::Distinct { .. }, Place::Distinct(i)) => {
                let w = &state[layout.distinct[i]..];
                match distinct::spilled(w) {
                    Some(s) => self.spilled.get(s).count(newest),
                    None => distinct::count_inline(w, newest),
                }
            }
            (MeasureKind::Bucket { .. }, Place::Bucket(i)) => {
                crate::measure::bucket::Bucket::load(&state[layout.buckets[i]..]).level
            }
            _ => f64::NAN,
        }
    }
}

/// The alert of a rule whose measures all passed, with their values as evidence.
fn rule_alert(rule: &Rule, total: &Lane, since: u32, values: &[f64], f: &Feed<'_>) -> Alert {
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
        "events_in_window": ring::total(total),
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
        !self.by_type[type_index(event_type)].rules.is_empty()
    }

    fn on_event(&mut self, event: &Event, out: &mut Vec<Alert>) {
        let ti = type_index(event.event_type());
        let checks = &self.by_type[ti];
        if checks.rules.is_empty() {
            return;
        }
        let Some(entity) = event.entity(self.group_by) else {
            return;
        };
        let mut matched = std::mem::take(&mut self.matched);
        matched.clear();
        checks.start(&mut self.memo);
        for (k, rc) in checks.rules.iter().enumerate() {
            if checks.all(&rc.when, event, &mut self.memo) {
                // At most `u16::MAX` rules per detector.
                matched.push(k as u16);
            }
        }
        if !matched.is_empty() {
            self.on_matched(event, entity, ti, &matched, out);
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
        ti: usize,
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
        let mut refused = self.feed(key, &f, ti, matched, out);
        // Sweeping is linear in the table: when full, at most once a second of event time.
        if !refused.is_empty() && self.latest_ms >= self.next_full_sweep_ms {
            self.sweep();
            self.next_full_sweep_ms = self.latest_ms.saturating_add(1000);
            refused = self.feed(key, &f, ti, &refused, out);
        }
        for k in refused {
            self.hits.refused_entities += 1;
            let ri = self.by_type[ti].rules[usize::from(k)].rule;
            let id = self.plans[usize::from(ri)].rule.id.clone();
            self.limit_alert(&f, &id, out);
        }
    }
}
