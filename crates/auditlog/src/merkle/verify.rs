//! Verification of inclusion, consistency and subtree proofs.
//!
//! One routine does the work: the subtree consistency evaluation of the Merkle Tree Certificates
//! draft (`draft-ietf-plants-merkle-tree-certs`, section 4.4.3), which generalises RFC 9162: an
//! inclusion proof is the consistency proof of the one-leaf subtree `[i, i+1)`, and an RFC 9162
//! consistency proof is the one of the subtree `[0, m)`. Having a single loop means a single place
//! to get right.

use crate::hash::{Hash, empty_root, node_hash};

/// The most hashes a proof for a 64-bit tree can need; longer proofs are refused before any work.
pub const MAX_PROOF_HASHES: usize = 64;

/// Why a proof was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// The leaf index is not inside the tree (or subtree) the proof is for.
    #[error("leaf index {index} is outside [{start}, {end})")]
    IndexOutOfRange {
        /// Leaf index asked about.
        index: u64,
        /// First leaf of the range.
        start: u64,
        /// One past the last leaf of the range.
        end: u64,
    },
    /// `[start, end)` is not a subtree: it must be non-empty and aligned to a power of two.
    #[error("range [{start}, {end}) is not a valid subtree")]
    InvalidSubtree {
        /// First leaf of the range.
        start: u64,
        /// One past the last leaf of the range.
        end: u64,
    },
    /// The subtree (or old tree) ends after the tree it should be part of.
    #[error("subtree end {end} is beyond tree size {size}")]
    BeyondTree {
        /// End of the subtree.
        end: u64,
        /// Size of the containing tree.
        size: u64,
    },
    /// A consistency proof from the empty tree proves nothing and is refused.
    #[error("consistency proof from the empty tree is meaningless")]
    EmptyOldTree,
    /// The proof has more hashes than any tree of this size can need.
    #[error("proof has too many hashes")]
    TooLong,
    /// The proof ends before the root was reached.
    #[error("proof has too few hashes")]
    TooShort,
    /// An empty range must come with an empty proof and the empty-tree hash.
    #[error("empty subtree must have the empty-tree hash and an empty proof")]
    BadEmptySubtree,
    /// The hashes chain to a different subtree (or old tree) hash than the one claimed.
    #[error("proof does not match the hash of [{start}, {end})")]
    SubtreeMismatch {
        /// First leaf of the subtree.
        start: u64,
        /// One past the last leaf of the subtree.
        end: u64,
    },
    /// The hashes chain to a different root than the one claimed for this tree size.
    #[error("proof does not match the root hash of tree size {size}")]
    RootMismatch {
        /// Size of the tree whose root did not match.
        size: u64,
    },
}

/// Tells whether `[start, end)` is a subtree in the sense of the Merkle Tree Certificates draft:
/// non-empty, and `start` a multiple of the smallest power of two not below `end - start`.
pub fn is_valid_subtree(start: u64, end: u64) -> bool {
    if start >= end {
        return false;
    }
    let width = end - start;
    match width.checked_next_power_of_two() {
        Some(p) => start.is_multiple_of(p),
        // Widths above 2^63 fit only the subtree starting at zero.
        None => start == 0,
    }
}

/// Computes the root a subtree consistency proof leads to, after checking that it also leads to
/// `subtree_hash` for `[start, end)`. Callers have checked the range is a valid subtree.
fn evaluate(
    start: u64,
    end: u64,
    size: u64,
    proof: &[Hash],
    subtree_hash: &Hash,
) -> Result<Hash, ProofError> {
    if proof.len() > MAX_PROOF_HASHES {
        return Err(ProofError::TooLong);
    }
    // Paths from the root to the subtree's first leaf, its last leaf and the tree's last leaf;
    // shifting right climbs one level.
    let (mut first, mut second, mut third) = (start, end - 1, size - 1);
    if second == third {
        while first != second {
            first >>= 1;
            second >>= 1;
            third >>= 1;
        }
    } else {
        while first != second && second & 1 == 1 {
            first >>= 1;
            second >>= 1;
            third >>= 1;
        }
    }
    let (mut sub, mut root, rest) = if first == second {
        (*subtree_hash, *subtree_hash, proof)
    } else {
        let (seed, rest) = proof.split_first().ok_or(ProofError::TooShort)?;
        (*seed, *seed, rest)
    };
    for sibling in rest {
        if third == 0 {
            return Err(ProofError::TooLong);
        }
        if second & 1 == 1 || second == third {
            if first < second {
                sub = node_hash(sibling, &sub);
            }
            root = node_hash(sibling, &root);
            while second & 1 == 0 {
                first >>= 1;
                second >>= 1;
                third >>= 1;
            }
        } else {
            root = node_hash(&root, sibling);
        }
        first >>= 1;
        second >>= 1;
        third >>= 1;
    }
    if third != 0 {
        return Err(ProofError::TooShort);
    }
    if sub != *subtree_hash {
        return Err(ProofError::SubtreeMismatch { start, end });
    }
    Ok(root)
}

/// Computes the root hash that an inclusion proof for leaf `index` in a tree of `size` leads to.
pub fn root_from_inclusion_proof(
    index: u64,
    size: u64,
    leaf: &Hash,
    proof: &[Hash],
) -> Result<Hash, ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange {
            index,
            start: 0,
            end: size,
        });
    }
    evaluate(index, index + 1, size, proof, leaf)
}

/// Verifies that `leaf` is at `index` in the tree of `size` leaves whose root is `root`.
pub fn verify_inclusion(
    index: u64,
    size: u64,
    leaf: &Hash,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    if root_from_inclusion_proof(index, size, leaf, proof)? != *root {
        return Err(ProofError::RootMismatch { size });
    }
    Ok(())
}

/// Verifies that the tree of `size1` leaves with `root1` is a prefix of the tree of `size2` leaves
/// with `root2` (RFC 9162 section 2.1.4.2). A proof from the empty tree is refused: the empty tree
/// is a prefix of every tree, so callers handle size zero themselves.
pub fn verify_consistency(
    size1: u64,
    size2: u64,
    root1: &Hash,
    root2: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    if size1 > size2 {
        return Err(ProofError::BeyondTree {
            end: size1,
            size: size2,
        });
    }
    if size1 == 0 {
        return Err(ProofError::EmptyOldTree);
    }
    let computed = evaluate(0, size1, size2, proof, root1).map_err(|e| match e {
        ProofError::SubtreeMismatch { .. } => ProofError::RootMismatch { size: size1 },
        other => other,
    })?;
    if computed != *root2 {
        return Err(ProofError::RootMismatch { size: size2 });
    }
    Ok(())
}

/// Verifies that `leaf` is at `index` inside the subtree `[start, end)` whose hash is
/// `subtree_root` (Merkle Tree Certificates draft, section 4.3).
pub fn verify_subtree_inclusion(
    index: u64,
    start: u64,
    end: u64,
    leaf: &Hash,
    proof: &[Hash],
    subtree_root: &Hash,
) -> Result<(), ProofError> {
    if !is_valid_subtree(start, end) {
        return Err(ProofError::InvalidSubtree { start, end });
    }
    if index < start || index >= end {
        return Err(ProofError::IndexOutOfRange { index, start, end });
    }
    let rel = index - start;
    if evaluate(rel, rel + 1, end - start, proof, leaf)? != *subtree_root {
        return Err(ProofError::SubtreeMismatch { start, end });
    }
    Ok(())
}

/// Verifies that the subtree `[start, end)` with hash `subtree_root` is part of the tree of `size`
/// leaves with `root` (Merkle Tree Certificates draft, section 4.4). An empty range is accepted
/// only with the empty-tree hash and an empty proof, since it is part of every tree.
pub fn verify_subtree_consistency(
    start: u64,
    end: u64,
    size: u64,
    subtree_root: &Hash,
    root: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    if start == end && end <= size {
        if proof.is_empty() && *subtree_root == empty_root() {
            return Ok(());
        }
        return Err(ProofError::BadEmptySubtree);
    }
    if !is_valid_subtree(start, end) {
        return Err(ProofError::InvalidSubtree { start, end });
    }
    if end > size {
        return Err(ProofError::BeyondTree { end, size });
    }
    if evaluate(start, end, size, proof, subtree_root)? != *root {
        return Err(ProofError::RootMismatch { size });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subtree_validity_follows_the_draft() {
        assert!(is_valid_subtree(8, 13));
        assert!(is_valid_subtree(0, 15));
        assert!(!is_valid_subtree(1, 15));
        assert!(!is_valid_subtree(2, 5));
        assert!(!is_valid_subtree(2, 6));
        assert!(is_valid_subtree(4, 6));
        assert!(!is_valid_subtree(3, 3));
        assert!(is_valid_subtree(0, u64::MAX));
        assert!(!is_valid_subtree(1, u64::MAX));
    }

    #[test]
    fn single_leaf_tree_needs_no_proof() {
        let leaf = crate::hash::leaf_hash(b"x");
        assert_eq!(verify_inclusion(0, 1, &leaf, &[], &leaf), Ok(()));
        assert_eq!(
            verify_inclusion(0, 1, &leaf, &[leaf], &leaf),
            Err(ProofError::TooLong)
        );
    }
}
