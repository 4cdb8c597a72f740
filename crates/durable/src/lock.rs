//! Locks between processes. The write lock of a folder that several processes change: a
//! server and the commands an operator runs beside it (an integrity `accept` while the monitor
//! restores, two credentials issued at once). Each change reads, decides and writes; without
//! the lock two of them read the same state and the second write undoes the first. And the
//! lock of a state that one process keeps in memory, so that a second one is refused.

use std::fs::{File, OpenOptions, TryLockError};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::Path;

use crate::WriteError;
use crate::write::remove_leftovers;

/// The name of the lock file in a locked folder.
pub const LOCK_FILE: &str = ".lock";

/// Held while a process changes a folder or keeps a state; the lock is released when this is
/// dropped (or when the process dies, so a crash never leaves anything locked).
#[derive(Debug)]
pub struct Lock {
    // An exclusive `flock` on the open file is the lock; closing the file releases it.
    _file: File,
}

/// Takes the write lock of `dir`, waiting while another process holds it, then removes the
/// temporary files an interrupted write left in each of `sweep`, folders relative to `dir`
/// (`"."` for `dir` itself). Name only folders that nothing writes to without this lock: a
/// write under way elsewhere would lose its temporary file. The lock file is created
/// owner-only when missing.
pub fn lock_folder(dir: &Path, sweep: &[&str]) -> Result<Lock, WriteError> {
    let path = dir.join(LOCK_FILE);
    let file = open_lock_file(&path)?;
    file.lock().map_err(WriteError::at("locking", &path))?;
    for folder in sweep {
        remove_leftovers(&dir.join(folder))?;
    }
    Ok(Lock { _file: file })
}

/// Takes the lock file `path` (created owner-only when missing) for as long as the returned
/// lock lives, without waiting: `None` when another process holds it. For a state one process
/// keeps in memory and must be the only one to write (a witness's memory of what it cosigned:
/// two witnesses on one state could cosign two different trees of the same size).
pub fn try_lock_file(path: &Path) -> Result<Option<Lock>, WriteError> {
    let file = open_lock_file(path)?;
    match file.try_lock() {
        Ok(()) => Ok(Some(Lock { _file: file })),
        Err(TryLockError::WouldBlock) => Ok(None),
        Err(TryLockError::Error(e)) => Err(WriteError::at("locking", path)(e)),
    }
}

/// Opens (creating owner-only) a lock file; its content is never read or written.
fn open_lock_file(path: &Path) -> Result<File, WriteError> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)
        .map_err(WriteError::at("opening", path))
}
