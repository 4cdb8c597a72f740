//! Why a recovery operation was refused or failed, with the file, line, asset or step named.

/// Errors of this crate.
#[derive(Debug, thiserror::Error)]
pub enum RecoveryError {
    /// The dependency graph handed in is inconsistent.
    #[error("dependency graph: {0}")]
    Graph(String),
    /// An observation, probe or action names an asset the model does not have.
    #[error("unknown asset `{0}`")]
    UnknownAsset(String),
    /// A recovery file is too large, does not parse or makes no sense.
    #[error("{file}:{line}: {message}")]
    Config {
        /// The file.
        file: String,
        /// 1-based line (1 when the parser gives none).
        line: usize,
        /// What is wrong, naming the key.
        message: String,
    },
    /// Execution was asked for without an approval.
    #[error("executing a recovery plan needs an approval: {0}")]
    NotApproved(String),
    /// The audit log refused a step record; the plan stops rather than run unrecorded.
    #[error("audit log: {0}")]
    Audit(String),
}
