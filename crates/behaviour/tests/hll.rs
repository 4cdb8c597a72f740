//! HyperLogLog and the exact-then-sketch distinct count against exact sets.

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

use std::collections::HashSet;

use ensuresec_behaviour::measure::distinct::Distinct;
use ensuresec_behaviour::measure::hll::{HyperLogLog, REGISTERS};
use proptest::prelude::*;

/// A well-mixed hash of a test value (splitmix64).
fn h(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Relative standard error of HyperLogLog with this many registers.
fn sigma() -> f64 {
    1.04 / (REGISTERS as f64).sqrt()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// The estimate stays within five standard errors (plus 2 for tiny sets) of the exact count.
    #[test]
    fn hll_estimate_is_within_error_bounds(values in proptest::collection::vec(0u64..200_000, 0..8_000)) {
        let mut sketch = HyperLogLog::default();
        let mut exact = HashSet::new();
        for v in &values {
            sketch.insert(h(*v));
            exact.insert(*v);
        }
        let n = exact.len() as f64;
        let err = (sketch.estimate() - n).abs();
        prop_assert!(err <= 5.0 * sigma() * n + 2.0, "estimate {} for {n}", sketch.estimate());
    }

    /// Merging two sketches estimates the union.
    #[test]
    fn merged_sketches_estimate_the_union(a in proptest::collection::vec(0u64..50_000, 0..5_000), b in proptest::collection::vec(0u64..50_000, 0..5_000)) {
        let (mut sa, mut sb) = (HyperLogLog::default(), HyperLogLog::default());
        a.iter().for_each(|v| sa.insert(h(*v)));
        b.iter().for_each(|v| sb.insert(h(*v)));
        sa.merge(&sb);
        let n = a.iter().chain(&b).collect::<HashSet<_>>().len() as f64;
        prop_assert!((sa.estimate() - n).abs() <= 5.0 * sigma() * n + 2.0);
    }

    /// The distinct measure is exact below its limit and within sketch error above it, all values
    /// seen in one slot.
    #[test]
    fn distinct_is_exact_then_approximate(values in proptest::collection::vec(0u64..100_000, 0..6_000), limit in 1u32..300) {
        let mut d = Distinct::default();
        let mut exact = HashSet::new();
        let mut last = 0.0;
        for v in &values {
            exact.insert(*v);
            d.observe(h(*v), 100, 100, limit, true);
            last = d.count(100);
            if exact.len() <= limit as usize {
                prop_assert_eq!(last, exact.len() as f64);
            }
        }
        let n = exact.len() as f64;
        prop_assert!((last - n).abs() <= 5.0 * sigma() * n + 2.0, "{last} for {n}");
        prop_assert_eq!(matches!(d, Distinct::Sketch(_)), exact.len() > limit as usize);
    }
}

#[test]
fn values_leave_the_exact_count_when_their_slot_leaves_the_ring() {
    let mut d = Distinct::default();
    for v in 0..5 {
        d.observe(h(v), 10, 10, 64, true);
    }
    assert_eq!(d.count(10), 5.0);
    // Seen again at slot 15: that one stays; the rest expire when slot 18 makes slot 10 fall out.
    d.observe(h(0), 15, 15, 64, true);
    assert_eq!(d.count(17), 5.0);
    d.observe(h(99), 18, 18, 64, true);
    assert_eq!(d.count(18), 2.0);
}

#[test]
fn a_refused_promotion_stays_exact_and_capped() {
    let mut d = Distinct::default();
    for v in 0..100 {
        d.observe(h(v), 1, 1, 10, false);
    }
    assert!(matches!(d, Distinct::Exact { .. }));
    assert_eq!(
        d.count(1),
        10.0,
        "capped at the limit, which still answers `at least 10`"
    );
}
