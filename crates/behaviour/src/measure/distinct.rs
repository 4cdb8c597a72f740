//! Distinct counts over a sliding window: exact while small, a sliding HyperLogLog once large.
//!
//! The exact form keeps each value's 32-bit hash and the ring slot it was last seen in (8 bytes a
//! value); a value leaves the count when its slot leaves the ring. Past `exact_limit` values the
//! state becomes a [`SlidingHll`] (4 KiB) if the memory ceiling allows, or else stays exact and
//! capped (the oldest values go first), which still answers "at least the limit".

use crate::hash::mix;
use crate::measure::hll::SlidingHll;
use crate::measure::ring::in_ring;

/// The state of one distinct count.
#[derive(Debug, Clone)]
pub enum Distinct {
    /// Hashes and last-seen slots (truncated to 32 bits), in parallel vectors.
    Exact {
        /// Value hashes.
        hashes: Vec<u32>,
        /// Last-seen slots.
        slots: Vec<u32>,
        /// Newest slot when expired values were last removed.
        purged_at: i64,
    },
    /// A sliding sketch.
    Sketch(Box<SlidingHll>),
}

impl Default for Distinct {
    fn default() -> Self {
        Distinct::Exact {
            hashes: Vec::new(),
            slots: Vec::new(),
            purged_at: i64::MIN,
        }
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
    /// Records a value's hash seen in `slot` (the entity's newest slot being `newest`) and returns
    /// the distinct count in the window. `may_grow_sketch` says whether the memory ceiling allows
    /// a promotion.
    pub fn observe(
        &mut self,
        hash: u64,
        slot: i64,
        newest: i64,
        exact_limit: u32,
        may_grow_sketch: bool,
    ) -> (f64, Growth) {
        let h32 = hash as u32;
        let mut growth = Growth::None;
        match self {
            Distinct::Sketch(s) => {
                s.insert(mix(u64::from(h32)), slot, newest);
                return (s.estimate(newest), growth);
            }
            Distinct::Exact {
                hashes,
                slots,
                purged_at,
            } => {
                if *purged_at != newest {
                    purge(hashes, slots, newest);
                    *purged_at = newest;
                }
                if let Some(i) = hashes.iter().position(|h| *h == h32) {
                    if (slot as u32).wrapping_sub(slots[i]) < 1 << 31 {
                        slots[i] = slot as u32;
                    }
                } else {
                    if hashes.len() >= exact_limit as usize {
                        if may_grow_sketch {
                            let mut sketch = Box::new(SlidingHll::new());
                            for (h, s) in hashes.iter().zip(slots.iter()) {
                                let s = newest - i64::from((newest as u32).wrapping_sub(*s));
                                sketch.insert(mix(u64::from(*h)), s, newest);
                            }
                            sketch.insert(mix(u64::from(h32)), slot, newest);
                            let estimate = sketch.estimate(newest);
                            *self = Distinct::Sketch(sketch);
                            return (estimate, Growth::Sketch);
                        }
                        // Capped: drop the value seen longest ago.
                        if let Some(oldest) = (0..slots.len())
                            .min_by_key(|i| (newest as u32).wrapping_sub(slots[*i]) ^ u32::MAX)
                        {
                            hashes.swap_remove(oldest);
                            slots.swap_remove(oldest);
                        }
                        growth = Growth::Refused;
                    } else {
                        growth = Growth::Value;
                    }
                    hashes.push(h32);
                    slots.push(slot as u32);
                }
                (hashes.len() as f64, growth)
            }
        }
    }

    /// The count in the window without adding anything.
    pub fn count(&self, newest: i64) -> f64 {
        match self {
            Distinct::Sketch(s) => s.estimate(newest),
            Distinct::Exact { slots, .. } => slots
                .iter()
                .filter(|s| {
                    in_ring(
                        newest,
                        newest - i64::from((newest as u32).wrapping_sub(**s)),
                    )
                })
                .count() as f64,
        }
    }

    /// Bytes held on the heap.
    pub fn heap_bytes(&self) -> usize {
        match self {
            Distinct::Sketch(_) => SlidingHll::BYTES,
            Distinct::Exact { hashes, slots, .. } => 4 * (hashes.capacity() + slots.capacity()),
        }
    }
}

fn purge(hashes: &mut Vec<u32>, slots: &mut Vec<u32>, newest: i64) {
    let mut i = 0;
    while i < slots.len() {
        let age = (newest as u32).wrapping_sub(slots[i]);
        // Values from "the future" (out-of-order within the ring) have a huge wrapped age: keep.
        if age >= crate::measure::ring::SLOTS as u32 && age < 1 << 31 {
            hashes.swap_remove(i);
            slots.swap_remove(i);
        } else {
            i += 1;
        }
    }
}
