//! The monitor: turns "something happened at these paths" into `file_change` events for the
//! differences from the signed baseline, each reported once (until the file changes again or is
//! put back), with evidence: hashes, sizes and a diff summary. It is driven by the watcher
//! ([`crate::watch`]) and by periodic full scans.
//!
//! A **hold** (`ensuresec integrity hold`, for a deploy) defers reporting: paths that change
//! meanwhile are remembered and checked when the hold ends, against the baseline accepted by then.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use ensuresec_model::event::{ContentMatch, Event, EventData, FileChange, FileChangeKind};
use serde::{Deserialize, Serialize};

use crate::content::RuleSet;
use crate::diff::{self, Change, ChangeKind};
use crate::error::{IntegrityError, io};
use crate::ignore::Ignore;
use crate::manifest::{EntryKind, FileEntry};
use crate::state::{Baseline, StateDir};
use crate::walk;

/// Longest diff summary put on an event, in bytes.
pub const MAX_EVENT_DIFF: usize = 4096;
/// Most paths remembered during a hold; past it, a full scan follows the hold instead.
pub const MAX_HELD: usize = 100_000;

/// A deploy window: changes are not reported until it ends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hold {
    /// When it ends at the latest (an `accept` ends it earlier).
    pub until: DateTime<Utc>,
    /// Why (a release).
    pub reason: String,
}

/// What a path looked like when last reported: content and metadata, not mtime.
type Seen = Option<(EntryKind, String, u32, u32, u32)>;

fn seen_of(e: Option<&FileEntry>) -> Seen {
    e.map(|e| (e.kind, e.hash.clone(), e.mode, e.uid, e.gid))
}

/// Compares what is on disk with the baseline, path by path.
pub struct Monitor {
    state: StateDir,
    baseline: Baseline,
    root: PathBuf,
    ignore: Ignore,
    asset: Option<String>,
    source: String,
    seen: HashMap<String, Seen>,
    held: BTreeSet<PathBuf>,
    rescan_due: bool,
    rules: Option<Arc<RuleSet>>,
}

impl Monitor {
    /// A monitor of the baseline in `state`; `asset` goes on every event.
    pub fn open(state: StateDir, asset: Option<String>) -> Result<Monitor, IntegrityError> {
        let baseline = state.load()?;
        let ignore = Ignore::new(&baseline.header.ignore)?;
        let root = PathBuf::from(&baseline.header.root);
        Ok(Monitor {
            source: format!("integrity:{}", root.display()),
            state,
            baseline,
            root,
            ignore,
            asset,
            seen: HashMap::new(),
            held: BTreeSet::new(),
            rescan_due: false,
            rules: None,
        })
    }

    /// Scans new and modified files with these rules; matches go on the event.
    pub fn with_rules(mut self, rules: Arc<RuleSet>) -> Monitor {
        self.rules = Some(rules);
        self
    }

    /// The monitored root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The state folder.
    pub fn state(&self) -> &StateDir {
        &self.state
    }

    /// Loads the baseline again when another one was accepted; returns whether it did.
    pub fn reload_if_accepted(&mut self) -> Result<bool, IntegrityError> {
        let path = self.state.dir().join("baseline.note");
        let note = std::fs::read_to_string(&path).map_err(io(&path))?;
        if note == self.baseline.note {
            return Ok(false);
        }
        self.baseline = self.state.load()?;
        self.ignore = Ignore::new(&self.baseline.header.ignore)?;
        self.seen.clear();
        Ok(true)
    }

    /// Checks the given paths (files or folders, absolute) and returns the events to raise.
    pub fn check_paths(
        &mut self,
        paths: impl IntoIterator<Item = PathBuf>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Event>, IntegrityError> {
        self.reload_if_accepted()?;
        self.held.extend(paths);
        if self.held.len() > MAX_HELD {
            self.held.clear();
            self.rescan_due = true;
        }
        if self.hold(now)?.is_some() {
            return Ok(Vec::new());
        }
        if self.rescan_due {
            return self.full_scan(now);
        }
        let paths = std::mem::take(&mut self.held);
        let mut rels = BTreeSet::new();
        let mut strange = Vec::new();
        for path in paths {
            self.expand(&path, &mut rels, &mut strange)?;
        }
        let mut out = Vec::new();
        for rel in rels {
            let after = walk::entry_of(&self.root.join(&rel), &rel, None)?;
            let before = self.baseline.manifest.get(&rel);
            if let Some(c) = diff::change_of(&rel, before, after.as_ref()) {
                out.extend(self.report(c, now)?);
            } else {
                self.seen.remove(&rel);
            }
        }
        for p in strange {
            out.extend(self.report(strange_change(p), now)?);
        }
        Ok(out)
    }

    /// Rescans the whole root; returns the events for differences not reported yet.
    pub fn full_scan(&mut self, now: DateTime<Utc>) -> Result<Vec<Event>, IntegrityError> {
        self.reload_if_accepted()?;
        if self.hold(now)?.is_some() {
            return Ok(Vec::new());
        }
        self.held.clear();
        self.rescan_due = false;
        let scan = walk::scan(&self.root, &self.ignore, Some(self.state.dir()), None)?;
        let changes = diff::compare(&self.baseline.manifest, &scan);
        let differing: BTreeSet<&str> = changes.iter().map(|c| c.path.as_str()).collect();
        self.seen.retain(|p, _| differing.contains(p.as_str()));
        let mut out = Vec::new();
        for c in changes {
            out.extend(self.report(c, now)?);
        }
        Ok(out)
    }

    /// The active hold, if any (an expired or unreadable one counts as none; unreadable is
    /// logged, since a broken hold file must not silence the monitor).
    pub fn hold(&self, now: DateTime<Utc>) -> Result<Option<Hold>, IntegrityError> {
        let path = self.state.hold_path();
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io(&path)(e)),
        };
        match serde_json::from_slice::<Hold>(&bytes) {
            Ok(h) if h.until > now => Ok(Some(h)),
            Ok(_) => Ok(None),
            Err(e) => {
                tracing::warn!(file = %path.display(), error = %e, "ignoring a bad hold file");
                Ok(None)
            }
        }
    }

    /// The root-relative paths to check for `path`: itself, and for a folder (or a path that
    /// was one in the baseline) everything under it on disk and in the baseline.
    fn expand(
        &self,
        path: &Path,
        rels: &mut BTreeSet<String>,
        strange: &mut Vec<PathBuf>,
    ) -> Result<(), IntegrityError> {
        if path.starts_with(self.state.dir()) || !path.starts_with(&self.root) {
            return Ok(());
        }
        let Some(rel) = walk::relative(&self.root, path) else {
            if path.symlink_metadata().is_ok() {
                strange.push(path.to_path_buf());
            }
            return Ok(());
        };
        if rel.is_empty() || self.ignore.is_ignored(&rel) {
            return Ok(());
        }
        let prefix = format!("{rel}/");
        rels.extend(
            self.baseline
                .manifest
                .range(prefix.clone()..)
                .take_while(|(p, _)| p.starts_with(&prefix))
                .map(|(p, _)| p.clone()),
        );
        match std::fs::symlink_metadata(path) {
            Ok(m) if m.is_dir() => {
                let scan = walk::scan(path, &Ignore::new(&[])?, Some(self.state.dir()), None)?;
                for sub in scan.files.keys() {
                    let full = format!("{prefix}{sub}");
                    if !self.ignore.is_ignored(&full) {
                        rels.insert(full);
                    }
                }
                strange.extend(scan.strange);
            }
            Ok(m) if m.is_file() || m.file_type().is_symlink() => {
                rels.insert(rel);
            }
            Ok(_) => strange.push(path.to_path_buf()),
            Err(_) => {
                rels.insert(rel);
            }
        }
        Ok(())
    }

    /// The event for a change, unless this state of the path was reported already.
    fn report(&mut self, c: Change, now: DateTime<Utc>) -> Result<Option<Event>, IntegrityError> {
        let key = seen_of(c.after.as_ref());
        if c.strange.is_none() && self.seen.get(&c.path) == Some(&key) {
            return Ok(None);
        }
        self.seen.insert(c.path.clone(), key);
        let diff = match c.kind {
            ChangeKind::Modified => crate::ops::text_diff_of(&self.state, &self.root, &c)?
                .map(|d| bounded(d.to_string())),
            ChangeKind::Metadata => match (&c.before, &c.after) {
                (Some(b), Some(a)) => Some(format!(
                    "mode {:o} → {:o}, owner {}:{} → {}:{}",
                    b.mode, a.mode, b.uid, b.gid, a.uid, a.gid
                )),
                _ => None,
            },
            ChangeKind::Added if c.strange.is_some() => {
                Some("not a regular file or symlink, or a name that is not UTF-8".into())
            }
            _ => None,
        };
        let matches = match (&self.rules, c.kind, &c.after) {
            (Some(rules), ChangeKind::Added | ChangeKind::Modified, Some(after))
                if after.kind == EntryKind::File =>
            {
                rules
                    .scanner()
                    .scan_file(&self.root.join(&c.path))?
                    .unwrap_or_default()
                    .into_iter()
                    .map(|m| ContentMatch {
                        rule: m.rule,
                        strings: m.strings,
                    })
                    .collect()
            }
            _ => Vec::new(),
        };
        let change = match c.kind {
            ChangeKind::Added => FileChangeKind::Created,
            ChangeKind::Modified | ChangeKind::Metadata => FileChangeKind::Modified,
            ChangeKind::Deleted => FileChangeKind::Deleted,
        };
        Ok(Some(Event {
            time: now,
            ingest_time: None,
            source: self.source.clone(),
            labels: Default::default(),
            data: EventData::FileChange(FileChange {
                path: c.path,
                change,
                asset: self.asset.clone(),
                hash_before: c.before.as_ref().map(|e| e.hash.clone()),
                hash_after: c.after.as_ref().map(|e| e.hash.clone()),
                size: c.after.as_ref().map(|e| e.size),
                size_before: c.before.as_ref().map(|e| e.size),
                diff,
                matches,
            }),
        }))
    }
}

fn strange_change(p: PathBuf) -> Change {
    Change {
        path: p.to_string_lossy().into_owned(),
        kind: ChangeKind::Added,
        before: None,
        after: None,
        strange: Some(p),
    }
}

fn bounded(mut s: String) -> String {
    if s.len() > MAX_EVENT_DIFF {
        let mut end = MAX_EVENT_DIFF;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
        s.push('…');
    }
    s
}
