//! The payments counted most recently, by a 48-bit key of their merchant and payment id, so
//! that a payment scored again is not counted twice: a client retrying `POST
//! /v1/payments/score` after a timeout, or a payment event detected again after a restart
//! (the pipeline resumes from the progress stored with the findings, and the feature state may
//! already hold the batches detected after it). A count twice would raise the card's velocity
//! and could decline the next genuine payment.
//!
//! Bounded by count, oldest forgotten first. A key holds 47 bits of hash: with 262,144
//! remembered, a new payment has about one chance in 540 million of being taken for one of
//! them (and not counted).

use std::collections::{HashSet, VecDeque};

use ensuresec_model::hash::{BuildPreHashed, hash_bytes, mix};

/// Keys fit in the six bytes the journal's record has for them.
const KEY_BITS: u32 = 48;

/// What was counted for a payment: the payment itself, or a decline reported for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Counted {
    /// The payment, counted when it was scored.
    Payment = 0,
    /// A decline reported for it, counted against its card and IP address.
    Decline = 1,
}

/// The key under which a payment's count is remembered: never 0, which the journal reads as
/// "no key" (records written before keys were kept).
pub(super) fn key(merchant: &str, payment_id: &str, counted: Counted) -> u64 {
    // Each part hashed on its own, then combined: ("ab", "c") and ("a", "bc") differ.
    let h = mix(hash_bytes(merchant.as_bytes()) ^ mix(hash_bytes(payment_id.as_bytes()) ^ 0xff));
    let k = ((h >> (64 - KEY_BITS + 1)) << 1) | counted as u64;
    if k == 0 { 2 } else { k }
}

/// Whether `k` is a key [`key`] can return, for readers of files.
pub(super) fn is_key(k: u64) -> bool {
    k != 0 && k >> KEY_BITS == 0
}

/// Keys of the last `capacity` counts, oldest first.
#[derive(Debug, Clone, Default)]
pub(super) struct RecentPayments {
    order: VecDeque<u64>,
    /// The keys [`mix`]ed: a key's top 16 bits are zero, and the table takes the top bits of
    /// a hash to tell entries apart.
    set: HashSet<u64, BuildPreHashed>,
    capacity: usize,
}

impl RecentPayments {
    /// Remembers at most `capacity` keys (0: none, every payment is counted).
    pub fn new(capacity: usize) -> RecentPayments {
        RecentPayments {
            capacity,
            ..RecentPayments::default()
        }
    }

    /// Whether `k` is among the remembered keys.
    pub fn contains(&self, k: u64) -> bool {
        self.set.contains(&mix(k))
    }

    /// Remembers `k`, forgetting the oldest key past the capacity.
    pub fn insert(&mut self, k: u64) {
        if self.capacity == 0 || !self.set.insert(mix(k)) {
            return;
        }
        // The oldest goes first, so that the order never holds more than the capacity (a
        // power of two stays one allocation of its size).
        if self.order.len() == self.capacity
            && let Some(old) = self.order.pop_front()
        {
            self.set.remove(&mix(old));
        }
        self.order.push_back(k);
    }

    /// The remembered keys, oldest first (what a state file keeps).
    pub fn keys(&self) -> impl ExactSizeIterator<Item = u64> + '_ {
        self.order.iter().copied()
    }

    /// Approximate heap bytes: the order's slots, and the set's slots with a control byte each.
    pub fn heap_bytes(&self) -> usize {
        self.order.capacity() * 8 + self.set.capacity() * 9
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn keys_tell_merchants_ids_and_what_was_counted_apart() {
        let k = key("shop", "pay_1", Counted::Payment);
        assert!(is_key(k));
        assert_eq!(k, key("shop", "pay_1", Counted::Payment), "stable");
        assert_ne!(k, key("shop", "pay_2", Counted::Payment));
        assert_ne!(k, key("shop2", "pay_1", Counted::Payment));
        assert_ne!(
            key("ab", "c", Counted::Payment),
            key("a", "bc", Counted::Payment)
        );
        assert_eq!(key("shop", "pay_1", Counted::Decline), k | 1);
    }

    #[test]
    fn the_oldest_key_is_forgotten_past_the_capacity() {
        let mut r = RecentPayments::new(2);
        for k in [2, 4, 2, 6] {
            r.insert(k);
        }
        assert!(!r.contains(2), "2 was the oldest when 6 came");
        assert!(r.contains(4) && r.contains(6));
        assert_eq!(r.keys().collect::<Vec<_>>(), [4, 6]);
    }

    #[test]
    fn a_capacity_of_zero_remembers_nothing() {
        let mut r = RecentPayments::new(0);
        r.insert(2);
        assert!(!r.contains(2));
        assert_eq!(r.keys().len(), 0);
    }

    proptest! {
        /// Against a plain list: a key is remembered if and only if it is among the last
        /// `capacity` distinct keys inserted.
        #[test]
        fn remembers_exactly_the_last_distinct_keys(
            capacity in 0usize..8,
            keys in proptest::collection::vec(1u64..20, 0..60),
        ) {
            let mut r = RecentPayments::new(capacity);
            let mut model: Vec<u64> = Vec::new();
            for k in keys {
                r.insert(k);
                if capacity > 0 && !model.contains(&k) {
                    model.push(k);
                    if model.len() > capacity {
                        model.remove(0);
                    }
                }
            }
            prop_assert_eq!(r.keys().collect::<Vec<_>>(), model.clone());
            for k in 1u64..20 {
                prop_assert_eq!(r.contains(k), model.contains(&k));
            }
        }
    }
}
