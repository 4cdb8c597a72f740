//! The state readers share with the writer: open files, the committed size and root, and the
//! upper node-hash levels kept in memory.

use std::fs::File;
use std::os::unix::fs::FileExt as _;
use std::path::PathBuf;
use std::sync::{Mutex, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::hash::{HASH_SIZE, Hash};
use crate::merkle::NodeSource;

/// What the writer has committed and readers may see.
#[derive(Debug, Clone)]
pub(crate) struct TreeState {
    /// Number of durable entries.
    pub size: u64,
    /// Byte offset just past the last durable record.
    pub entries_end: u64,
    /// Root hash at `size`.
    pub root: Hash,
    /// Node hashes of levels `memory_level..`, `high[k]` being level `memory_level + k`.
    pub high: Vec<Vec<Hash>>,
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

/// Node hashes as of one committed state: what proof generation reads.
pub(crate) struct NodeView<'a> {
    pub shared: &'a Shared,
    pub state: &'a TreeState,
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
        if level < self.shared.memory_level {
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
}
