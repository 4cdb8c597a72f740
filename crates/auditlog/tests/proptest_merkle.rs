//! Property tests against a naive recursive reference written straight from RFC 6962 section 2.1
//! (and its subtree generalisation): every inclusion proof for every leaf and size, every
//! consistency proof between any two sizes, and every subtree proof agree and verify; mutated
//! proofs are rejected.

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

use ensuresec_auditlog::hash::{Hash, leaf_hash, node_hash};
use ensuresec_auditlog::merkle::{
    self, MemoryTree, is_valid_subtree, verify_consistency, verify_inclusion,
    verify_subtree_consistency, verify_subtree_inclusion,
};
use proptest::prelude::*;

/// Largest power of two strictly below `n` (n >= 2).
fn split(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

/// MTH(D) by definition.
fn mth(d: &[Hash]) -> Hash {
    match d.len() {
        0 => ensuresec_auditlog::hash::empty_root(),
        1 => d[0],
        n => {
            let k = split(n);
            node_hash(&mth(&d[..k]), &mth(&d[k..]))
        }
    }
}

/// PATH(m, D) by definition.
fn path(m: usize, d: &[Hash]) -> Vec<Hash> {
    if d.len() <= 1 {
        return Vec::new();
    }
    let k = split(d.len());
    if m < k {
        let mut p = path(m, &d[..k]);
        p.push(mth(&d[k..]));
        p
    } else {
        let mut p = path(m - k, &d[k..]);
        p.push(mth(&d[..k]));
        p
    }
}

/// SUBPROOF generalised to the subtree [start, end) of D, with RFC 6962's flag `known`.
fn subproof(start: usize, end: usize, d: &[Hash], known: bool) -> Vec<Hash> {
    let n = d.len();
    if start == 0 && end == n {
        return if known { Vec::new() } else { vec![mth(d)] };
    }
    let k = split(n);
    if end <= k {
        let mut p = subproof(start, end, &d[..k], known);
        p.push(mth(&d[k..]));
        p
    } else if k <= start {
        let mut p = subproof(start - k, end - k, &d[k..], known);
        p.push(mth(&d[..k]));
        p
    } else {
        let mut p = subproof(0, end - k, &d[k..], false);
        p.push(mth(&d[..k]));
        p
    }
}

fn flip(mut proof: Vec<Hash>, which: usize, bit: u8) -> Vec<Hash> {
    let i = which % proof.len();
    proof[i][usize::from(bit) % 32] ^= 1 << (bit % 8);
    proof
}

fn tree(entries: &[Vec<u8>]) -> (MemoryTree, Vec<Hash>) {
    let mut t = MemoryTree::new();
    let mut leaves = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        // Distinct entries, so a proof for one leaf can never honestly fit another.
        let e = [&(i as u32).to_be_bytes()[..], e].concat();
        t.push_entry(&e);
        leaves.push(leaf_hash(&e));
    }
    (t, leaves)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 20, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn inclusion_for_every_leaf_and_size(entries in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..8), 1..65), which in any::<usize>(), bit in any::<u8>()) {
        let (t, leaves) = tree(&entries);
        for size in 1..=leaves.len() {
            let root = merkle::tree_root(&t, size as u64).expect("root");
            prop_assert_eq!(root, mth(&leaves[..size]));
            for m in 0..size {
                let proof = merkle::inclusion_proof(&t, m as u64, size as u64).expect("proof");
                prop_assert_eq!(&proof, &path(m, &leaves[..size]));
                prop_assert!(verify_inclusion(m as u64, size as u64, &leaves[m], &proof, &root).is_ok());
                if !proof.is_empty() {
                    let bad = flip(proof.clone(), which, bit);
                    prop_assert!(verify_inclusion(m as u64, size as u64, &leaves[m], &bad, &root).is_err());
                }
                if size > 1 {
                    let other = (m + 1) % size;
                    prop_assert!(verify_inclusion(other as u64, size as u64, &leaves[m], &proof, &root).is_err());
                }
            }
        }
    }

    #[test]
    fn consistency_between_any_two_sizes(entries in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..8), 1..65), which in any::<usize>(), bit in any::<u8>()) {
        let (t, leaves) = tree(&entries);
        let n = leaves.len();
        for size2 in 1..=n {
            let root2 = mth(&leaves[..size2]);
            for size1 in 1..=size2 {
                let root1 = mth(&leaves[..size1]);
                let proof = merkle::consistency_proof(&t, size1 as u64, size2 as u64).expect("proof");
                prop_assert_eq!(&proof, &subproof(0, size1, &leaves[..size2], true));
                prop_assert!(verify_consistency(size1 as u64, size2 as u64, &root1, &root2, &proof).is_ok());
                if !proof.is_empty() {
                    let bad = flip(proof.clone(), which, bit);
                    prop_assert!(verify_consistency(size1 as u64, size2 as u64, &root1, &root2, &bad).is_err());
                }
                if size1 < size2 {
                    // A different old tree (another entry at the end) is not consistent.
                    let mut fork = leaves[..size1].to_vec();
                    fork[size1 - 1] = leaf_hash(b"forked entry");
                    prop_assert!(verify_consistency(size1 as u64, size2 as u64, &mth(&fork), &root2, &proof).is_err());
                }
            }
        }
    }

    #[test]
    fn subtree_proofs_agree_and_verify(entries in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..8), 1..34)) {
        let (t, leaves) = tree(&entries);
        let n = leaves.len();
        for size in 1..=n {
            let root = mth(&leaves[..size]);
            for end in 1..=size {
                for start in 0..end {
                    if !is_valid_subtree(start as u64, end as u64) {
                        continue;
                    }
                    let sub = mth(&leaves[start..end]);
                    let proof = merkle::subtree_consistency_proof(&t, start as u64, end as u64, size as u64).expect("proof");
                    prop_assert_eq!(&proof, &subproof(start, end, &leaves[..size], true));
                    prop_assert!(verify_subtree_consistency(start as u64, end as u64, size as u64, &sub, &root, &proof).is_ok());
                    prop_assert!(verify_subtree_consistency(start as u64, end as u64, size as u64, &leaf_hash(b"x"), &root, &proof).is_err());
                    for (i, leaf) in leaves.iter().enumerate().take(end).skip(start) {
                        let p = merkle::subtree_inclusion_proof(&t, i as u64, start as u64, end as u64).expect("proof");
                        prop_assert!(verify_subtree_inclusion(i as u64, start as u64, end as u64, leaf, &p, &sub).is_ok());
                    }
                }
            }
        }
    }
}
