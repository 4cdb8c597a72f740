//! Names of the files in a log directory and the small helper to replace one safely.
//!
//! ```text
//! <dir>/LOCK                   held (flock) by the one process writing the log
//! <dir>/entries.log            framed entries, the only source of truth (fdatasync per batch)
//! <dir>/index.bin              u64 BE byte offset of each entry's record (derived)
//! <dir>/tree/level-NN.bin      hashes of perfect subtrees at level NN, in index order (derived)
//! <dir>/derived.json           size up to which the derived files are known synced
//! <dir>/checkpoints.log        every signed checkpoint the log published, framed like entries
//! ```

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The lock file.
pub(crate) const LOCK: &str = "LOCK";
/// The entries file.
pub(crate) const ENTRIES: &str = "entries.log";
/// The entry offset index.
pub(crate) const INDEX: &str = "index.bin";
/// The folder of node-hash files.
pub(crate) const TREE_DIR: &str = "tree";
/// The derived-state watermark.
pub(crate) const DERIVED: &str = "derived.json";
/// The checkpoint history.
pub(crate) const CHECKPOINTS: &str = "checkpoints.log";

/// Bytes per index record.
pub(crate) const INDEX_RECORD: u64 = 8;

/// Path of the node-hash file of one level.
pub(crate) fn level_path(dir: &Path, level: u8) -> PathBuf {
    dir.join(TREE_DIR).join(format!("level-{level:02}.bin"))
}

/// Opens (creating if needed) a file for reading and positional writing.
pub(crate) fn open_rw(path: &Path) -> std::io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
}

/// Replaces a small file whole (see `ensuresec_durable`); the log's files are readable by all,
/// as the log is public.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    Ok(ensuresec_durable::replace(path, 0o644, bytes)?)
}

/// The watermark of the derived files: they hold exactly `size` entries ending at byte
/// `entries_end` of the entries file, and were synced before this was written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Derived {
    /// Number of entries covered.
    pub size: u64,
    /// Byte offset just past the last covered record.
    pub entries_end: u64,
}

impl Derived {
    /// Reads the watermark; a missing or unreadable one means "rebuild from the start".
    pub(crate) fn load(dir: &Path) -> Self {
        std::fs::read(dir.join(DERIVED))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    /// Writes the watermark atomically.
    pub(crate) fn store(&self, dir: &Path) -> std::io::Result<()> {
        let bytes = serde_json::to_vec(self).map_err(std::io::Error::other)?;
        write_atomic(&dir.join(DERIVED), &bytes)
    }
}
