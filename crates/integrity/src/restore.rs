//! Putting files back: planted files are moved to quarantine (never deleted), tampered and
//! deleted ones are rewritten from the copy store (verified, written to a temporary file beside
//! the target, then renamed over it), and mode, owner and mtime are set back. What was done is
//! appended to the journal and returned, so that callers can record it in the audit log.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::diff::{Change, ChangeKind};
use crate::error::{IntegrityError, io};
use crate::manifest::{EntryKind, FileEntry};
use crate::state::{Baseline, StateDir};

/// What a restore did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RestoreReport {
    /// Files written back from the copy store.
    pub restored: Vec<String>,
    /// Planted files moved away, with where they went.
    pub quarantined: Vec<(String, PathBuf)>,
    /// Files whose mode or owner was set back.
    pub metadata: Vec<String>,
    /// What could not be done fully (an owner that only root may set).
    pub warnings: Vec<String>,
}

/// The changes under `only` (a file, or a folder and everything below it); all without it.
pub fn select(changes: Vec<Change>, only: Option<&str>) -> Vec<Change> {
    let Some(only) = only.map(|o| o.trim_matches('/')) else {
        return changes;
    };
    changes
        .into_iter()
        .filter(|c| {
            c.path == only || (c.path.starts_with(only) && c.path[only.len()..].starts_with('/'))
        })
        .collect()
}

/// Creates the folders above `rel`, refusing to go through a symlink (a planted link to `/etc`
/// must not redirect a restore).
fn prepare_parents(root: &Path, rel: &str) -> Result<PathBuf, IntegrityError> {
    let mut dir = root.to_path_buf();
    let parts: Vec<&str> = rel.split('/').collect();
    for part in &parts[..parts.len() - 1] {
        dir.push(part);
        match std::fs::symlink_metadata(&dir) {
            Ok(m) if m.file_type().is_symlink() => {
                return Err(IntegrityError::Path {
                    path: dir,
                    message: "is a symlink where the baseline has a folder; not following it"
                        .into(),
                });
            }
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                return Err(IntegrityError::Path {
                    path: dir,
                    message: "is a file where the baseline has a folder".into(),
                });
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                std::fs::create_dir(&dir).map_err(io(&dir))?;
            }
            Err(e) => return Err(io(&dir)(e)),
        }
    }
    Ok(root.join(rel))
}

/// Moves `path` into the quarantine folder `qdir` under `rel`; made read-only there.
fn quarantine(path: &Path, rel: &Path, qdir: &Path) -> Result<PathBuf, IntegrityError> {
    let dest = qdir.join(rel);
    let parent = dest.parent().expect("a quarantined path has a folder");
    std::fs::create_dir_all(parent).map_err(io(parent))?;
    let meta = std::fs::symlink_metadata(path).map_err(io(path))?;
    match std::fs::rename(path, &dest) {
        Ok(()) => {}
        // Another file system: copy, then remove.
        Err(e) if e.raw_os_error() == Some(18) && meta.is_file() => {
            std::fs::copy(path, &dest).map_err(io(&dest))?;
            std::fs::remove_file(path).map_err(io(path))?;
        }
        Err(e) => return Err(io(path)(e)),
    }
    if meta.is_file() {
        std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(0o400))
            .map_err(io(&dest))?;
    }
    Ok(dest)
}

fn mtime_of(entry: &FileEntry) -> std::time::SystemTime {
    let ns = entry.mtime_ns.max(0) as u64;
    UNIX_EPOCH + Duration::from_nanos(ns)
}

/// Writes the baseline's version of `entry` at `target`.
fn write_back(
    state: &StateDir,
    target: &Path,
    entry: &FileEntry,
    report: &mut RestoreReport,
) -> Result<(), IntegrityError> {
    let parent = target.parent().expect("a restored path has a folder");
    if let Ok(m) = std::fs::symlink_metadata(target)
        && m.is_dir()
    {
        // Planted files inside were quarantined first; an empty folder can go.
        std::fs::remove_dir(target).map_err(io(target))?;
    }
    match entry.kind {
        EntryKind::File => {
            // The mode is set after the owner: a change of owner clears set-user-ID bits.
            let mut copy_failed = None;
            let written = ensuresec_durable::replace_with(target, entry.mode, |file| {
                if let Err(e) = state.objects().copy_to(&entry.hash, file) {
                    let message = e.to_string();
                    copy_failed = Some(e);
                    return Err(std::io::Error::other(message));
                }
                set_owner(file, target, entry, report);
                file.set_modified(mtime_of(entry))
            });
            if let Some(e) = copy_failed {
                return Err(e);
            }
            written?;
        }
        EntryKind::Symlink => {
            let mut bytes = Vec::new();
            state.objects().copy_to(&entry.hash, &mut bytes)?;
            let link = PathBuf::from(
                <std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(&bytes[..]),
            );
            let tmp = parent.join(format!(".ensuresec-restore-{}", std::process::id()));
            let _ = std::fs::remove_file(&tmp);
            std::os::unix::fs::symlink(&link, &tmp).map_err(io(&tmp))?;
            std::fs::rename(&tmp, target).map_err(io(target))?;
        }
    }
    Ok(())
}

/// Sets the owner back; only root may give a file away, so a failure is a warning.
fn set_owner(file: &std::fs::File, target: &Path, entry: &FileEntry, report: &mut RestoreReport) {
    use std::os::unix::fs::MetadataExt;
    let Ok(m) = file.metadata() else { return };
    if (m.uid(), m.gid()) == (entry.uid, entry.gid) {
        return;
    }
    if let Err(e) = std::os::unix::fs::fchown(file, Some(entry.uid), Some(entry.gid)) {
        report.warnings.push(format!(
            "{}: owner {}:{} not restored: {e}",
            target.display(),
            entry.uid,
            entry.gid
        ));
    }
}

/// Applies `changes`, listed by a status against `baseline`, to the baseline's root. Refused,
/// with nothing changed, when another baseline has been accepted since (restoring would undo
/// the deploy it accepted).
pub fn apply(
    state: &StateDir,
    baseline: &Baseline,
    changes: &[Change],
    now: DateTime<Utc>,
) -> Result<RestoreReport, IntegrityError> {
    let _lock = state.lock()?;
    let current = state.load()?;
    if current.header.manifest != baseline.header.manifest
        || current.header.generation != baseline.header.generation
    {
        return Err(IntegrityError::BaselineChanged {
            dir: state.dir().to_path_buf(),
            was: baseline.header.generation,
            now: current.header.generation,
        });
    }
    let root = Path::new(&baseline.header.root);
    let mut report = RestoreReport::default();
    let qdir = state
        .dir()
        .join("quarantine")
        .join(now.format("%Y%m%dT%H%M%S%.3fZ").to_string());
    // Planted files first: they may stand where a restored file or folder must go.
    for c in changes.iter().filter(|c| c.kind == ChangeKind::Added) {
        let (path, rel) = match &c.strange {
            Some(p) => {
                let rel = p.strip_prefix(root).map_err(|_| IntegrityError::Path {
                    path: p.clone(),
                    message: "outside the root".into(),
                })?;
                (p.clone(), rel.to_path_buf())
            }
            None => (root.join(&c.path), PathBuf::from(&c.path)),
        };
        let to = quarantine(&path, &rel, &qdir)?;
        report.quarantined.push((c.path.clone(), to));
    }
    for c in changes {
        let Some(entry) = &c.before else { continue };
        match c.kind {
            ChangeKind::Modified | ChangeKind::Deleted => {
                let target = prepare_parents(root, &c.path)?;
                write_back(state, &target, entry, &mut report)?;
                report.restored.push(c.path.clone());
            }
            ChangeKind::Metadata => {
                let target = prepare_parents(root, &c.path)?;
                if entry.kind == EntryKind::File {
                    let file = std::fs::File::open(&target).map_err(io(&target))?;
                    file.set_permissions(std::fs::Permissions::from_mode(entry.mode))
                        .map_err(io(&target))?;
                    set_owner(&file, &target, entry, &mut report);
                }
                report.metadata.push(c.path.clone());
            }
            ChangeKind::Added => {}
        }
    }
    state.journal(&serde_json::json!({
        "time": now,
        "op": "restore",
        "root": root,
        "restored": report.restored,
        "quarantined": report.quarantined,
        "metadata": report.metadata,
        "warnings": report.warnings,
    }))?;
    Ok(report)
}
