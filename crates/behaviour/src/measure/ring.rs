//! Sliding-window counters as a ring of time slots.
//!
//! The window of `W` ms is cut into slots of `L = ceil(W / (SLOTS - 1))` ms; the ring keeps the
//! last `SLOTS` slots. The count "in the window" is the sum of the ring, which covers between `W`
//! and `W + L` of event time: it never misses an event of the window and may include up to a
//! seventh of a window more. This costs 4 bytes per slot instead of 8 per event.

/// Slots per ring.
pub(crate) const SLOTS: usize = 8;

/// Slot length for a window, in ms (at least 1).
#[inline]
pub(crate) fn slot_ms(window_ms: i64) -> i64 {
    ((window_ms + SLOTS as i64 - 2) / (SLOTS as i64 - 1)).max(1)
}

/// One lane of counters; several lanes of a rule share the entity's newest-slot index.
pub(crate) type Lane = [u32; SLOTS];

/// Moves lanes forward from slot `from` to slot `to`, zeroing the slots that fell out.
#[inline]
pub(crate) fn advance(lanes: &mut [Lane], from: i64, to: i64) {
    if to <= from {
        return;
    }
    let steps = (to - from).min(SLOTS as i64);
    for lane in lanes {
        for s in 1..=steps {
            lane[((from + s).rem_euclid(SLOTS as i64)) as usize] = 0;
        }
    }
}

/// Adds `n` to a slot of a lane, saturating.
#[inline]
pub(crate) fn add(lane: &mut Lane, slot: i64, n: u32) {
    let i = slot.rem_euclid(SLOTS as i64) as usize;
    lane[i] = lane[i].saturating_add(n);
}

/// The lane's total over the ring.
#[inline]
pub(crate) fn total(lane: &Lane) -> u64 {
    lane.iter().map(|c| u64::from(*c)).sum()
}

/// Whether slot `s` is still inside the ring whose newest slot is `newest`.
#[inline]
pub(crate) fn in_ring(newest: i64, s: i64) -> bool {
    s <= newest && newest - s < SLOTS as i64
}
