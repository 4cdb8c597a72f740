//! The errors of this crate: bad input names its field, bad files name file, line and key.

/// A payment request that cannot be scored: which field and what is wrong with it. Never turned
/// into a default score.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{field}`: {message}")]
pub struct InputError {
    /// Path of the offending field, e.g. `amount.currency`.
    pub field: String,
    /// What is wrong, in words.
    pub message: String,
}

impl InputError {
    /// An error about `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> InputError {
        InputError {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// A rules, model or training file that was refused.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {message}")]
pub struct FileError {
    /// The file.
    pub file: String,
    /// What is wrong, with line and key where known.
    pub message: String,
}

impl FileError {
    /// An error about `file`.
    pub fn new(file: impl Into<String>, message: impl Into<String>) -> FileError {
        FileError {
            file: file.into(),
            message: message.into(),
        }
    }

    /// Writing `path` failed: names it, then the step and the file or folder it failed on.
    pub(crate) fn writing(path: &std::path::Path, e: ensuresec_durable::WriteError) -> FileError {
        FileError::new(path.display().to_string(), e.to_string())
    }
}
