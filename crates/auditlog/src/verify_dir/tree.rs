//! The tree half of the offline verifier: recomputes every inner node level by level from a run
//! of leaf hashes (each level's nodes hashed many at once) and compares each level with its stored file, read with one positional read per
//! level and run. The node left without its right sibling at each level is carried to the next
//! run; those carries are the tree's frontier, so the root after any run is a fold of them.
//! A level file may end early only past the nodes of the entries the derived files were synced
//! for: a writer that stops abruptly leaves its last batch underived.

use std::fs::File;
use std::path::Path;

use crate::hash::{HASH_SIZE, Hash, empty_root, node_hash, node_hashes};
use crate::store::level_path;

use super::{Short, read_or_short};

/// Levels a tree of at most `u64::MAX` leaves can have above its leaves.
const LEVELS: usize = 64;

/// A stored inner node that is missing or differs from the one recomputed from the leaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct BadNode {
    /// Level of the node (1 or more).
    pub level: u8,
    /// Index of the node within its level.
    pub index: u64,
}

impl BadNode {
    /// The leaf whose append completes this node: a leaf-by-leaf walk meets the node there, so
    /// bad nodes compare by it (then by level) to find the first problem.
    fn completed_at(self) -> u64 {
        ((self.index + 1) << self.level) - 1
    }
}

/// Recomputes the tree from its leaves and checks the stored node hashes of levels 1 and up.
pub(super) struct TreeChecker {
    /// Leaves pushed so far.
    size: u64,
    /// Per level, the node still waiting for its right sibling: the frontier.
    carries: [Option<Hash>; LEVELS],
    /// Stored node-hash files per level (index 0 unused: leaves are checked by the caller).
    files: Vec<Option<File>>,
    /// Leaves whose nodes the stored files must hold (the synced watermark).
    synced: u64,
    /// Scratch buffers reused for every run: stored bytes, the nodes of the level being
    /// combined, and those of the level above.
    stored: Vec<u8>,
    current: Vec<Hash>,
    above: Vec<Hash>,
}

impl TreeChecker {
    /// Opens every stored level file of `dir` that exists; nodes above the first `synced` leaves
    /// must be stored, later ones are compared where stored.
    pub(super) fn open(dir: &Path, synced: u64) -> std::io::Result<Self> {
        let mut files = Vec::with_capacity(LEVELS);
        for level in 0..LEVELS as u8 {
            files.push(if level == 0 {
                None
            } else {
                match File::open(level_path(dir, level)) {
                    Ok(f) => Some(f),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                    Err(e) => return Err(e),
                }
            });
        }
        Ok(Self {
            size: 0,
            carries: [None; LEVELS],
            files,
            synced,
            stored: Vec::new(),
            current: Vec::new(),
            above: Vec::new(),
        })
    }

    /// Leaves pushed so far.
    pub(super) fn size(&self) -> u64 {
        self.size
    }

    /// The root of the tree of the leaves pushed so far.
    pub(super) fn root(&self) -> Hash {
        let mut acc: Option<Hash> = None;
        for node in self.carries.iter().flatten() {
            acc = Some(acc.map_or(*node, |right| node_hash(node, &right)));
        }
        acc.unwrap_or_else(empty_root)
    }

    /// Adds the next run of leaf hashes, computing and checking every node they complete. On a
    /// bad node, returns the one a leaf-by-leaf walk would meet first; the checker is then
    /// unusable.
    pub(super) fn push(&mut self, leaves: &[Hash]) -> Result<(), BadNode> {
        let first = self.size;
        self.size += leaves.len() as u64;
        let mut worst: Option<BadNode> = None;
        self.current.clear();
        self.current.extend_from_slice(leaves);
        for level in 0..LEVELS - 1 {
            if self.current.is_empty() {
                break;
            }
            self.above.clear();
            let mut rest = &self.current[..];
            if let Some(left) = self.carries[level].take() {
                self.above.push(node_hash(&left, &rest[0]));
                rest = &rest[1..];
            }
            let paired = self.above.len();
            self.above.resize(paired + rest.len() / 2, Hash::default());
            node_hashes(rest, &mut self.above[paired..]);
            if rest.len() % 2 == 1 {
                self.carries[level] = rest.last().copied();
            }
            let up = level as u8 + 1;
            if let Some(bad) = self.check_level(up, first >> up) {
                let earlier = worst
                    .is_none_or(|w| (bad.completed_at(), bad.level) < (w.completed_at(), w.level));
                if earlier {
                    worst = Some(bad);
                }
            }
            std::mem::swap(&mut self.current, &mut self.above);
        }
        worst.map_or(Ok(()), Err)
    }

    /// Compares the nodes just computed for `level`, the first of which has index `first`,
    /// with the stored ones; returns the first that differs, or that is missing though synced.
    fn check_level(&mut self, level: u8, first: u64) -> Option<BadNode> {
        let computed = &self.above;
        if computed.is_empty() {
            return None;
        }
        self.stored.resize(computed.len() * HASH_SIZE, 0);
        let readable = match self.files.get(usize::from(level)) {
            Some(Some(file)) => {
                match read_or_short(file, &mut self.stored, first * HASH_SIZE as u64) {
                    Ok(()) => computed.len(),
                    Err(Short::At(bytes)) => usize::try_from(bytes).unwrap_or(0) / HASH_SIZE,
                    Err(Short::Io(_)) => 0,
                }
            }
            _ => 0,
        };
        let mismatch = computed
            .iter()
            .zip(self.stored.chunks_exact(HASH_SIZE))
            .take(readable)
            .position(|(c, s)| c[..] != *s)
            .unwrap_or(readable);
        let index = first + mismatch as u64;
        let missing_but_synced =
            mismatch == readable && readable < computed.len() && index < self.synced >> level;
        (mismatch < readable || missing_but_synced).then_some(BadNode { level, index })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // in tests a panic is the failure report

    use super::*;
    use crate::hash::leaf_hash;
    use crate::merkle::MemoryTree;
    use crate::merkle::NodeSource as _;

    /// Writes the stored levels of `tree` (size `n`) into `dir`'s tree folder.
    fn store_levels(dir: &Path, tree: &MemoryTree, n: u64) {
        std::fs::create_dir_all(level_path(dir, 1).parent().unwrap()).unwrap();
        for level in 1..64u8 {
            let count = n >> level;
            if count == 0 {
                break;
            }
            let bytes: Vec<u8> = (0..count)
                .flat_map(|i| tree.node(level, i).unwrap())
                .collect();
            std::fs::write(level_path(dir, level), bytes).unwrap();
        }
    }

    fn leaves(n: u64) -> Vec<Hash> {
        (0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect()
    }

    fn tree_of(leaves: &[Hash]) -> MemoryTree {
        let mut tree = MemoryTree::new();
        for l in leaves {
            tree.push_leaf_hash(*l);
        }
        tree
    }

    /// Flips a bit of the stored node `index` of `level`.
    fn damage(dir: &Path, level: u8, index: u64) {
        let path = level_path(dir, level);
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[index as usize * HASH_SIZE] ^= 1;
        std::fs::write(path, bytes).unwrap();
    }

    #[test]
    fn runs_of_any_length_give_the_roots_of_a_leaf_by_leaf_tree() {
        let n = 300u64;
        let all = leaves(n);
        let mut tree = MemoryTree::new();
        let mut roots = vec![tree.root()];
        for l in &all {
            tree.push_leaf_hash(*l);
            roots.push(tree.root());
        }
        let dir = tempfile::tempdir().unwrap();
        store_levels(dir.path(), &tree, n);
        for run in [1usize, 2, 3, 7, 64, 299, 300] {
            let mut checker = TreeChecker::open(dir.path(), n).unwrap();
            assert_eq!(checker.root(), roots[0]);
            for chunk in all.chunks(run) {
                checker.push(chunk).unwrap();
                assert_eq!(checker.root(), roots[checker.size() as usize], "run {run}");
            }
            assert_eq!(checker.size(), n);
        }
    }

    #[test]
    fn the_first_bad_node_in_walk_order_is_reported() {
        let n = 64u64;
        let all = leaves(n);
        let tree = tree_of(&all);
        let dir = tempfile::tempdir().unwrap();
        store_levels(dir.path(), &tree, n);
        // Damage node (3, 2), completed at leaf 23, and node (1, 20), completed at leaf 41.
        damage(dir.path(), 1, 20);
        let mut checker = TreeChecker::open(dir.path(), n).unwrap();
        assert_eq!(
            checker.push(&all),
            Err(BadNode {
                level: 1,
                index: 20
            })
        );
        damage(dir.path(), 3, 2);
        let mut checker = TreeChecker::open(dir.path(), n).unwrap();
        assert_eq!(checker.push(&all), Err(BadNode { level: 3, index: 2 }));
        // A missing level file is reported at its first node when it was synced.
        store_levels(dir.path(), &tree, n);
        std::fs::remove_file(level_path(dir.path(), 5)).unwrap();
        let mut checker = TreeChecker::open(dir.path(), n).unwrap();
        assert_eq!(checker.push(&all[..31]), Ok(()));
        assert_eq!(
            checker.push(&all[31..]),
            Err(BadNode { level: 5, index: 0 })
        );
    }

    #[test]
    fn nodes_past_the_synced_leaves_are_compared_only_where_stored() {
        let n = 64u64;
        let all = leaves(n);
        let tree = tree_of(&all);
        let dir = tempfile::tempdir().unwrap();
        // Stored as a writer killed after deriving 40 leaves leaves them: levels cut short.
        store_levels(dir.path(), &tree, 40);
        let mut checker = TreeChecker::open(dir.path(), 32).unwrap();
        assert_eq!(checker.push(&all), Ok(()));
        assert_eq!(checker.root(), tree.root());
        // Synced up to 48, the level-1 node of leaves 40 and 41 had to be stored.
        let mut checker = TreeChecker::open(dir.path(), 48).unwrap();
        assert_eq!(
            checker.push(&all),
            Err(BadNode {
                level: 1,
                index: 20
            })
        );
        // What is stored past the watermark must still match.
        damage(dir.path(), 2, 9);
        let mut checker = TreeChecker::open(dir.path(), 0).unwrap();
        assert_eq!(checker.push(&all), Err(BadNode { level: 2, index: 9 }));
    }
}
