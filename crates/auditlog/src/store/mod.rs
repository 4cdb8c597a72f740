//! Durable append-only storage of the log in one directory, with a single writer thread that
//! group-commits appends (one `fdatasync` per batch) and acknowledges an entry only once durable.
//!
//! The entries file is the only source of truth; the index and the node-hash files are derived
//! from it, synced lazily, and rebuilt from a synced watermark on open (crash recovery).

mod ack;
mod checkpoints;
mod derive;
mod layout;
mod log;
mod nodes;
mod reader;
mod record;
mod recovery;
mod writer;

use std::time::Duration;

pub use ack::Ack;
pub use log::Log;
pub use reader::{LogReader, MAX_ENTRIES_PER_READ};

pub(crate) use checkpoints::read_records as read_checkpoint_records;
pub(crate) use layout::write_atomic;

pub(crate) use layout::{CHECKPOINTS, Derived, ENTRIES, INDEX, INDEX_RECORD, level_path};
pub(crate) use record::{
    Decoded, HEADER as RECORD_HEADER, checksum_matches, frame as frame_record,
};

/// Largest entry the tlog-tiles entry bundles can carry (a big-endian u16 length prefix).
pub const TILES_MAX_ENTRY_BYTES: usize = u16::MAX as usize;

/// How the log batches, bounds and caches. Every field has a unit in its name or type.
#[derive(Debug, Clone)]
pub struct LogConfig {
    /// Most entries committed by one `fdatasync`.
    pub max_batch_entries: usize,
    /// Most entry bytes committed by one `fdatasync`.
    pub max_batch_bytes: usize,
    /// How long the writer waits for more appends after the first of a batch. Zero, the
    /// default, commits whatever has queued up while the previous batch was being synced: under
    /// load the batches form during the `fdatasync` anyway, and an append reaching an idle log
    /// does not wait.
    pub batch_linger: Duration,
    /// Largest entry accepted; the default keeps every entry servable in tlog-tiles bundles.
    pub max_entry_bytes: usize,
    /// Appends queued for the writer before `append` blocks (back-pressure).
    pub queue_capacity: usize,
    /// Node-hash levels at and above this one are kept in memory (about `64 >> level` bytes per
    /// entry); lower levels are read from their files. The default, 3, costs 8 bytes per entry
    /// (80 MB for ten million) and leaves three positional reads per inclusion proof, which
    /// dominate its cost.
    pub memory_level: u8,
    /// Entries appended between syncs of the derived files (bounds the work of recovery).
    pub derived_sync_entries: u64,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            max_batch_entries: 16_384,
            max_batch_bytes: 8 << 20,
            batch_linger: Duration::ZERO,
            max_entry_bytes: TILES_MAX_ENTRY_BYTES,
            queue_capacity: 65_536,
            memory_level: 3,
            derived_sync_entries: 1 << 20,
        }
    }
}

/// Why an append was not acknowledged. Cloneable because one storage failure fails a whole batch.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AppendError {
    /// The entry is larger than the configured maximum.
    #[error("entry of {len} bytes exceeds the maximum of {max} bytes")]
    TooLarge {
        /// Size of the refused entry.
        len: usize,
        /// Configured maximum.
        max: usize,
    },
    /// The log is closed (or its writer stopped) before the entry was durable.
    #[error("log is closed")]
    Closed,
    /// Storage failed; the log refuses all further appends until reopened (which recovers).
    #[error("storage failed, log is read-only until reopened: {0}")]
    Failed(String),
}

/// Errors of opening, reading or checkpointing a stored log.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A file operation failed.
    #[error("{context}")]
    Io {
        /// What was being done, naming the file.
        context: String,
        /// The underlying failure.
        #[source]
        source: std::io::Error,
    },
    /// Another process holds the log directory.
    #[error("log directory {0} is locked by another process")]
    Locked(String),
    /// The stored data is damaged beyond a torn tail and was not modified.
    #[error("corrupt log: {0}")]
    Corrupt(String),
    /// The latest stored checkpoint does not match the entries on disk.
    #[error("stored checkpoint of size {size} does not match the log: {reason}")]
    CheckpointMismatch {
        /// Tree size of the checkpoint.
        size: u64,
        /// What disagrees.
        reason: String,
    },
    /// An index or size beyond the log was asked for.
    #[error("{what} is beyond the log size {size}")]
    OutOfRange {
        /// The request, in words.
        what: String,
        /// Current size of the log.
        size: u64,
    },
    /// A proof could not be built.
    #[error(transparent)]
    Prove(#[from] crate::merkle::ProveError),
    /// A checkpoint could not be built or parsed.
    #[error(transparent)]
    Checkpoint(#[from] crate::checkpoint::CheckpointError),
    /// The log refused writes after a storage failure.
    #[error(transparent)]
    Append(#[from] AppendError),
}

/// Attaches a context to an IO error.
pub(crate) fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> StoreError {
    let context = context.into();
    move |source| StoreError::Io { context, source }
}
