//! Minimal hitting sets of the conflicts, by Reiter's HS-tree (1987) with the corrections of
//! Greiner et al. (1989), breadth first so that sets come out smallest first.
//!
//! A node of the tree is a set `H` of assets assumed faulty. Its label is the first conflict `H`
//! does not hit (conflicts are sorted smallest first, which keeps the tree narrow); a node that
//! hits every conflict is a diagnosis. Children extend `H` by one element of the label.
//! - *Reuse*: a node's label depends only on its set, so a set reached twice is expanded once.
//! - *Closing*: a node whose set contains a diagnosis already found is not expanded; found
//!   breadth first, every diagnosis is then minimal.
//! - *Bound*: sets larger than [`HsOptions::max_size`] are not built, and at most
//!   [`HsOptions::max_nodes`] nodes are expanded; the result says whether it is complete.
//!
//! Written here rather than taken from a crate: no maintained crate implements HS-trees, and
//! the incremental step ([`extend`]) needs the tree's invariants.

use std::collections::HashSet;

use bit_set::BitSet;
use serde::Serialize;

/// Bounds of the search.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct HsOptions {
    /// Largest diagnosis (number of simultaneously faulty assets) looked for.
    pub max_size: usize,
    /// Most tree nodes expanded before the search stops with an incomplete answer.
    pub max_nodes: usize,
}

impl Default for HsOptions {
    fn default() -> Self {
        HsOptions {
            max_size: 3,
            max_nodes: 200_000,
        }
    }
}

/// The minimal hitting sets found, and whether they are all of those within the bound.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HsResult {
    /// Each set sorted ascending; smallest sets first.
    pub sets: Vec<Vec<usize>>,
    /// False when the node budget ran out (sets found are minimal, but some may be missing).
    pub complete: bool,
    /// Nodes expanded.
    pub nodes: usize,
}

/// Whether `set` shares an element with `conflict`.
pub fn hits(set: &[usize], conflict: &BitSet) -> bool {
    set.iter().any(|&x| conflict.contains(x))
}

/// Whether `set` hits every conflict.
pub fn hits_all(set: &[usize], conflicts: &[BitSet]) -> bool {
    conflicts.iter().all(|c| hits(set, c))
}

/// Every minimal hitting set of `conflicts` with at most `options.max_size` elements.
/// `conflicts` should be sorted by size (smallest first) for a narrow tree; any order is correct.
pub fn minimal_hitting_sets(conflicts: &[BitSet], options: HsOptions) -> HsResult {
    let mut found: Vec<Vec<usize>> = Vec::new();
    let mut level: Vec<Vec<usize>> = vec![Vec::new()];
    let mut seen: HashSet<Vec<usize>> = HashSet::new();
    let mut nodes = 0usize;
    while !level.is_empty() {
        let mut next = Vec::new();
        for h in level {
            if found.iter().any(|d| is_subset(d, &h)) {
                continue;
            }
            nodes += 1;
            if nodes > options.max_nodes {
                return HsResult {
                    sets: found,
                    complete: false,
                    nodes: nodes - 1,
                };
            }
            let Some(label) = conflicts.iter().find(|c| !hits(&h, c)) else {
                found.push(h);
                continue;
            };
            if h.len() >= options.max_size {
                continue;
            }
            for x in label.iter() {
                let mut child = h.clone();
                let at = child.binary_search(&x).unwrap_or_else(|at| at);
                child.insert(at, x);
                if seen.insert(child.clone()) {
                    next.push(child);
                }
            }
        }
        level = next;
    }
    HsResult {
        sets: found,
        complete: true,
        nodes,
    }
}

/// The minimal hitting sets after one more conflict, from those before it (Berge's step):
/// a set that hits the new conflict stays; one that misses it grows by each of its elements;
/// grown sets that are not minimal are dropped. Exact when `previous` was complete.
pub fn extend(
    previous: &[Vec<usize>],
    conflicts_after: &[BitSet],
    new: &BitSet,
    max_size: usize,
) -> Vec<Vec<usize>> {
    let mut kept: Vec<Vec<usize>> = Vec::new();
    let mut grown: HashSet<Vec<usize>> = HashSet::new();
    for d in previous {
        if hits(d, new) {
            kept.push(d.clone());
        } else if d.len() < max_size {
            for x in new.iter() {
                let mut s = d.clone();
                let at = s.binary_search(&x).unwrap_or_else(|at| at);
                s.insert(at, x);
                grown.insert(s);
            }
        }
    }
    let mut grown: Vec<Vec<usize>> = grown
        .into_iter()
        .filter(|s| is_minimal(s, conflicts_after))
        .collect();
    kept.append(&mut grown);
    kept.sort_by(|a, b| a.len().cmp(&b.len()).then_with(|| a.cmp(b)));
    kept
}

/// Whether no set with one element of `set` removed still hits every conflict (for a hitting
/// set this is minimality: hitting is monotone, so checking the one-smaller subsets suffices).
pub fn is_minimal(set: &[usize], conflicts: &[BitSet]) -> bool {
    (0..set.len()).all(|skip| {
        !conflicts.iter().all(|c| {
            set.iter()
                .enumerate()
                .any(|(i, &x)| i != skip && c.contains(x))
        })
    })
}

/// Whether sorted `small` is a subset of sorted `big`.
fn is_subset(small: &[usize], big: &[usize]) -> bool {
    let mut b = big.iter();
    small.iter().all(|x| b.any(|y| y == x))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(xs: &[usize]) -> BitSet {
        xs.iter().copied().collect()
    }

    #[test]
    fn reiter_example_gives_both_minimal_sets() {
        // Conflicts {a,b}, {b,c}, {a,c}: minimal hitting sets are the three pairs.
        let c = vec![set(&[0, 1]), set(&[1, 2]), set(&[0, 2])];
        let r = minimal_hitting_sets(&c, HsOptions::default());
        assert!(r.complete);
        assert_eq!(r.sets, vec![vec![0, 1], vec![0, 2], vec![1, 2]]);
    }

    #[test]
    fn size_bound_leaves_out_larger_sets() {
        let c = vec![set(&[0]), set(&[1]), set(&[2])];
        let r = minimal_hitting_sets(
            &c,
            HsOptions {
                max_size: 2,
                max_nodes: 100,
            },
        );
        assert!(r.sets.is_empty());
        let r = minimal_hitting_sets(&c, HsOptions::default());
        assert_eq!(r.sets, vec![vec![0, 1, 2]]);
    }

    #[test]
    fn node_budget_reports_incomplete() {
        let c = vec![set(&[0, 1, 2, 3]), set(&[4, 5, 6, 7]), set(&[8, 9])];
        let r = minimal_hitting_sets(
            &c,
            HsOptions {
                max_size: 3,
                max_nodes: 3,
            },
        );
        assert!(!r.complete);
    }

    #[test]
    fn subset_of_sorted_lists() {
        assert!(is_subset(&[1, 3], &[0, 1, 2, 3]));
        assert!(!is_subset(&[1, 4], &[0, 1, 2, 3]));
        assert!(is_subset(&[], &[1]));
    }
}
