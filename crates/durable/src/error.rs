//! What failed while writing a file, and where.

use std::path::{Path, PathBuf};

/// A step of a durable write failed. The message names the step and the file or folder, e.g.
/// `syncing /var/lib/ensuresec/fraud-state.bin: No space left on device (os error 28)`.
#[derive(Debug, thiserror::Error)]
#[error("{action} {}: {source}", path.display())]
pub struct WriteError {
    /// The step that failed, in words ("creating a temporary file in", "replacing", …).
    pub action: &'static str,
    /// The file or folder it failed on.
    pub path: PathBuf,
    /// Why it failed.
    pub source: std::io::Error,
}

impl WriteError {
    /// Builds the error of one step; used as `.map_err(WriteError::at("syncing", path))`.
    pub(crate) fn at(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.to_path_buf();
        move |source| WriteError {
            action,
            path,
            source,
        }
    }

    /// The kind of the underlying failure, so that callers can tell "already exists" or
    /// "not found" from the rest.
    pub fn kind(&self) -> std::io::ErrorKind {
        self.source.kind()
    }
}

impl From<WriteError> for std::io::Error {
    /// Keeps the kind and puts the step and path into the message.
    fn from(e: WriteError) -> Self {
        std::io::Error::new(e.kind(), e)
    }
}
