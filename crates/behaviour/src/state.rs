//! What a rule keeps about one entity, and the one table of entities that holds every rule's
//! state for an entity together (one lookup per event, not one per rule).

use crate::few::Few;
use crate::hash::HashedMap;
use crate::measure::bucket::Bucket;
use crate::measure::distinct::Distinct;
use crate::measure::known::Known;
use crate::measure::ring::{Lane, SLOTS};
use crate::rules::{MeasureKind, Rule};

/// Where a measure's state lives inside [`EntityState`].
#[derive(Debug, Clone, Copy)]
pub(crate) enum Place {
    /// The rule's event count (a `count` without its own `where`).
    Total,
    /// A counter lane.
    Lane(usize),
    /// A distinct count.
    Distinct(usize),
    /// A bucket.
    Bucket(usize),
    /// A counter lane of events with a new value, and the set of known values.
    NewValue {
        /// The lane.
        lane: usize,
        /// The known set.
        known: usize,
    },
}

/// One rule's state for one entity.
#[derive(Debug)]
pub(crate) struct EntityState {
    /// The rule's index in the detector.
    pub rule: u16,
    /// Newest ring slot seen.
    pub newest_slot: i64,
    /// Newest event time seen, in ms.
    pub last_ms: i64,
    /// Event time of the last alert, in ms (`i64::MIN` before the first).
    pub last_alert_ms: i64,
    /// Events since the last alert.
    pub since_alert: u32,
    /// Bytes counted against the memory ceiling for this state (added as it grows, subtracted
    /// when it goes).
    pub bytes: u32,
    /// Every event of the rule, per slot.
    pub total: Lane,
    /// Counter lanes of `count`-with-`where` and `ratio` measures.
    pub lanes: Few<Lane>,
    /// Distinct counts.
    pub distinct: Few<Distinct>,
    /// Leaky buckets.
    pub buckets: Few<Bucket>,
    /// Known values of `new_value` measures (few rules have one: a boxed slice costs the others
    /// 16 bytes and no allocation).
    pub known: Box<[Known]>,
}

impl EntityState {
    /// A fresh state for rule `rule`, laid out as `layout` says.
    pub(crate) fn new(rule: u16, layout: &Layout, slot: i64, time_ms: i64) -> Self {
        let mut state = EntityState {
            rule,
            bytes: 0,
            newest_slot: slot,
            last_ms: time_ms,
            last_alert_ms: i64::MIN,
            since_alert: 0,
            total: [0; SLOTS],
            lanes: Few::from_fn(layout.lanes, || [0; SLOTS]),
            distinct: Few::from_fn(layout.distinct, Distinct::default),
            buckets: Few::from_fn(layout.buckets, Bucket::default),
            known: vec![Known::default(); layout.known].into_boxed_slice(),
        };
        state.bytes = state.heap_and_inline_bytes() as u32;
        state
    }

    /// The state in its entity's list and what it holds on the heap.
    fn heap_and_inline_bytes(&self) -> usize {
        std::mem::size_of::<EntityState>()
            + self.lanes.heap_bytes()
            + self.buckets.heap_bytes()
            + self.distinct.heap_bytes()
            + std::mem::size_of_val::<[Known]>(&self.known)
            + self
                .distinct
                .iter()
                .map(Distinct::heap_bytes)
                .sum::<usize>()
    }
}

/// Every rule's state for one entity.
#[derive(Debug, Default)]
pub(crate) struct Entity {
    /// No state can expire before this event time (a lower bound kept in the table entry, so
    /// that a sweep skips live entities without reading their states).
    pub check_ms: i64,
    /// One per rule that holds state for the entity.
    pub states: Vec<EntityState>,
}

/// The entities of one detector, by hashed key.
pub(crate) type Entities = HashedMap<Entity>;

/// A table entry (key, list header, control byte) at the table's maximum load of 7/8, plus the
/// allocator's header of the list.
pub(crate) const ENTITY_BYTES: usize = (8 + std::mem::size_of::<Entity>() + 1) * 8 / 7 + 16;

/// How a rule's measures map onto state.
#[derive(Debug, Clone, Default)]
pub(crate) struct Layout {
    /// Place of each measure, in rule order.
    pub places: Vec<Place>,
    /// Counter lanes.
    pub lanes: usize,
    /// Distinct counts.
    pub distinct: usize,
    /// Buckets.
    pub buckets: usize,
    /// Known-value sets.
    pub known: usize,
}

impl Layout {
    pub(crate) fn of(rule: &Rule) -> Layout {
        let mut l = Layout::default();
        for m in &rule.measures {
            let place = match &m.kind {
                MeasureKind::Count if m.conditions.is_empty() => Place::Total,
                MeasureKind::Count | MeasureKind::Ratio { .. } => {
                    l.lanes += 1;
                    Place::Lane(l.lanes - 1)
                }
                MeasureKind::Distinct { .. } => {
                    l.distinct += 1;
                    Place::Distinct(l.distinct - 1)
                }
                MeasureKind::Bucket { .. } => {
                    l.buckets += 1;
                    Place::Bucket(l.buckets - 1)
                }
                MeasureKind::NewValue { .. } => {
                    l.lanes += 1;
                    l.known += 1;
                    Place::NewValue {
                        lane: l.lanes - 1,
                        known: l.known - 1,
                    }
                }
            };
            l.places.push(place);
        }
        l
    }
}

/// One rule as a detector runs it: its state layout, ring geometry and how many entities hold
/// state for it.
pub(crate) struct RulePlan {
    pub rule: Rule,
    pub layout: Layout,
    pub window_ms: i64,
    pub slot_ms: i64,
    /// Idle time after which a state may be forgotten: the window, or longer for known values.
    pub keep_ms: i64,
    /// Entities holding a state for this rule (bounded by `max_entities`).
    pub held: usize,
}

impl RulePlan {
    pub(crate) fn new(rule: Rule) -> Self {
        let window_ms = i64::from(rule.window_seconds) * 1000;
        let slot_ms = crate::measure::ring::slot_ms(window_ms);
        let keep_ms = rule
            .measures
            .iter()
            .filter_map(|m| match m.kind {
                MeasureKind::NewValue {
                    retention_seconds, ..
                } => Some(i64::from(retention_seconds) * 1000),
                _ => None,
            })
            .fold(window_ms + slot_ms, i64::max);
        RulePlan {
            layout: Layout::of(&rule),
            slot_ms,
            keep_ms,
            window_ms,
            rule,
            held: 0,
        }
    }

    /// Whether an event (already matching the rule's `where`) should create state for a new
    /// entity: only if it feeds a measure, or the rule has a ratio (whose denominator it is).
    pub(crate) fn needs_state(&self, event: &ensuresec_model::Event) -> bool {
        self.rule.measures.iter().any(|m| {
            matches!(m.kind, MeasureKind::Ratio { .. })
                || m.conditions.iter().all(|c| c.matches(event))
        })
    }

    /// The earliest event time at which `state` may be forgotten.
    pub(crate) fn expiry(&self, state: &EntityState) -> i64 {
        state.last_ms.saturating_add(self.keep_ms)
    }

    /// Whether a state can be forgotten at `now_ms`: its ring has emptied and its buckets drained.
    pub(crate) fn expired(&self, state: &EntityState, now_ms: i64) -> bool {
        let idle = now_ms.saturating_sub(state.last_ms);
        if idle <= self.keep_ms {
            return false;
        }
        self.rule
            .measures
            .iter()
            .zip(&self.layout.places)
            .all(|(m, place)| match (&m.kind, place) {
                (
                    MeasureKind::Bucket {
                        leak_per_second, ..
                    },
                    Place::Bucket(i),
                ) => {
                    let b = &state.buckets[*i];
                    *leak_per_second > 0.0
                        && b.level
                            <= leak_per_second * now_ms.saturating_sub(b.last_ms) as f64 / 1000.0
                }
                _ => true,
            })
    }
}
