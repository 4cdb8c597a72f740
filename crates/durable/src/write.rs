//! The durable writes: replace a file, create a new one, sync a folder.

use std::fs::{File, Permissions};
use std::io::Write as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

use tempfile::NamedTempFile;

use crate::WriteError;

/// Replaces `path` with `bytes` and gives it `mode` (e.g. `0o600` for secrets). Creates the file
/// when it does not exist; the folder must exist.
pub fn replace(path: &Path, mode: u32, bytes: &[u8]) -> Result<(), WriteError> {
    replace_with(path, mode, |file| file.write_all(bytes))
}

/// Replaces `path` with what `write` puts into the file it is given, and gives it `mode`.
/// Returns what `write` returns. For content too large to build in memory first (the fraud
/// feature state streams hundreds of megabytes) and for files that need more than their bytes
/// set (owner, modification time) before they take the place of the old one.
///
/// The file `write` gets is owner-only until everything is written; `mode` is set afterwards, so
/// a change of owner inside `write` cannot clear set-user-ID bits that `mode` asks for.
pub fn replace_with<T>(
    path: &Path,
    mode: u32,
    write: impl FnOnce(&mut File) -> std::io::Result<T>,
) -> Result<T, WriteError> {
    let (temporary, value) = write_temporary(path, mode, write)?;
    temporary
        .persist(path)
        .map_err(|e| WriteError::at("replacing", path)(e.error))?;
    sync_dir(folder_of(path))?;
    Ok(value)
}

/// Creates `path` with `bytes` and `mode`, refusing (kind `AlreadyExists`) when it exists. Unlike
/// opening with `create_new`, a crash never leaves a half-written file under the name: the name
/// appears only once the content is synced.
pub fn create_new(path: &Path, mode: u32, bytes: &[u8]) -> Result<(), WriteError> {
    let (temporary, ()) = write_temporary(path, mode, |file| file.write_all(bytes))?;
    temporary
        .persist_noclobber(path)
        .map_err(|e| WriteError::at("creating", path)(e.error))?;
    sync_dir(folder_of(path))
}

/// How the name of every temporary file written here ends.
const TEMPORARY_END: &str = ".ensuresec.tmp";

/// Removes from `dir` the temporary files a crash left behind in the middle of a write (a
/// state file's can be hundreds of megabytes), and returns how many. Only for a folder no
/// write is under way in: at start, before the writers start, or under the folder's
/// [`crate::lock_folder`], which calls it.
pub fn remove_leftovers(dir: &Path) -> Result<usize, WriteError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(WriteError::at("listing", dir)(e)),
    };
    let mut removed = 0;
    for entry in entries {
        let entry = entry.map_err(WriteError::at("listing", dir))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') && name.ends_with(TEMPORARY_END) && entry.path().is_file() {
            std::fs::remove_file(entry.path())
                .map_err(WriteError::at("removing", &entry.path()))?;
            removed += 1;
        }
    }
    if removed > 0 {
        sync_dir(dir)?;
    }
    Ok(removed)
}

/// Syncs a folder, so that files created, renamed or removed in it survive a crash.
pub fn sync_dir(dir: &Path) -> Result<(), WriteError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(WriteError::at("syncing", dir))
}

/// Creates an owner-only temporary file in `dir`, named after `name` the way every write here
/// names its own, so that [`remove_leftovers`] finds it after a crash; it is removed when
/// dropped. For writers that choose the final name only once the content is known (a store
/// that names its objects by their hash).
pub fn temporary_in(dir: &Path, name: &str) -> Result<NamedTempFile, WriteError> {
    // A leading dot and a `.tmp` end keep it out of the folder scans that read finished files;
    // the whole end marks it as ours for `remove_leftovers`.
    tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(TEMPORARY_END)
        .permissions(Permissions::from_mode(0o600))
        .tempfile_in(dir)
        .map_err(WriteError::at("creating a temporary file in", dir))
}

/// Writes a synced temporary file beside `path` with `mode`; it is removed when dropped.
fn write_temporary<T>(
    path: &Path,
    mode: u32,
    write: impl FnOnce(&mut File) -> std::io::Result<T>,
) -> Result<(NamedTempFile, T), WriteError> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut temporary = temporary_in(folder_of(path), &name)?;
    // Failures name the target, the file the user knows; the temporary one is gone by then.
    let value = write(temporary.as_file_mut()).map_err(WriteError::at("writing", path))?;
    let file = temporary.as_file();
    file.set_permissions(Permissions::from_mode(mode))
        .map_err(WriteError::at("setting the mode of", path))?;
    file.sync_all().map_err(WriteError::at("syncing", path))?;
    Ok((temporary, value))
}

/// The folder a file lives in; `.` for a bare file name: the folder to sync after creating,
/// renaming or removing the file.
pub fn folder_of(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}
