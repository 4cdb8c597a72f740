//! Proof generation from stored node hashes. Only hashes of perfect subtrees are stored; the one
//! imperfect node a proof may need on the tree's right edge is folded from them on the fly.

use crate::hash::{Hash, empty_root, node_hash};
use crate::merkle::verify::is_valid_subtree;

/// Where proof generation reads the hash of a perfect subtree: level `level`, index `index`
/// covers leaves `[index << level, (index + 1) << level)`.
pub trait NodeSource {
    /// Returns the stored hash of a perfect subtree that lies inside the tree.
    fn node(&self, level: u8, index: u64) -> std::io::Result<Hash>;

    /// The hash of the leaves `[lo, hi)` when the source already holds it (a store keeps the
    /// right edge of its current tree), so that proof generation need not fold it from perfect
    /// subtrees; `None` when it does not.
    fn cached_range(&self, lo: u64, hi: u64) -> Option<Hash> {
        let _ = (lo, hi);
        None
    }
}

/// Why a proof could not be generated.
#[derive(Debug, thiserror::Error)]
pub enum ProveError {
    /// The request names leaves or sizes the tree does not have.
    #[error("no proof for {what}: tree has {size} leaves")]
    OutOfRange {
        /// The request, in words.
        what: String,
        /// Size of the tree asked about.
        size: u64,
    },
    /// A stored node hash could not be read.
    #[error("reading node hash at level {level}, index {index}")]
    Node {
        /// Level of the node.
        level: u8,
        /// Index of the node within its level.
        index: u64,
        /// The underlying failure.
        #[source]
        source: std::io::Error,
    },
}

fn read(src: &(impl NodeSource + ?Sized), level: u8, index: u64) -> Result<Hash, ProveError> {
    src.node(level, index).map_err(|source| ProveError::Node {
        level,
        index,
        source,
    })
}

/// Computes the Merkle tree hash of the leaves `[lo, hi)`, where `lo` is aligned to a power of two
/// at least `hi - lo` (true of every subtree a proof uses), by folding perfect subtrees right to left.
pub fn range_hash(src: &(impl NodeSource + ?Sized), lo: u64, hi: u64) -> Result<Hash, ProveError> {
    if lo >= hi {
        return Ok(empty_root());
    }
    if let Some(hash) = src.cached_range(lo, hi) {
        return Ok(hash);
    }
    let mut parts: Vec<(u8, u64)> = Vec::with_capacity(8);
    let mut at = lo;
    while at < hi {
        let mut level = at.trailing_zeros().min(63) as u8;
        while (1u64 << level) > hi - at {
            level -= 1;
        }
        parts.push((level, at >> level));
        at += 1u64 << level;
    }
    let mut iter = parts.iter().rev();
    let Some(&(level, index)) = iter.next() else {
        return Ok(empty_root());
    };
    let mut acc = read(src, level, index)?;
    for &(level, index) in iter {
        acc = node_hash(&read(src, level, index)?, &acc);
    }
    Ok(acc)
}

/// The root hash of the first `size` leaves.
pub fn tree_root(src: &(impl NodeSource + ?Sized), size: u64) -> Result<Hash, ProveError> {
    range_hash(src, 0, size)
}

/// The inclusion proof (RFC 9162 `PATH`) for leaf `index` in the tree of `size` leaves.
pub fn inclusion_proof(
    src: &(impl NodeSource + ?Sized),
    index: u64,
    size: u64,
) -> Result<Vec<Hash>, ProveError> {
    if index >= size {
        return Err(ProveError::OutOfRange {
            what: format!("leaf {index}"),
            size,
        });
    }
    subtree_inclusion_proof(src, index, 0, size)
}

/// The inclusion proof for leaf `index` inside the subtree `[start, end)`.
pub fn subtree_inclusion_proof(
    src: &(impl NodeSource + ?Sized),
    index: u64,
    start: u64,
    end: u64,
) -> Result<Vec<Hash>, ProveError> {
    if !is_valid_subtree(start, end) || index < start || index >= end {
        return Err(ProveError::OutOfRange {
            what: format!("leaf {index} in [{start}, {end})"),
            size: end,
        });
    }
    let mut proof = Vec::with_capacity(64);
    let (mut first, mut node, mut last, mut level) = (start, index, end - 1, 0u8);
    while first < last {
        let sibling = node ^ 1;
        if sibling < last {
            proof.push(read(src, level, sibling)?);
        } else if sibling == last {
            proof.push(range_hash(src, last << level, end)?);
        }
        first >>= 1;
        node >>= 1;
        last >>= 1;
        level += 1;
    }
    Ok(proof)
}

/// The consistency proof (RFC 9162 `PROOF`) from the tree of `old_size` leaves to the tree of
/// `new_size` leaves. Empty when the sizes are equal.
pub fn consistency_proof(
    src: &(impl NodeSource + ?Sized),
    old_size: u64,
    new_size: u64,
) -> Result<Vec<Hash>, ProveError> {
    if old_size == 0 || old_size > new_size {
        return Err(ProveError::OutOfRange {
            what: format!("consistency from size {old_size}"),
            size: new_size,
        });
    }
    let mut proof = Vec::with_capacity(64);
    sub_proof(src, 0, old_size, 0, new_size, true, &mut proof)?;
    Ok(proof)
}

/// The subtree consistency proof (Merkle Tree Certificates draft, section 4.4) that the subtree
/// `[start, end)` is part of the tree of `size` leaves.
pub fn subtree_consistency_proof(
    src: &(impl NodeSource + ?Sized),
    start: u64,
    end: u64,
    size: u64,
) -> Result<Vec<Hash>, ProveError> {
    if !is_valid_subtree(start, end) || end > size {
        return Err(ProveError::OutOfRange {
            what: format!("subtree [{start}, {end})"),
            size,
        });
    }
    let mut proof = Vec::with_capacity(64);
    sub_proof(src, start, end, 0, size, true, &mut proof)?;
    Ok(proof)
}

/// `SUBPROOF` generalised to subtrees, over the leaves `[base, base + size)`; `known` says the
/// verifier already has the hash of `[start, end)` when it is a node of this tree.
fn sub_proof(
    src: &(impl NodeSource + ?Sized),
    start: u64,
    end: u64,
    base: u64,
    size: u64,
    known: bool,
    out: &mut Vec<Hash>,
) -> Result<(), ProveError> {
    if start == 0 && end == size {
        if !known {
            out.push(range_hash(src, base, base + size)?);
        }
        return Ok(());
    }
    // size >= 2 here, so a largest power of two below it exists.
    let split = 1u64 << (63 - (size - 1).leading_zeros());
    if end <= split {
        sub_proof(src, start, end, base, split, known, out)?;
        out.push(range_hash(src, base + split, base + size)?);
    } else if split <= start {
        sub_proof(
            src,
            start - split,
            end - split,
            base + split,
            size - split,
            known,
            out,
        )?;
        out.push(range_hash(src, base, base + split)?);
    } else {
        // A valid subtree straddling the split starts at zero.
        sub_proof(src, 0, end - split, base + split, size - split, false, out)?;
        out.push(range_hash(src, base, base + split)?);
    }
    Ok(())
}
