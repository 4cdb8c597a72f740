//! The state kept per entity (a card, a device, an IP address…): fixed size, no allocation, so
//! that ten million cards fit in bounded memory.
//!
//! Windowed counts are exponentially decayed counters: each is multiplied by `exp(-Δt/τ)` when
//! the entity is next seen, with `τ` the window length. A burst of `n` payments within a window
//! counts about `n`; older ones fade instead of falling off a cliff. This costs 4 bytes per
//! window where exact sliding windows would need a bucket array.
//!
//! Distinct counts (devices per card, cards per device…) use linear counting over a 64-bit
//! bitmap (Whang et al., 1990): exact-ish for a handful of values, within ~10 % up to about
//! 100, and saturating at 266, which is far above any threshold a rule would use. The
//! HyperLogLog of `ensuresec-behaviour` takes 1 KiB per sketch: a thousand times too much here.

/// Window lengths of the decayed counters, in seconds: one hour, one day, seven days.
pub const WINDOWS: [f64; 3] = [3600.0, 86_400.0, 7.0 * 86_400.0];

/// Size of one entity's state in bytes (the table adds its key and about 20 % slack).
pub const ENTITY_BYTES: usize = std::mem::size_of::<EntityState>();

// The documented memory budget (docs/fraud.md) holds at compile time.
const _: () = assert!(ENTITY_BYTES <= 56);

/// What is known about one entity.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EntityState {
    /// Event time it was first seen (seconds since the epoch).
    pub first_seen: i64,
    /// Event time it was last updated; the decayed values are as of this time.
    pub last_seen: i64,
    /// Decayed payment counts over the windows (`WINDOWS`).
    pub counts: [f32; 3],
    /// Decayed amount over 24 hours (major units).
    pub amount_24h: f32,
    /// Decayed declines over 7 days (compare with `counts[2]`).
    pub declines_7d: f32,
    /// Linear-counting bitmap of the linked entities (devices of a card, cards of a device…).
    pub linked: u64,
    /// Hash of the last shipping address seen (accounts), 0 when none.
    pub address: u32,
    /// Event time the shipping address last changed (accounts), 0 when never.
    pub address_changed: i64,
}

impl EntityState {
    /// A fresh entity first seen at `now`.
    pub fn new(now: i64) -> EntityState {
        EntityState {
            first_seen: now,
            last_seen: now,
            counts: [0.0; 3],
            amount_24h: 0.0,
            declines_7d: 0.0,
            linked: 0,
            address: 0,
            address_changed: 0,
        }
    }

    /// Brings the decayed values to `now`. An event older than the last update (out of order)
    /// is counted as if at the last update.
    pub fn decay_to(&mut self, now: i64) {
        if now <= self.last_seen {
            return;
        }
        let dt = (now - self.last_seen) as f64;
        let keep = WINDOWS.map(|w| (-dt / w).exp());
        for (c, k) in self.counts.iter_mut().zip(keep) {
            *c = (f64::from(*c) * k) as f32;
        }
        self.amount_24h = (f64::from(self.amount_24h) * keep[1]) as f32;
        self.declines_7d = (f64::from(self.declines_7d) * keep[2]) as f32;
        self.last_seen = now;
    }

    /// Counts one payment of `amount` (already decayed to its time).
    pub fn add_payment(&mut self, amount: f64) {
        for c in &mut self.counts {
            *c += 1.0;
        }
        self.amount_24h += amount as f32;
    }

    /// Takes back one payment of `amount` counted at the time the state is decayed to: the
    /// state as it was before that payment, when nothing was counted after it.
    pub fn remove_payment(&mut self, amount: f64) {
        for c in &mut self.counts {
            *c = (*c - 1.0).max(0.0);
        }
        self.amount_24h = (self.amount_24h - amount as f32).max(0.0);
    }

    /// Marks a linked entity by its hash.
    pub fn link(&mut self, hash: u64) {
        self.linked |= 1u64 << (hash >> 58);
    }

    /// Estimated number of distinct linked entities.
    pub fn linked_count(&self) -> f64 {
        let zeros = f64::from(self.linked.count_zeros());
        if zeros == 0.0 {
            // Every bit set: the estimate at one zero bit is the most the bitmap can tell.
            return 64.0 * 64f64.ln();
        }
        (64.0 * (64.0 / zeros).ln()).round()
    }

    /// Share of recent payments that were declined (0 when none were counted).
    pub fn decline_ratio(&self) -> f64 {
        if self.counts[2] <= 0.0 {
            0.0
        } else {
            (f64::from(self.declines_7d) / f64::from(self.counts[2])).min(1.0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn burst_counts_then_fades() {
        let mut s = EntityState::new(0);
        for t in 0..5 {
            s.decay_to(t);
            s.add_payment(10.0);
        }
        assert!((s.counts[0] - 5.0).abs() < 0.01, "{:?}", s.counts);
        s.decay_to(4 + 3 * 3600);
        assert!(
            s.counts[0] < 0.3,
            "one hour count after three hours: {}",
            s.counts[0]
        );
        assert!(
            s.counts[2] > 4.8,
            "seven day count after three hours: {}",
            s.counts[2]
        );
    }

    #[test]
    fn removing_a_payment_gives_back_the_state_before_it() {
        let mut s = EntityState::new(0);
        s.add_payment(25.0);
        s.decay_to(600);
        let before = s;
        s.add_payment(40.0);
        s.remove_payment(40.0);
        for (a, b) in s.counts.iter().zip(before.counts) {
            assert!(
                (a - b).abs() < 1e-6,
                "{:?} against {:?}",
                s.counts,
                before.counts
            );
        }
        assert!((s.amount_24h - before.amount_24h).abs() < 1e-4, "{s:?}");
        let mut fresh = EntityState::new(0);
        fresh.remove_payment(5.0);
        assert_eq!(fresh, EntityState::new(0), "never below zero");
    }

    proptest! {
        #[test]
        fn decay_never_grows_or_goes_negative(steps in proptest::collection::vec(0i64..100_000, 1..50)) {
            let mut s = EntityState::new(0);
            let mut now = 0;
            for dt in steps {
                now += dt;
                let before = s.counts;
                s.decay_to(now);
                for (a, b) in s.counts.iter().zip(before) {
                    prop_assert!(*a <= b && *a >= 0.0);
                }
                s.add_payment(1.0);
            }
        }

        #[test]
        fn distinct_estimate_is_close_for_small_sets(n in 1usize..40) {
            let mut s = EntityState::new(0);
            for i in 0..n as u64 {
                s.link(ensuresec_model::hash::mix(i));
            }
            let est = s.linked_count();
            prop_assert!(est >= 1.0);
            prop_assert!((est - n as f64).abs() <= 1.0 + 0.35 * n as f64, "n={} est={}", n, est);
        }
    }
}
