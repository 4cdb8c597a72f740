//! The state readers share with the writer: open files, the committed size and root, and the
//! upper node-hash levels kept in memory.

use std::cell::Cell;
use std::fs::File;
use std::os::unix::fs::FileExt as _;
use std::path::PathBuf;
use std::sync::{Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::hash::{HASH_SIZE, Hash, empty_root, node_hash};
use crate::merkle::NodeSource;

/// What the writer has committed and readers may see.
#[derive(Debug, Clone)]
pub(crate) struct TreeState {
    /// Number of durable entries.
    pub size: u64,
    /// Byte offset just past the last durable record.
    pub entries_end: u64,
    /// [`crate::merkle::Frontier::right_edge`] at `size`: the root and the imperfect nodes
    /// proofs against the current size need, ready instead of folded per proof.
    pub edge: Vec<(u64, Hash)>,
    /// Node hashes of levels `memory_level..`, `high[k]` being level `memory_level + k`.
    pub high: Vec<Vec<Hash>>,
}

impl TreeState {
    /// Root hash at `size`.
    pub fn root(&self) -> Hash {
        self.edge.first().map_or_else(empty_root, |e| e.1)
    }
}

/// Files and state shared by the writer thread and all readers.
#[derive(Debug)]
pub(crate) struct Shared {
    pub dir: PathBuf,
    pub entries: File,
    pub index: File,
    /// Node-hash files of levels `0..memory_level`, read with positional reads.
    pub low: Vec<File>,
    pub memory_level: u8,
    pub max_entry_bytes: usize,
    pub state: RwLock<TreeState>,
    /// Set when a storage operation failed: the writer refuses further appends.
    pub failure: Mutex<Option<String>>,
}

impl Shared {
    /// Read access to the committed state (a poisoned lock still holds consistent data: the
    /// writer publishes with a single assignment).
    pub(crate) fn read(&self) -> RwLockReadGuard<'_, TreeState> {
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Write access to the committed state; for the writer thread only.
    pub(crate) fn write(&self) -> RwLockWriteGuard<'_, TreeState> {
        self.state.write().unwrap_or_else(|e| e.into_inner())
    }

    /// The failure message, if storage has failed.
    pub(crate) fn failure(&self) -> Option<String> {
        self.failure
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Records a storage failure.
    pub(crate) fn fail(&self, message: String) {
        let mut f = self.failure.lock().unwrap_or_else(|e| e.into_inner());
        if f.is_none() {
            *f = Some(message);
        }
    }
}

/// Levels below this one are hashed from one read of the `1 << LEAF_GROUP_LEVELS` leaf hashes
/// around a node instead of one positional read per level: a proof's siblings at levels 0, 1 and
/// 2 then cost one read and four node hashes instead of three reads.
const LEAF_GROUP_LEVELS: u8 = 3;

/// Leaf hashes in one group.
const LEAF_GROUP: usize = 1 << LEAF_GROUP_LEVELS;

/// The leaf hashes of one aligned group, as read from the level-0 file.
#[derive(Clone, Copy)]
struct LeafGroup {
    /// Index of the group (its first leaf divided by [`LEAF_GROUP`]).
    group: u64,
    /// The group's leaves; those past the tree's size are left zeroed and never used.
    leaves: [Hash; LEAF_GROUP],
}

/// Node hashes as of one committed state: what proof generation reads. Remembers the last leaf
/// group it read, so the low siblings of one proof cost one read.
pub(crate) struct NodeView<'a> {
    shared: &'a Shared,
    state: &'a TreeState,
    group: Cell<Option<LeafGroup>>,
}

impl<'a> NodeView<'a> {
    /// A view of `state`, reading the low levels through `shared`.
    pub(crate) fn new(shared: &'a Shared, state: &'a TreeState) -> Self {
        Self {
            shared,
            state,
            group: Cell::new(None),
        }
    }

    /// The perfect subtree `(level, index)`, of a level below [`LEAF_GROUP_LEVELS`] and inside
    /// the tree, hashed from its leaf group.
    fn hash_from_leaf_group(&self, level: u8, index: u64) -> std::io::Result<Hash> {
        let first = index << level;
        let group = first / LEAF_GROUP as u64;
        let cached = match self.group.get() {
            Some(g) if g.group == group => g,
            _ => {
                let g = self.read_leaf_group(group)?;
                self.group.set(Some(g));
                g
            }
        };
        let at = (first % LEAF_GROUP as u64) as usize;
        Ok(subtree_hash(&cached.leaves[at..at + (1usize << level)]))
    }

    /// Reads the leaf hashes of group `group` that the committed tree has, with one read.
    fn read_leaf_group(&self, group: u64) -> std::io::Result<LeafGroup> {
        let file = self
            .shared
            .low
            .first()
            .ok_or_else(|| std::io::Error::other("node level file missing"))?;
        let first = group * LEAF_GROUP as u64;
        let count = usize::try_from(self.state.size.saturating_sub(first))
            .map_or(LEAF_GROUP, |n| n.min(LEAF_GROUP));
        let mut bytes = [0u8; LEAF_GROUP * HASH_SIZE];
        file.read_exact_at(&mut bytes[..count * HASH_SIZE], first * HASH_SIZE as u64)?;
        let mut out = LeafGroup {
            group,
            leaves: [[0u8; HASH_SIZE]; LEAF_GROUP],
        };
        for (leaf, b) in out.leaves.iter_mut().zip(bytes.chunks_exact(HASH_SIZE)) {
            leaf.copy_from_slice(b);
        }
        Ok(out)
    }
}

/// The hash of the perfect subtree over `leaves` (a power of two of them).
fn subtree_hash(leaves: &[Hash]) -> Hash {
    match leaves {
        [leaf] => *leaf,
        _ => {
            let (left, right) = leaves.split_at(leaves.len() / 2);
            node_hash(&subtree_hash(left), &subtree_hash(right))
        }
    }
}

impl NodeSource for NodeView<'_> {
    fn node(&self, level: u8, index: u64) -> std::io::Result<Hash> {
        let level_size = if level >= 64 {
            0
        } else {
            self.state.size >> level
        };
        if index >= level_size {
            return Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "node is not in the committed tree",
            ));
        }
        if level < self.shared.memory_level.min(LEAF_GROUP_LEVELS) {
            self.hash_from_leaf_group(level, index)
        } else if level < self.shared.memory_level {
            let file = self
                .shared
                .low
                .get(usize::from(level))
                .ok_or_else(|| std::io::Error::other("node level file missing"))?;
            let mut h = [0u8; HASH_SIZE];
            file.read_exact_at(&mut h, index * HASH_SIZE as u64)?;
            Ok(h)
        } else {
            self.state
                .high
                .get(usize::from(level - self.shared.memory_level))
                .and_then(|l| usize::try_from(index).ok().and_then(|i| l.get(i)))
                .copied()
                .ok_or_else(|| std::io::Error::other("node missing from memory levels"))
        }
    }

    fn cached_range(&self, lo: u64, hi: u64) -> Option<Hash> {
        if hi != self.state.size {
            return None;
        }
        let at = self.state.edge.binary_search_by_key(&lo, |e| e.0).ok()?;
        self.state.edge.get(at).map(|e| e.1)
    }
}
