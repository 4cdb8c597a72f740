//! Comparing what is on disk with a baseline, and a short diff of text files for evidence.

use std::path::PathBuf;

use serde::Serialize;

use crate::manifest::{FileEntry, Manifest};
use crate::walk::Scan;

/// Largest file whose text diff is computed, in bytes.
pub const MAX_DIFF_INPUT: u64 = 1 << 20;
/// Most changed lines quoted in a diff summary.
pub const MAX_DIFF_LINES: usize = 12;
/// Longest quoted line, in characters.
pub const MAX_LINE_CHARS: usize = 160;

/// What happened to a path since the baseline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// Not in the baseline: planted.
    Added,
    /// Other content (or a file became a symlink or back).
    Modified,
    /// Same content, other mode or owner.
    Metadata,
    /// In the baseline, gone from disk.
    Deleted,
}

/// One difference from the baseline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// Root-relative path (lossy for a name that is not UTF-8).
    pub path: String,
    /// What happened.
    pub kind: ChangeKind,
    /// The baseline's entry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before: Option<FileEntry>,
    /// What is on disk.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<FileEntry>,
    /// The real path of a strange file (not UTF-8 or not a regular file), for quarantine.
    #[serde(skip)]
    pub strange: Option<PathBuf>,
}

/// Whether two entries of one path differ in content.
fn content_differs(a: &FileEntry, b: &FileEntry) -> bool {
    a.hash != b.hash || a.kind != b.kind
}

/// The change between a baseline entry and what is on disk now, if any; mtime alone is not a
/// change (`touch` and copies alter it; content and permissions are what matter).
pub fn change_of(
    path: &str,
    before: Option<&FileEntry>,
    after: Option<&FileEntry>,
) -> Option<Change> {
    let kind = match (before, after) {
        (None, None) => return None,
        (None, Some(_)) => ChangeKind::Added,
        (Some(_), None) => ChangeKind::Deleted,
        (Some(b), Some(a)) if content_differs(b, a) => ChangeKind::Modified,
        (Some(b), Some(a)) if (b.mode, b.uid, b.gid) != (a.mode, a.uid, a.gid) => {
            ChangeKind::Metadata
        }
        (Some(_), Some(_)) => return None,
    };
    Some(Change {
        path: path.to_string(),
        kind,
        before: before.cloned(),
        after: after.cloned(),
        strange: None,
    })
}

/// Every difference between `baseline` and `scan`, sorted by path.
pub fn compare(baseline: &Manifest, scan: &Scan) -> Vec<Change> {
    let mut out: Vec<Change> = baseline
        .iter()
        .filter_map(|(p, b)| change_of(p, Some(b), scan.files.get(p)))
        .collect();
    out.extend(
        scan.files
            .iter()
            .filter(|(p, _)| !baseline.contains_key(*p))
            .filter_map(|(p, a)| change_of(p, None, Some(a))),
    );
    out.extend(scan.strange.iter().map(|p| Change {
        path: p.to_string_lossy().into_owned(),
        kind: ChangeKind::Added,
        before: None,
        after: None,
        strange: Some(p.clone()),
    }));
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

/// A bounded summary of a text change: counts and the first changed lines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TextDiff {
    /// Lines added.
    pub added: usize,
    /// Lines removed.
    pub removed: usize,
    /// The first changed lines, `+ ` or `- ` prefixed, each cut to a bounded length.
    pub lines: Vec<String>,
}

impl std::fmt::Display for TextDiff {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "+{} -{} lines", self.added, self.removed)?;
        for l in &self.lines {
            write!(f, "\n  {l}")?;
        }
        Ok(())
    }
}

/// The line diff of two texts, or `None` when either is not UTF-8 (binary) or too large.
pub fn text_diff(before: &[u8], after: &[u8]) -> Option<TextDiff> {
    if before.len() as u64 > MAX_DIFF_INPUT || after.len() as u64 > MAX_DIFF_INPUT {
        return None;
    }
    let (a, b) = (
        std::str::from_utf8(before).ok()?,
        std::str::from_utf8(after).ok()?,
    );
    let diff = similar::TextDiff::from_lines(a, b);
    let mut out = TextDiff {
        added: 0,
        removed: 0,
        lines: Vec::new(),
    };
    for change in diff.iter_all_changes() {
        let sign = match change.tag() {
            similar::ChangeTag::Insert => {
                out.added += 1;
                "+"
            }
            similar::ChangeTag::Delete => {
                out.removed += 1;
                "-"
            }
            similar::ChangeTag::Equal => continue,
        };
        if out.lines.len() < MAX_DIFF_LINES {
            let text: String = change
                .value()
                .trim_end_matches(['\n', '\r'])
                .chars()
                .take(MAX_LINE_CHARS)
                .collect();
            out.lines.push(format!("{sign} {text}"));
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_diff_counts_and_quotes_changed_lines() {
        let d = text_diff(b"a\nb\nc\n", b"a\nB\nc\nd\n").unwrap();
        assert_eq!((d.added, d.removed), (2, 1));
        assert_eq!(d.lines, vec!["- b", "+ B", "+ d"]);
        assert!(text_diff(b"\xff\xfe", b"x").is_none());
    }
}
