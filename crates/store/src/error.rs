//! Storage errors.

/// Why a storage operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database refused or failed an operation.
    #[error("database error: {0}")]
    Database(#[from] rusqlite::Error),
    /// The data directory could not be prepared.
    #[error("data directory `{path}`: {source}")]
    DataDir {
        /// The directory.
        path: std::path::PathBuf,
        /// The underlying failure.
        source: std::io::Error,
    },
    /// A stored record could not be decoded (corruption or a newer format).
    #[error("stored {what} #{id} cannot be decoded: {source}")]
    Corrupt {
        /// Which kind of record.
        what: &'static str,
        /// Its id.
        id: u64,
        /// The decoding failure.
        source: serde_json::Error,
    },
    /// A stored batch of events cannot be read back.
    #[error("stored event batch at sequence {first_seq} cannot be read: {message}")]
    CorruptBatch {
        /// Its first sequence number.
        first_seq: u64,
        /// What is wrong.
        message: String,
    },
    /// A record to be written could not be encoded.
    #[error("cannot encode {what}: {source}")]
    Encode {
        /// Which kind of record.
        what: &'static str,
        /// The encoding failure.
        source: serde_json::Error,
    },
    /// A token with that name exists already.
    #[error("a token named `{0}` exists already")]
    DuplicateToken(String),
    /// A batch key was sent again with a different batch.
    #[error("the key `{0}` was used before for a different batch")]
    KeyReused(String),
    /// The database was written by a newer ensuresec.
    #[error("database schema version {found} is newer than this ensuresec supports ({supported})")]
    SchemaTooNew {
        /// Version found on disk.
        found: i64,
        /// Latest version this build knows.
        supported: i64,
    },
    /// The transaction holding this write could not be committed.
    #[error("commit failed: {0}")]
    Commit(String),
    /// The writer thread has stopped (after an earlier fatal error, or at shutdown).
    #[error("the store is closed")]
    Closed,
    /// The system's random generator failed.
    #[error("random generator failed: {0}")]
    Random(String),
}
