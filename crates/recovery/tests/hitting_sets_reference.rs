//! Property tests: every reported diagnosis is a hitting set of all conflicts and minimal, and
//! the HS-tree, the incremental step and the diagnoser agree with a brute-force reference on
//! small graphs.

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

use std::collections::BTreeSet;

use bit_set::BitSet;
use chrono::{DateTime, Duration, Utc};
use ensuresec_recovery::hitting::{HsOptions, extend, hits_all, is_minimal, minimal_hitting_sets};
use ensuresec_recovery::prior::Prior;
use ensuresec_recovery::{DepGraph, Diagnoser, Health, Observation};
use proptest::prelude::*;

/// All minimal hitting sets of size ≤ `k` over `0..n`, by enumerating every subset.
fn brute_force(n: usize, conflicts: &[BTreeSet<usize>], k: usize) -> BTreeSet<Vec<usize>> {
    let hitting: Vec<Vec<usize>> = (0u32..(1 << n))
        .filter(|m| m.count_ones() as usize <= k)
        .map(|m| (0..n).filter(|i| m & (1 << i) != 0).collect::<Vec<_>>())
        .filter(|s| conflicts.iter().all(|c| s.iter().any(|x| c.contains(x))))
        .collect();
    hitting
        .iter()
        .filter(|s| {
            !hitting
                .iter()
                .any(|t| t.len() < s.len() && t.iter().all(|x| s.contains(x)))
        })
        .cloned()
        .collect()
}

fn bits(c: &BTreeSet<usize>) -> BitSet {
    c.iter().copied().collect()
}

fn family() -> impl Strategy<Value = (usize, Vec<BTreeSet<usize>>)> {
    (2usize..10).prop_flat_map(|n| {
        (
            Just(n),
            prop::collection::vec(prop::collection::btree_set(0..n, 1..5), 0..7),
        )
    })
}

/// A random DAG: asset `i` may depend only on assets with a higher position.
fn dag() -> impl Strategy<Value = Vec<Vec<usize>>> {
    (2usize..9).prop_flat_map(|n| {
        (0..n)
            .map(|i| prop::collection::btree_set((i + 1)..=n, 0..3))
            .collect::<Vec<_>>()
            .prop_map(move |lists| {
                lists
                    .into_iter()
                    .map(|s| s.into_iter().filter(|&d| d < n).collect())
                    .collect()
            })
    })
}

/// The reference fault model: closure by fixpoint, OK exonerates its closure, faulty gives
/// closure minus exonerated.
fn reference_conflicts(deps: &[Vec<usize>], obs: &[(usize, Health)]) -> Vec<BTreeSet<usize>> {
    let closure = |a: usize| {
        let mut c: BTreeSet<usize> = BTreeSet::from([a]);
        loop {
            let more: Vec<usize> = c
                .iter()
                .flat_map(|&x| deps[x].iter().copied())
                .filter(|d| !c.contains(d))
                .collect();
            if more.is_empty() {
                return c;
            }
            c.extend(more);
        }
    };
    let ok: BTreeSet<usize> = obs
        .iter()
        .filter(|(_, h)| *h == Health::Ok)
        .flat_map(|&(a, _)| closure(a))
        .collect();
    obs.iter()
        .filter(|(_, h)| *h == Health::Faulty)
        .map(|&(a, _)| closure(a).difference(&ok).copied().collect::<BTreeSet<_>>())
        .filter(|c| !c.is_empty())
        .collect()
}

fn at(seconds: i64) -> DateTime<Utc> {
    DateTime::<Utc>::UNIX_EPOCH + Duration::seconds(seconds)
}

fn health() -> impl Strategy<Value = Health> {
    prop_oneof![
        Just(Health::Ok),
        Just(Health::Faulty),
        Just(Health::Faulty),
        Just(Health::Unknown)
    ]
}

proptest! {
    #[test]
    fn hs_tree_finds_exactly_the_minimal_hitting_sets((n, conflicts) in family(), k in 1usize..4) {
        let mut sorted = conflicts.clone();
        sorted.sort_by_key(|c| c.len());
        let b: Vec<BitSet> = sorted.iter().map(bits).collect();
        let r = minimal_hitting_sets(&b, HsOptions { max_size: k, max_nodes: 1_000_000 });
        prop_assert!(r.complete);
        for s in &r.sets {
            prop_assert!(hits_all(s, &b), "{s:?} misses a conflict");
            prop_assert!(is_minimal(s, &b), "{s:?} is not minimal");
        }
        let found: BTreeSet<Vec<usize>> = r.sets.iter().cloned().collect();
        prop_assert_eq!(found.len(), r.sets.len(), "a set reported twice");
        prop_assert_eq!(found, brute_force(n, &conflicts, k));
    }

    #[test]
    fn berge_steps_agree_with_the_tree((n, conflicts) in family(), k in 1usize..4) {
        let mut sets = vec![Vec::new()];
        let mut so_far: Vec<BitSet> = Vec::new();
        for c in &conflicts {
            let c = bits(c);
            so_far.push(c.clone());
            sets = extend(&sets, &so_far, &c, k);
        }
        let found: BTreeSet<Vec<usize>> = sets.iter().cloned().collect();
        prop_assert_eq!(found, brute_force(n, &conflicts, k));
    }

    #[test]
    fn diagnoser_matches_the_reference_batch_and_incremental(
        deps in dag(),
        picks in prop::collection::vec((0usize..64, health()), 0..8),
    ) {
        let n = deps.len();
        let ids: Vec<String> = (0..n).map(|i| format!("a{i}")).collect();
        let graph = DepGraph::new(ids.clone(), deps.clone()).unwrap();
        let priors = vec![Prior { p: 0.01, why: "test".into() }; n];
        let options = HsOptions { max_size: 3, max_nodes: 1_000_000 };
        // Latest observation per asset wins, as in the diagnoser.
        let mut latest: Vec<Option<Health>> = vec![None; n];
        let observations: Vec<Observation> = picks
            .iter()
            .enumerate()
            .map(|(t, &(a, h))| {
                latest[a % n] = Some(h);
                Observation {
                    asset: ids[a % n].clone(),
                    health: h,
                    at: at(t as i64),
                    source: "test".into(),
                    detail: String::new(),
                }
            })
            .collect();
        let obs: Vec<(usize, Health)> = latest
            .iter()
            .enumerate()
            .filter_map(|(a, h)| h.map(|h| (a, h)))
            .collect();
        let conflicts = reference_conflicts(&deps, &obs);
        let expected = brute_force(n, &conflicts, 3);

        let mut batch = Diagnoser::new(graph.clone(), priors.clone(), options).unwrap();
        batch.observe_all(observations.clone()).unwrap();
        let mut incremental = Diagnoser::new(graph, priors, options).unwrap();
        for o in observations {
            incremental.observe(o).unwrap();
        }
        let conflict_bits: Vec<BitSet> = conflicts.iter().map(bits).collect();
        for d in [&batch, &incremental] {
            for s in &d.candidates().sets {
                prop_assert!(hits_all(s, &conflict_bits), "{s:?} misses a conflict");
                prop_assert!(is_minimal(s, &conflict_bits), "{s:?} is not minimal");
            }
            let found: BTreeSet<Vec<usize>> = d.candidates().sets.iter().cloned().collect();
            prop_assert_eq!(&found, &expected);
        }
    }
}
