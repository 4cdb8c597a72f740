//! The right edge of a growing tree (a "compact range" from leaf zero): the roots of the perfect
//! subtrees that make up the tree, which is all a writer or a streaming verifier must keep to
//! hash new leaves and compute the current root.

use crate::hash::{Hash, empty_root, node_hash};

/// Roots of the perfect subtrees covering `[0, size)`, largest (leftmost) first: one per set bit
/// of `size`, so at most 64.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    nodes: Vec<Hash>,
}

impl Frontier {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Rebuilds a frontier from stored node hashes; `nodes` must be the perfect subtrees listed by
    /// [`Frontier::node_positions`] for `size`, in that order.
    pub fn from_nodes(size: u64, nodes: Vec<Hash>) -> Option<Self> {
        (nodes.len() == size.count_ones() as usize).then_some(Self { size, nodes })
    }

    /// The `(level, index)` of each perfect subtree making up a tree of `size` leaves, left to
    /// right: where to read the hashes that rebuild a frontier.
    pub fn node_positions(size: u64) -> Vec<(u8, u64)> {
        let mut out = Vec::with_capacity(size.count_ones() as usize);
        let mut covered = 0u64;
        for level in (0..64u8).rev() {
            let width = 1u64 << level;
            if size & width != 0 {
                out.push((level, covered >> level));
                covered += width;
            }
        }
        out
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends a leaf hash; `on_node` sees the leaf (level 0) and every inner node the append
    /// completes, as `(level, index, hash)`, so a caller can store them.
    pub fn push(&mut self, leaf: Hash, mut on_node: impl FnMut(u8, u64, &Hash)) {
        let mut hash = leaf;
        let mut index = self.size;
        let mut level = 0u8;
        on_node(level, index, &hash);
        while index & 1 == 1 {
            let Some(left) = self.nodes.pop() else {
                break;
            };
            hash = node_hash(&left, &hash);
            index >>= 1;
            level += 1;
            on_node(level, index, &hash);
        }
        self.nodes.push(hash);
        self.size += 1;
    }

    /// The hashes of the tree's right edge: for each perfect subtree of the frontier, the hash of
    /// the leaves from its first one to the end of the tree, as `(first leaf, hash)`, leftmost
    /// (the root) first. They are the imperfect nodes proofs against this size need; computing
    /// them costs what [`Frontier::root`] costs.
    pub fn right_edge(&self) -> Vec<(u64, Hash)> {
        let mut out = Vec::with_capacity(self.nodes.len());
        let mut end = self.size;
        let mut acc: Option<Hash> = None;
        for node in self.nodes.iter().rev() {
            let width = 1u64 << end.trailing_zeros().min(63);
            end -= width;
            let hash = acc.map_or(*node, |right| node_hash(node, &right));
            out.push((end, hash));
            acc = Some(hash);
        }
        out.reverse();
        out
    }

    /// The root hash of the tree (the empty-tree hash for size zero).
    pub fn root(&self) -> Hash {
        let mut iter = self.nodes.iter().rev();
        let Some(last) = iter.next() else {
            return empty_root();
        };
        iter.fold(*last, |acc, left| node_hash(left, &acc))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::leaf_hash;

    #[test]
    fn positions_cover_the_tree() {
        assert_eq!(Frontier::node_positions(0), vec![]);
        assert_eq!(Frontier::node_positions(13), vec![(3, 0), (2, 2), (0, 12)]);
    }

    #[test]
    fn push_reports_completed_nodes() {
        let mut f = Frontier::new();
        let mut seen = Vec::new();
        for i in 0..4u8 {
            f.push(leaf_hash(&[i]), |l, n, _| seen.push((l, n)));
        }
        assert_eq!(
            seen,
            vec![(0, 0), (0, 1), (1, 0), (0, 2), (0, 3), (1, 1), (2, 0)]
        );
        assert_eq!(f.size(), 4);
    }

    #[test]
    fn right_edge_holds_the_folds_of_the_tree_end() {
        let leaves: Vec<Hash> = (0..13u8).map(|i| leaf_hash(&[i])).collect();
        let mut f = Frontier::new();
        assert!(f.right_edge().is_empty());
        for l in &leaves {
            f.push(*l, |_, _, _| {});
        }
        let edge = f.right_edge();
        let starts: Vec<u64> = edge.iter().map(|e| e.0).collect();
        assert_eq!(starts, vec![0, 8, 12]);
        assert_eq!(edge[0].1, f.root());
        let four = node_hash(
            &node_hash(&leaves[8], &leaves[9]),
            &node_hash(&leaves[10], &leaves[11]),
        );
        assert_eq!(edge[1].1, node_hash(&four, &leaves[12]));
        assert_eq!(edge[2].1, leaves[12]);
    }
}
