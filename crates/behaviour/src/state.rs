//! What the rules keep about one entity: every rule's state for the entity packed in one block of
//! 32-bit words, in one entry of one table (one lookup per event, not one per rule).
//!
//! A rule's state is a header (rule index, last event time, time since the last alert, events
//! since the last alert), its counter rings, buckets, known-value sets and distinct counts, each
//! at a fixed offset given by the rule's [`Layout`]. States of one entity follow each other in
//! the order they were created; a state's length is its rule's, so walking them needs no sizes
//! stored. Packing saves the padding, tags and pointers of a struct per measure kind (a state is
//! as large as its measures, no more), and keeps an entity in one or two cache lines. A distinct
//! count that outgrows its inline values moves to a [`Distinct`] of its own in the detector's
//! [`Spilled`] list.

use crate::hash::HashedMap;
use crate::measure::bucket::Bucket;
use crate::measure::distinct::{self, Distinct};
use crate::measure::known::Known;
use crate::measure::ring::SLOTS;
use crate::rules::{MeasureKind, Rule};

/// Header words: rule index, last event time (two words), quiet time, events since the alert.
pub(crate) const HEADER: usize = 5;
const RULE: usize = 0;
const LAST: usize = 1;
const QUIET: usize = 3;
const SINCE: usize = 4;
/// `QUIET` of a state that never alerted.
pub(crate) const NEVER: u32 = u32::MAX;

/// Reads two words as a little-endian `u64`.
#[inline]
pub(crate) fn get_u64(w: &[u32], at: usize) -> u64 {
    u64::from(w[at]) | u64::from(w[at + 1]) << 32
}

/// Writes a `u64` as two little-endian words.
#[inline]
pub(crate) fn set_u64(w: &mut [u32], at: usize, v: u64) {
    w[at] = v as u32;
    w[at + 1] = (v >> 32) as u32;
}

/// Where a measure's state lives inside a rule's state, in words from its start.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Place {
    /// The rule's event count (a `count` without its own `where`).
    Total,
    /// A counter ring.
    Lane(usize),
    /// A distinct count.
    Distinct(usize),
    /// A bucket.
    Bucket(usize),
    /// A counter ring of events with a new value, and the set of known values.
    NewValue {
        /// The ring.
        lane: usize,
        /// The known set.
        known: usize,
    },
}

/// How a rule's measures map onto its state's words.
#[derive(Debug, Clone, Default)]
pub(crate) struct Layout {
    /// Place of each measure, in rule order.
    pub places: Vec<Place>,
    /// Counter rings after the rule's own (`total`).
    pub lanes: usize,
    /// Offsets of the buckets, in measure order.
    pub buckets: Vec<usize>,
    /// Offsets of the known-value sets.
    pub known: Vec<usize>,
    /// Offsets of the distinct counts.
    pub distinct: Vec<usize>,
    /// Words of the whole state.
    pub words: usize,
}

/// Offset of the rule's own ring (every event of the rule, per slot).
pub(crate) const TOTAL: usize = HEADER;

impl Layout {
    pub(crate) fn of(rule: &Rule) -> Layout {
        let mut l = Layout::default();
        let (mut buckets, mut known, mut distinct) = (0, 0, 0);
        for m in &rule.measures {
            let place = match &m.kind {
                MeasureKind::Count if m.conditions.is_empty() => Place::Total,
                MeasureKind::Count | MeasureKind::Ratio { .. } => {
                    l.lanes += 1;
                    Place::Lane(l.lanes)
                }
                MeasureKind::Distinct { .. } => {
                    distinct += 1;
                    Place::Distinct(distinct - 1)
                }
                MeasureKind::Bucket { .. } => {
                    buckets += 1;
                    Place::Bucket(buckets - 1)
                }
                MeasureKind::NewValue { .. } => {
                    l.lanes += 1;
                    known += 1;
                    Place::NewValue {
                        lane: l.lanes,
                        known: known - 1,
                    }
                }
            };
            l.places.push(place);
        }
        let mut at = TOTAL + (1 + l.lanes) * SLOTS;
        let mut take = |n: usize, size: usize| {
            let offsets: Vec<usize> = (0..n).map(|i| at + i * size).collect();
            at += n * size;
            offsets
        };
        l.buckets = take(buckets, Bucket::WORDS);
        l.known = take(known, Known::WORDS);
        l.distinct = take(distinct, distinct::WORDS);
        l.words = at;
        l
    }

    /// Offset of ring `lane` (0 is the rule's own).
    #[inline]
    pub(crate) fn ring(lane: usize) -> usize {
        TOTAL + lane * SLOTS
    }

    /// Words of a fresh state of this layout for rule `rule`, first fed at `time_ms`.
    pub(crate) fn fresh(&self, rule: u16, time_ms: i64) -> impl Iterator<Item = u32> + use<> {
        let mut head = [0u32; HEADER];
        head[RULE] = u32::from(rule);
        set_u64(&mut head, LAST, time_ms as u64);
        head[QUIET] = NEVER;
        head.into_iter()
            .chain(std::iter::repeat_n(0, self.words - HEADER))
    }
}

/// Reads and writes a rule state's header.
pub(crate) struct Header;

impl Header {
    /// The rule a state at the start of `w` belongs to.
    #[inline]
    pub(crate) fn rule(w: &[u32]) -> u16 {
        w[RULE] as u16
    }
    /// Newest event time seen, in ms.
    #[inline]
    pub(crate) fn last_ms(w: &[u32]) -> i64 {
        get_u64(w, LAST) as i64
    }
    /// Sets the newest event time, in ms, and ages the quiet time by as much.
    #[inline]
    pub(crate) fn advance_to(w: &mut [u32], time_ms: i64) {
        let last = Header::last_ms(w);
        if time_ms > last {
            let gap = u32::try_from(time_ms.saturating_sub(last)).unwrap_or(u32::MAX);
            w[QUIET] = w[QUIET].saturating_add(gap);
            set_u64(w, LAST, time_ms as u64);
        }
    }
    /// Event time from the last alert to the newest event, in ms; [`NEVER`] (or anything above
    /// the longest window) before the first alert.
    #[inline]
    pub(crate) fn quiet_ms(w: &[u32]) -> u32 {
        w[QUIET]
    }
    /// Records an alert at the newest event; returns the events since the previous one.
    #[inline]
    pub(crate) fn alerted(w: &mut [u32]) -> u32 {
        w[QUIET] = 0;
        std::mem::take(&mut w[SINCE])
    }
    /// Counts one more event since the last alert.
    #[inline]
    pub(crate) fn count_event(w: &mut [u32]) {
        w[SINCE] = w[SINCE].saturating_add(1);
    }
}

/// Distinct counts that outgrew their inline values, by index (freed slots are reused).
#[derive(Debug, Default)]
pub(crate) struct Spilled {
    counts: Vec<Distinct>,
    free: Vec<u32>,
}

impl Spilled {
    /// Keeps a count; returns its tag word for the state.
    pub(crate) fn add(&mut self, d: Distinct) -> u32 {
        let i = match self.free.pop() {
            Some(i) => {
                self.counts[i as usize] = d;
                i
            }
            None => {
                self.counts.push(d);
                (self.counts.len() - 1) as u32
            }
        };
        distinct::SPILLED | i
    }

    /// The count at `i`.
    #[inline]
    pub(crate) fn get(&self, i: usize) -> &Distinct {
        &self.counts[i]
    }

    /// The count at `i`, mutably.
    #[inline]
    pub(crate) fn get_mut(&mut self, i: usize) -> &mut Distinct {
        &mut self.counts[i]
    }

    /// Bytes a kept count holds, for the memory ceiling.
    pub(crate) fn bytes_of(d: &Distinct) -> usize {
        std::mem::size_of::<Distinct>() + d.heap_bytes()
    }

    /// Frees the count at `i`; returns the bytes it held.
    fn free(&mut self, i: usize) -> usize {
        let bytes = Spilled::bytes_of(&self.counts[i]);
        self.counts[i] = Distinct::default();
        self.free.push(i as u32);
        bytes
    }
}

/// Every rule's state for one entity.
#[derive(Debug, Default)]
pub(crate) struct Entity {
    /// No state can expire before this event time (a lower bound kept in the table entry, so
    /// that a sweep skips live entities without reading their states).
    pub check_ms: i64,
    /// The states, back to back.
    pub words: Box<[u32]>,
}

impl Entity {
    /// The offset of rule `rule`'s state, if the entity has one.
    #[inline]
    pub(crate) fn find(&self, plans: &[RulePlan], rule: u16) -> Option<usize> {
        let mut at = 0;
        while at < self.words.len() {
            let r = Header::rule(&self.words[at..]);
            if r == rule {
                return Some(at);
            }
            at += plans[usize::from(r)].layout.words;
        }
        None
    }

    /// Appends fresh states for `rules`, first fed at `time_ms`.
    pub(crate) fn push(&mut self, plans: &[RulePlan], rules: &[u16], time_ms: i64) {
        let mut words = std::mem::take(&mut self.words).into_vec();
        let layouts = || rules.iter().map(|r| &plans[usize::from(*r)].layout);
        words.reserve_exact(layouts().map(|l| l.words).sum());
        for (rule, layout) in rules.iter().zip(layouts()) {
            words.extend(layout.fresh(*rule, time_ms));
        }
        self.words = words.into_boxed_slice();
    }

    /// Drops the states expired at `now`, returning (bytes freed, states removed); updates
    /// `check_ms` from the states left.
    pub(crate) fn sweep(
        &mut self,
        plans: &mut [RulePlan],
        spilled: &mut Spilled,
        now: i64,
    ) -> (usize, u64) {
        let (mut freed, mut removed) = (0usize, 0u64);
        let mut check = i64::MAX;
        // Expired states are found in place; the block is rebuilt only when some, not all, go.
        let mut kept: Option<Vec<u32>> = None;
        let mut at = 0;
        while at < self.words.len() {
            let plan = &mut plans[usize::from(Header::rule(&self.words[at..]))];
            let (start, end) = (at, at + plan.layout.words);
            let state = &self.words[start..end];
            at = end;
            if plan.expired(state, now) {
                plan.held -= 1;
                freed += plan.layout.words * 4;
                for &d in &plan.layout.distinct {
                    if let Some(i) = distinct::spilled(&state[d..]) {
                        freed += spilled.free(i);
                    }
                }
                if removed == 0 {
                    kept = Some(self.words[..start].to_vec());
                }
                removed += 1;
            } else {
                if let Some(kept) = &mut kept {
                    kept.extend_from_slice(state);
                }
                check = check.min(plan.expiry(state));
            }
        }
        if let Some(kept) = kept {
            self.words = kept.into_boxed_slice();
        }
        // A bucket still draining keeps its state: look again at the next sweep.
        self.check_ms = check.max(now);
        (freed, removed)
    }
}

/// The entities of one detector, by hashed key.
pub(crate) type Entities = HashedMap<Entity>;

/// A table entry (key, entity, control byte) at the table's maximum load of 7/8, plus the
/// allocator's header of the states' block.
pub(crate) const ENTITY_BYTES: usize = (8 + std::mem::size_of::<Entity>() + 1) * 8 / 7 + 16;

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

    /// The earliest event time at which a state may be forgotten.
    pub(crate) fn expiry(&self, state: &[u32]) -> i64 {
        Header::last_ms(state).saturating_add(self.keep_ms)
    }

    /// Whether a state can be forgotten at `now_ms`: its ring has emptied and its buckets drained.
    pub(crate) fn expired(&self, state: &[u32], now_ms: i64) -> bool {
        let idle = now_ms.saturating_sub(Header::last_ms(state));
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
                    let b = Bucket::load(&state[self.layout.buckets[*i]..]);
                    *leak_per_second > 0.0
                        && b.level
                            <= leak_per_second * now_ms.saturating_sub(b.last_ms) as f64 / 1000.0
                }
                _ => true,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RuleSet;

    fn plan(when: &str) -> RulePlan {
        let yaml = format!(
            "rules:\n  - {{ id: r, title: t, event: auth, group_by: ip, window_seconds: 60, severity: low, when: [{when}] }}\n"
        );
        let set = RuleSet::from_yaml("t.yaml", &yaml).expect("rule");
        RulePlan::new(set.rules[0].clone())
    }

    #[test]
    fn layouts_take_the_words_of_their_measures_only() {
        let count = plan("{ measure: count, at_least: 2 }");
        assert_eq!(count.layout.words, HEADER + SLOTS);
        let mixed = plan(
            "{ measure: distinct, field: account, at_least: 2 }, { measure: ratio, where: { outcome: failure }, at_least: 0.5 }, { measure: bucket, capacity: 3, leak_per_second: 1 }, { measure: new_value, field: device, at_least: 1 }",
        );
        assert_eq!(
            mixed.layout.words,
            HEADER + 3 * SLOTS + Bucket::WORDS + Known::WORDS + distinct::WORDS
        );
        // No two measures share a word.
        let mut starts = vec![Layout::ring(1), Layout::ring(2)];
        starts.extend(&mixed.layout.buckets);
        starts.extend(&mixed.layout.known);
        starts.extend(&mixed.layout.distinct);
        assert!(starts.windows(2).all(|p| p[0] < p[1]), "{starts:?}");
    }

    #[test]
    fn times_survive_the_word_split_and_quiet_time_saturates() {
        let p = plan("{ measure: count, at_least: 2 }");
        let mut e = Entity::default();
        let t = -1_234_567_890_123i64;
        e.push(std::slice::from_ref(&p), &[0], t);
        let w = &mut e.words[..];
        assert_eq!((Header::rule(w), Header::last_ms(w)), (0, t));
        assert_eq!(Header::quiet_ms(w), NEVER, "never alerted");
        Header::advance_to(w, t + 5);
        assert_eq!(Header::quiet_ms(w), NEVER, "saturates, never wraps");
        Header::alerted(w);
        Header::advance_to(w, t + 1000);
        Header::advance_to(w, t + 10);
        assert_eq!(Header::quiet_ms(w), 995, "an older event changes nothing");
        Header::advance_to(w, t + 1000 + (1i64 << 40));
        assert_eq!(
            Header::quiet_ms(w),
            u32::MAX,
            "a gap past 32 bits saturates"
        );
        assert_eq!(Header::last_ms(w), t + 1000 + (1i64 << 40));
    }

    #[test]
    fn buckets_round_trip_through_words() {
        let b = Bucket {
            level: 1234.5678,
            last_ms: -42,
        };
        let mut w = [0u32; Bucket::WORDS];
        b.store(&mut w);
        let back = Bucket::load(&w);
        assert_eq!((back.level, back.last_ms), (b.level, b.last_ms));
    }

    #[test]
    fn entities_find_each_rules_state_and_sweep_keeps_the_live_ones() {
        let mut plans = vec![
            plan("{ measure: count, at_least: 2 }"),
            plan("{ measure: distinct, field: account, at_least: 2 }"),
        ];
        let mut e = Entity::default();
        e.push(&plans, &[1], 0);
        e.push(&plans, &[0], 50_000);
        plans[0].held = 1;
        plans[1].held = 1;
        let a = plans[1].layout.words;
        assert_eq!((e.find(&plans, 1), e.find(&plans, 0)), (Some(0), Some(a)));
        let mut spilled = Spilled::default();
        // Rule 1 (window 60 s, slot 8 572 ms) idle past its keep time; rule 0 not yet.
        let (freed, removed) = e.sweep(&mut plans, &mut spilled, 70_000);
        assert_eq!((freed, removed), (plans[1].layout.words * 4, 1));
        assert_eq!((e.find(&plans, 0), e.find(&plans, 1)), (Some(0), None));
        assert_eq!(e.check_ms, plans[0].expiry(&e.words));
        assert_eq!((plans[0].held, plans[1].held), (1, 0));
    }

    #[test]
    fn a_sweep_removing_a_middle_state_keeps_the_others_intact() {
        let mut plans = vec![
            plan("{ measure: count, at_least: 2 }"),
            plan("{ measure: bucket, capacity: 3, leak_per_second: 1 }"),
            plan("{ measure: distinct, field: account, at_least: 2 }"),
        ];
        let mut e = Entity::default();
        e.push(&plans, &[0], 50_000);
        e.push(&plans, &[1], 0);
        e.push(&plans, &[2], 50_000);
        for p in &mut plans {
            p.held = 1;
        }
        // Mark the survivors' words so that a shifted copy would show.
        let (a, c) = (0, plans[0].layout.words + plans[1].layout.words);
        e.words[a + TOTAL] = 11;
        e.words[c + TOTAL] = 33;
        let mut spilled = Spilled::default();
        let (_, removed) = e.sweep(&mut plans, &mut spilled, 70_000);
        assert_eq!(removed, 1, "only the bucket, drained, goes");
        assert_eq!(e.words.len(), plans[0].layout.words + plans[2].layout.words);
        assert_eq!(e.find(&plans, 1), None);
        let c = e.find(&plans, 2).unwrap_or(usize::MAX);
        assert_eq!((e.words[TOTAL], e.words[c + TOTAL]), (11, 33));
    }
}
