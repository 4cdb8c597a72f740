//! Why an integrity operation failed. Every error names the file, line or limit at fault.

use std::path::PathBuf;

/// Why an integrity operation failed.
#[derive(Debug, thiserror::Error)]
pub enum IntegrityError {
    /// A file or folder could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The failure.
        source: std::io::Error,
    },
    /// A state file, key or restored file could not be written whole; names the step and file.
    #[error(transparent)]
    Write(#[from] ensuresec_durable::WriteError),
    /// A baseline manifest or header is malformed.
    #[error("{file}: line {line}: {message}")]
    Parse {
        /// The file (or a description of the input).
        file: String,
        /// 1-based line.
        line: usize,
        /// What is wrong, naming the field.
        message: String,
    },
    /// A size or count limit was exceeded.
    #[error("{what}: more than {limit} allowed")]
    Limit {
        /// What was too large.
        what: String,
        /// The limit.
        limit: u64,
    },
    /// The baseline's signature does not verify, or its manifest does not match the signed hash.
    #[error("baseline signature: {0}")]
    Signature(String),
    /// No baseline exists yet in the state directory.
    #[error("no baseline in {0}: run `ensuresec integrity baseline DIR` first")]
    NoBaseline(PathBuf),
    /// The baseline changed (an accept) between the status a restore was computed from and the
    /// restore: restoring would undo the newly accepted files.
    #[error(
        "the baseline in {dir} changed from generation {was} to {now} since the changes were \
         listed; nothing was restored: list them again"
    )]
    BaselineChanged {
        /// The state folder.
        dir: PathBuf,
        /// The generation the changes were listed against.
        was: u64,
        /// The generation now.
        now: u64,
    },
    /// A baseline already exists where a first one was asked for.
    #[error("a baseline already exists in {0}: use `ensuresec integrity accept` for a new one")]
    BaselineExists(PathBuf),
    /// An ignore pattern is not a valid glob.
    #[error("ignore pattern `{pattern}`: {message}")]
    Pattern {
        /// The pattern.
        pattern: String,
        /// What is wrong.
        message: String,
    },
    /// A stored copy is missing or does not hash to its name.
    #[error("copy store: object {hash}: {message}")]
    Object {
        /// The object's BLAKE3 hash.
        hash: String,
        /// What is wrong.
        message: String,
    },
    /// A change asked for is refused (a script authorisation without a justification, with a
    /// bad hash, for a script never seen); the message names the field.
    #[error("{0}")]
    Refused(String),
    /// A monitored page or one of its scripts could not be fetched.
    #[error("fetching {url}: {message}")]
    Fetch {
        /// The URL.
        url: String,
        /// What went wrong.
        message: String,
    },
    /// A path cannot be monitored or restored (not UTF-8, outside the root, through a symlink).
    #[error("{path}: {message}")]
    Path {
        /// The path.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

/// Shorthand for an IO error on `path`.
pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> IntegrityError {
    let path = path.into();
    move |source| IntegrityError::Io { path, source }
}
