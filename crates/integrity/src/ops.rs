//! The operations behind `ensuresec integrity baseline|accept|status`: take a first baseline,
//! accept the current tree as a new one, compare the tree with the baseline.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::diff::{self, Change, ChangeKind, TextDiff};
use crate::error::{IntegrityError, io};
use crate::header::{Header, check_value};
use crate::ignore::Ignore;
use crate::state::{Baseline, StateDir};
use crate::walk::{self, Scan};

/// The differences between a baseline and the tree.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    /// The baseline's generation.
    pub generation: u64,
    /// The monitored root.
    pub root: String,
    /// Files compared.
    pub files: usize,
    /// What differs.
    pub changes: Vec<Change>,
}

/// The root as an absolute, resolved path; refused when not valid on a header line.
fn resolve_root(root: &Path) -> Result<PathBuf, IntegrityError> {
    let root = std::fs::canonicalize(root).map_err(io(root))?;
    if !root.is_dir() {
        return Err(IntegrityError::Path {
            path: root,
            message: "not a folder".into(),
        });
    }
    let text = root.to_str().ok_or_else(|| IntegrityError::Path {
        path: root.clone(),
        message: "not UTF-8".into(),
    })?;
    check_value("root", text)?;
    Ok(root)
}

/// Scans the root of `header` (skipping the state folder when it lies inside).
pub fn scan_root(
    state: &StateDir,
    root: &Path,
    ignore: &Ignore,
    copy: bool,
) -> Result<Scan, IntegrityError> {
    let store = copy.then(|| state.objects());
    walk::scan(root, ignore, Some(state.dir()), store)
}

/// Takes the first baseline of `root`: hashes and copies every file, signs the result.
pub fn create(
    state: &StateDir,
    root: &Path,
    ignore: Vec<String>,
    now: DateTime<Utc>,
    reason: Option<String>,
) -> Result<Baseline, IntegrityError> {
    let _lock = state.lock()?;
    if state.has_baseline() {
        return Err(IntegrityError::BaselineExists(state.dir().to_path_buf()));
    }
    if let Some(r) = &reason {
        check_value("reason", r)?;
    }
    let root = resolve_root(root)?;
    let matcher = Ignore::new(&ignore)?;
    let scan = scan_root(state, &root, &matcher, true)?;
    refuse_strange(&scan)?;
    let header = Header {
        root: root.to_string_lossy().into_owned(),
        generation: 1,
        created: now,
        files: 0,
        bytes: 0,
        manifest: String::new(),
        ignore,
        reason,
    };
    state.commit(header, scan.files)
}

/// A baseline cannot hold a file it could not restore.
fn refuse_strange(scan: &Scan) -> Result<(), IntegrityError> {
    match scan.strange.first() {
        Some(p) => Err(IntegrityError::Path {
            path: p.clone(),
            message: "neither a regular file nor a symlink with a UTF-8 name: remove or ignore it before taking a baseline".into(),
        }),
        None => Ok(()),
    }
}

/// Accepts the tree as it is now (a deploy) as the next baseline; `ignore` replaces the patterns
/// when given. Returns the new baseline and what changed from the previous one.
pub fn accept(
    state: &StateDir,
    now: DateTime<Utc>,
    reason: Option<String>,
    ignore: Option<Vec<String>>,
) -> Result<(Baseline, Vec<Change>), IntegrityError> {
    let _lock = state.lock()?;
    let old = state.load()?;
    if let Some(r) = &reason {
        check_value("reason", r)?;
    }
    let patterns = ignore.unwrap_or_else(|| old.header.ignore.clone());
    let matcher = Ignore::new(&patterns)?;
    let root = PathBuf::from(&old.header.root);
    let scan = scan_root(state, &root, &matcher, true)?;
    refuse_strange(&scan)?;
    let changes = diff::compare(&old.manifest, &scan);
    let header = Header {
        generation: old.header.generation + 1,
        created: now,
        ignore: patterns,
        reason,
        ..old.header
    };
    let new = state.commit(header, scan.files)?;
    state.clear_hold()?;
    state.journal(&serde_json::json!({
        "time": now,
        "op": "accept",
        "generation": new.header.generation,
        "manifest": new.header.manifest,
        "files": new.header.files,
        "reason": new.header.reason,
        "changed": changes.len(),
    }))?;
    Ok((new, changes))
}

/// Compares the tree with the current (verified) baseline.
pub fn status(state: &StateDir) -> Result<(Baseline, Status), IntegrityError> {
    let baseline = state.load()?;
    let matcher = Ignore::new(&baseline.header.ignore)?;
    let scan = scan_root(state, Path::new(&baseline.header.root), &matcher, false)?;
    let changes = diff::compare(&baseline.manifest, &scan);
    let status = Status {
        generation: baseline.header.generation,
        root: baseline.header.root.clone(),
        files: scan.files.len(),
        changes,
    };
    Ok((baseline, status))
}

/// The text diff of a modified file: the baseline's copy against the file on disk.
pub fn text_diff_of(
    state: &StateDir,
    root: &Path,
    change: &Change,
) -> Result<Option<TextDiff>, IntegrityError> {
    let (Some(before), ChangeKind::Modified) = (&change.before, change.kind) else {
        return Ok(None);
    };
    let Some(old) = state.objects().read(&before.hash, diff::MAX_DIFF_INPUT)? else {
        return Ok(None);
    };
    let path = root.join(&change.path);
    match std::fs::metadata(&path) {
        Ok(m) if m.is_file() && m.len() <= diff::MAX_DIFF_INPUT => {}
        _ => return Ok(None),
    }
    let new = std::fs::read(&path).map_err(io(&path))?;
    Ok(diff::text_diff(&old, &new))
}
