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

/// Whether a value last seen in (truncated) slot `s` is still in the ring. Values from "the
/// future" (out of order within the ring) have a huge wrapped age and count as live.
fn is_live(s: u32, newest: i64) -> bool {
    let age = (newest as u32).wrapping_sub(s);
    age < SLOTS as u32 || age >= 1 << 31
}

fn live(values: &[(u32, u32)], newest: i64) -> usize {
    values.iter().filter(|(_, s)| is_live(*s, newest)).count()
}
