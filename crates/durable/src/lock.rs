//! The write lock of a folder that several processes change: a server and the commands an
//! operator runs beside it (an integrity `accept` while the monitor restores, two credentials
//! issued at once). Each change reads, decides and writes; without the lock two of them read
//! the same state and the second write undoes the first.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::Path;

use crate::WriteError;
use crate::write::remove_leftovers;

/// The name of the lock file in a locked folder.
pub const LOCK_FILE: &str = ".lock";

/// Held while a process changes a folder; the lock is released when this is dropped (or when
/// the process dies, so a crash never leaves a folder locked).
#[derive(Debug)]
pub struct FolderLock {
    // An exclusive `flock` on the open file is the lock; closing the file releases it.
    _file: File,
}

/// Takes the write lock of `dir`, waiting while another process holds it, then removes the
/// temporary files an interrupted write left in each of `sweep`, folders relative to `dir`
/// (`"."` for `dir` itself). Name only folders that nothing writes to without this lock: a
/// write under way elsewhere would lose its temporary file. The lock file is created
/// owner-only when missing.
pub fn lock_folder(dir: &Path, sweep: &[&str]) -> Result<FolderLock, WriteError> {
    let path = dir.join(LOCK_FILE);
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(&path)
        .map_err(WriteError::at("opening", &path))?;
    file.lock().map_err(WriteError::at("locking", &path))?;
    for folder in sweep {
        remove_leftovers(&dir.join(folder))?;
    }
    Ok(FolderLock { _file: file })
}
