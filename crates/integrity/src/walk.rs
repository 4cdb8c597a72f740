//! Scanning a root: every regular file and symlink under it (not following links), minus the
//! ignored ones, hashed in parallel into manifest entries; optionally copied into the store.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::error::{IntegrityError, io};
use crate::ignore::Ignore;
use crate::manifest::{EntryKind, FileEntry, Manifest};
use crate::objects::{ObjectStore, hash_reader};

/// What a scan found.
#[derive(Debug, Default)]
pub struct Scan {
    /// Files by relative path.
    pub files: Manifest,
    /// Paths that cannot be entries (a name that is not UTF-8, a FIFO, a socket, a device):
    /// never part of a baseline, so status reports them as planted.
    pub strange: Vec<PathBuf>,
}

/// The root-relative, `/`-separated form of `path`, or `None` when it is not UTF-8.
pub fn relative(root: &Path, path: &Path) -> Option<String> {
    let rel = path.strip_prefix(root).ok()?;
    let parts: Option<Vec<&str>> = rel.components().map(|c| c.as_os_str().to_str()).collect();
    parts.map(|p| p.join("/"))
}

/// The entry of one path, or `None` when it is gone, a folder or not a file or symlink.
/// With a store, a copy of the content is kept and the entry describes that copy.
pub fn entry_of(
    path: &Path,
    rel: &str,
    store: Option<&ObjectStore>,
) -> Result<Option<FileEntry>, IntegrityError> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io(path)(e)),
    };
    let (kind, hash, size) = if meta.file_type().is_symlink() {
        let target = match std::fs::read_link(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io(path)(e)),
        };
        let bytes = std::os::unix::ffi::OsStrExt::as_bytes(target.as_os_str()).to_vec();
        let (hash, size) = match store {
            Some(s) => s.put(&bytes[..])?,
            None => (
                blake3::hash(&bytes).to_hex().to_string(),
                bytes.len() as u64,
            ),
        };
        (EntryKind::Symlink, hash, size)
    } else if meta.file_type().is_file() {
        let file = match std::fs::File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io(path)(e)),
        };
        let (hash, size) = hash_reader(&file).map_err(io(path))?;
        let hash = match store {
            Some(s) => s.put_file(path, &hash)?,
            None => hash,
        };
        (EntryKind::File, hash, size)
    } else {
        return Ok(None);
    };
    Ok(Some(FileEntry {
        path: rel.to_string(),
        kind,
        hash,
        size,
        mode: meta.mode() & 0o7777,
        uid: meta.uid(),
        gid: meta.gid(),
        mtime_ns: meta
            .mtime()
            .saturating_mul(1_000_000_000)
            .saturating_add(meta.mtime_nsec()),
    }))
}

/// The regular files and symlinks under `root` (absolute path, relative path), not following
/// links, minus ignored paths and `skip`; strange files (FIFOs, sockets, devices, names that are
/// not UTF-8) go to `strange`.
fn collect(
    root: &Path,
    ignore: &Ignore,
    skip: Option<&Path>,
    strange: &mut Vec<PathBuf>,
) -> Result<Vec<(PathBuf, String)>, IntegrityError> {
    let mut todo: Vec<(PathBuf, String)> = Vec::new();
    let walker = walkdir::WalkDir::new(root)
        .follow_links(false)
        .min_depth(1)
        .into_iter()
        .filter_entry(|e| {
            if skip.is_some_and(|s| e.path() == s) {
                return false;
            }
            match relative(root, e.path()) {
                Some(rel) => !ignore.is_ignored(&rel),
                None => true,
            }
        });
    for item in walker {
        let item = item.map_err(|e| {
            let path = e.path().unwrap_or(root).to_path_buf();
            IntegrityError::Io {
                path,
                source: e.into(),
            }
        })?;
        let ft = item.file_type();
        if ft.is_dir() {
            continue;
        }
        match relative(root, item.path()) {
            Some(rel) if ft.is_file() || ft.is_symlink() => {
                todo.push((item.path().to_path_buf(), rel));
            }
            _ => strange.push(item.path().to_path_buf()),
        }
    }
    Ok(todo)
}

/// The regular files and symlinks under `root` as (absolute path, relative path).
pub fn list(
    root: &Path,
    ignore: &Ignore,
    skip: Option<&Path>,
) -> Result<Vec<(PathBuf, String)>, IntegrityError> {
    collect(root, ignore, skip, &mut Vec::new())
}

/// Scans `root`; `skip` is a folder never scanned (the state folder when it lies inside).
pub fn scan(
    root: &Path,
    ignore: &Ignore,
    skip: Option<&Path>,
    store: Option<&ObjectStore>,
) -> Result<Scan, IntegrityError> {
    let mut scan = Scan::default();
    let todo = collect(root, ignore, skip, &mut scan.strange)?;
    let entries: Vec<Result<Option<FileEntry>, IntegrityError>> = todo
        .par_iter()
        .map(|(path, rel)| entry_of(path, rel, store))
        .collect();
    for e in entries {
        if let Some(entry) = e? {
            scan.files.insert(entry.path.clone(), entry);
        }
    }
    Ok(scan)
}
