//! What a rule keeps about one entity, and the table of those states with its bounds.

use crate::hash::HashedMap;
use crate::measure::bucket::Bucket;
use crate::measure::distinct::Distinct;
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
}

/// One rule's state for one entity.
#[derive(Debug)]
pub(crate) struct EntityState {
    /// Newest ring slot seen.
    pub newest_slot: i64,
    /// Newest event time seen, in ms.
    pub last_ms: i64,
    /// Event time of the last alert, in ms (`i64::MIN` before the first).
    pub last_alert_ms: i64,
    /// Events since the last alert.
    pub since_alert: u32,
    /// Every event of the rule, per slot.
    pub total: Lane,
    /// Counter lanes of `count`-with-`where` and `ratio` measures.
    pub lanes: Box<[Lane]>,
    /// Distinct counts.
    pub distinct: Box<[Distinct]>,
    /// Leaky buckets.
    pub buckets: Box<[Bucket]>,
}

impl EntityState {
    /// A fresh state for a rule laid out as `layout` says.
    pub(crate) fn new(layout: &Layout, slot: i64, time_ms: i64) -> Self {
        EntityState {
            newest_slot: slot,
            last_ms: time_ms,
            last_alert_ms: i64::MIN,
            since_alert: 0,
            total: [0; SLOTS],
            lanes: vec![[0; SLOTS]; layout.lanes].into_boxed_slice(),
            distinct: (0..layout.distinct).map(|_| Distinct::default()).collect(),
            buckets: vec![Bucket::default(); layout.buckets].into_boxed_slice(),
        }
    }

    /// Estimated bytes, table overhead included, for the memory ceiling.
    pub(crate) fn bytes(&self) -> usize {
        ENTRY_BYTES
            + self.lanes.len() * std::mem::size_of::<Lane>()
            + self.buckets.len() * std::mem::size_of::<Bucket>()
            + self
                .distinct
                .iter()
                .map(|d| std::mem::size_of::<Distinct>() + d.heap_bytes())
                .sum::<usize>()
    }
}

/// A table entry: key, state and the hash table's control byte, at its maximum load of 7/8.
pub(crate) const ENTRY_BYTES: usize = (8 + std::mem::size_of::<EntityState>() + 1) * 8 / 7;

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
            };
            l.places.push(place);
        }
        l
    }
}

/// One rule with its entity table.
pub(crate) struct RuleTable {
    pub rule: Rule,
    pub layout: Layout,
    pub window_ms: i64,
    pub slot_ms: i64,
    pub states: HashedMap<EntityState>,
}

impl RuleTable {
    pub(crate) fn new(rule: Rule) -> Self {
        let window_ms = i64::from(rule.window_seconds) * 1000;
        RuleTable {
            layout: Layout::of(&rule),
            slot_ms: crate::measure::ring::slot_ms(window_ms),
            window_ms,
            rule,
            states: HashedMap::default(),
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

    /// Whether a state can be forgotten at `now_ms`: its ring has emptied and its buckets drained.
    pub(crate) fn expired(&self, state: &EntityState, now_ms: i64) -> bool {
        let idle = now_ms.saturating_sub(state.last_ms);
        if idle <= self.window_ms + self.slot_ms {
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

    /// Removes expired states; returns (removed, bytes still held).
    pub(crate) fn sweep(&mut self, now_ms: i64) -> (u64, usize) {
        let before = self.states.len();
        let expired: Vec<u64> = self
            .states
            .iter()
            .filter(|(_, s)| self.expired(s, now_ms))
            .map(|(k, _)| *k)
            .collect();
        for k in expired {
            self.states.remove(&k);
        }
        let bytes = self.states.values().map(EntityState::bytes).sum();
        ((before - self.states.len()) as u64, bytes)
    }
}
