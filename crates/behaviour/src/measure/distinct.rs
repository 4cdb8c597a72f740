//! Distinct counts over a sliding window: exact while small, a sliding HyperLogLog once large.
//!
//! The exact form keeps each value's 32-bit hash and the ring slot it was last seen in (8 bytes a
//! value, exact up to 32-bit hash collisions); a value leaves the count when its slot leaves the
//! ring. Past `exact_limit` values the state becomes a [`SlidingHll`] (4 KiB) if the memory
//! ceiling allows, or else stays exact and capped (the oldest values go first), which still
//! answers "at least the limit".

use crate::hash::mix;
use crate::measure::hll::SlidingHll;
use crate::measure::ring::SLOTS;

/// The state of one distinct count.
#[derive(Debug, Clone)]
pub enum Distinct {
    /// Value hashes and last-seen slots (both truncated to 32 bits).
    Exact(Vec<(u32, u32)>),
    /// A sliding sketch.
    Sketch(Box<SlidingHll>),
}

impl Default for Distinct {
    fn default() -> Self {
        Distinct::Exact(Vec::new())
    }
}

/// What an observation did to the memory the state holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Growth {
    /// Nothing changed in size.
    None,
    /// One exact value added (8 bytes).
    Value,
    /// Became a sketch.
    Sketch,
    /// Wanted to become a sketch but was refused; capped instead.
    Refused,
}

impl Distinct {
    /// Records a value's hash seen in `slot` (the entity's newest slot being `newest`) and says
    /// how the state grew; [`Distinct::count`] reads the count (not done here: a sketch's estimate
    /// costs a pass over its registers). `may_grow_sketch` says whether the memory ceiling allows
    /// a promotion.
    pub fn observe(
        &mut self,
        hash: u64,
        slot: i64,
        newest: i64,
        exact_limit: u32,
        may_grow_sketch: bool,
    ) -> Growth {
        let h32 = hash as u32;
        let values = match self {
            Distinct::Sketch(s) => {
                s.insert(mix(u64::from(h32)), slot, newest);
                return Growth::None;
            }
            Distinct::Exact(values) => values,
        };
        let mut growth = Growth::None;
        if let Some(v) = values.iter_mut().find(|(h, _)| *h == h32) {
            if (slot as u32).wrapping_sub(v.1) < 1 << 31 {
                v.1 = slot as u32;
            }
        } else {
            // Only a new value can grow the list: drop expired ones first.
            values.retain(|(_, s)| is_live(*s, newest));
            if values.len() >= exact_limit as usize {
                if may_grow_sketch {
                    let mut sketch = Box::new(SlidingHll::new());
                    for (h, s) in values.iter() {
                        let s = newest - i64::from((newest as u32).wrapping_sub(*s));
                        sketch.insert(mix(u64::from(*h)), s, newest);
                    }
                    sketch.insert(mix(u64::from(h32)), slot, newest);
                    *self = Distinct::Sketch(sketch);
                    return Growth::Sketch;
                }
                // Capped: drop the value seen longest ago.
                if let Some(oldest) =
                    (0..values.len()).max_by_key(|i| (newest as u32).wrapping_sub(values[*i].1))
                {
                    values.swap_remove(oldest);
                }
                growth = Growth::Refused;
            } else {
                growth = Growth::Value;
            }
            values.push((h32, slot as u32));
        }
        growth
    }

    /// The count in the window without adding anything.
    pub fn count(&self, newest: i64) -> f64 {
        match self {
            Distinct::Sketch(s) => s.estimate(newest),
            Distinct::Exact(values) => live(values, newest) as f64,
        }
    }

    /// Bytes held on the heap.
    pub fn heap_bytes(&self) -> usize {
        match self {
            Distinct::Sketch(_) => SlidingHll::BYTES,
            Distinct::Exact(values) => 8 * values.capacity(),
        }
    }
}

/// Values a distinct count keeps in its entity's state before it needs a [`Distinct`] of its own:
/// most entities show one or two values (one account per address), and a separate list would
/// cost a pointer, a length, a capacity and an allocation for them.
pub(crate) const INLINE: usize = 2;
/// Words of a distinct count in an entity's state: a tag (the number of inline values, or
/// [`SPILLED`] and the index of its [`Distinct`]), then `INLINE` (hash, slot) pairs.
pub(crate) const WORDS: usize = 1 + 2 * INLINE;
/// Tag bit of a count that has moved to a [`Distinct`] of its own.
pub(crate) const SPILLED: u32 = 1 << 31;

/// The index of the [`Distinct`] a count moved to, if it did.
#[inline]
pub(crate) fn spilled(w: &[u32]) -> Option<usize> {
    (w[0] & SPILLED != 0).then_some((w[0] & !SPILLED) as usize)
}

/// Records a value in a count still held inline, exactly as [`Distinct::observe`] would; when it
/// no longer fits, returns the values as a [`Distinct`] (in the same order) for the caller to
/// keep and record the value in.
pub(crate) fn observe_inline(
    w: &mut [u32],
    hash: u64,
    slot: i64,
    newest: i64,
    exact_limit: u32,
) -> Option<Distinct> {
    let h32 = hash as u32;
    let len = w[0] as usize;
    if let Some(i) = (0..len).find(|i| w[1 + 2 * i] == h32) {
        if (slot as u32).wrapping_sub(w[2 + 2 * i]) < 1 << 31 {
            w[2 + 2 * i] = slot as u32;
        }
        return None;
    }
    let mut kept = 0;
    for i in 0..len {
        if is_live(w[2 + 2 * i], newest) {
            w[1 + 2 * kept] = w[1 + 2 * i];
            w[2 + 2 * kept] = w[2 + 2 * i];
            kept += 1;
        }
    }
    w[0] = kept as u32;
    if kept < INLINE.min(exact_limit as usize) {
        w[1 + 2 * kept] = h32;
        w[2 + 2 * kept] = slot as u32;
        w[0] += 1;
        return None;
    }
    Some(Distinct::Exact(
        (0..kept).map(|i| (w[1 + 2 * i], w[2 + 2 * i])).collect(),
    ))
}

/// The count in the window of a count held inline.
#[inline]
pub(crate) fn count_inline(w: &[u32], newest: i64) -> f64 {
    (0..w[0] as usize)
        .filter(|i| is_live(w[2 + 2 * i], newest))
        .count() as f64
}

/// Whether a value last seen in (truncated) slot `s` is still in the ring. Values from "the
/// future" (out of order within the ring) have a huge wrapped age and count as live.
fn is_live(s: u32, newest: i64) -> bool {
    let age = (newest as u32).wrapping_sub(s);
    age < SLOTS as u32 || age >= 1 << 31
}

fn live(values: &[(u32, u32)], newest: i64) -> usize {
    values.iter().filter(|(_, s)| is_live(*s, newest)).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The inline form and the list agree value by value, across the spill.
    #[test]
    fn inline_counts_agree_with_the_list_and_spill_in_order() {
        for limit in [1u32, 2, 3, 128] {
            let mut w = [0u32; WORDS];
            let mut list = Distinct::default();
            let mut spilled: Option<Distinct> = None;
            // (value, slot): a repeat, values that expire, and a third live value.
            for (i, (v, slot)) in [(1u64, 10i64), (1, 11), (2, 11), (3, 19), (4, 20), (5, 20)]
                .into_iter()
                .enumerate()
            {
                list.observe(mix(v), slot, slot, limit, true);
                match &mut spilled {
                    Some(d) => {
                        d.observe(mix(v), slot, slot, limit, true);
                    }
                    None => {
                        if let Some(mut d) = observe_inline(&mut w, mix(v), slot, slot, limit) {
                            d.observe(mix(v), slot, slot, limit, true);
                            spilled = Some(d);
                        }
                    }
                }
                let inline = match &spilled {
                    Some(d) => d.count(slot),
                    None => count_inline(&w, slot),
                };
                assert_eq!(inline, list.count(slot), "limit {limit}, step {i}");
            }
            assert!(spilled.is_some(), "three live values never fit inline");
        }
    }

    #[test]
    fn the_spill_tag_keeps_the_index() {
        let w = [SPILLED | 77, 0, 0, 0, 0];
        assert_eq!(spilled(&w), Some(77));
        assert_eq!(spilled(&[2, 0, 0, 0, 0]), None);
    }
}
