//! The baseline manifest: one JSON object per file, sorted by path. Its BLAKE3 hash is what the
//! signed baseline header vouches for, so the manifest itself needs no signature of its own.
//!
//! Parsing is strict (unknown keys, bad hashes, absolute or `..` paths and duplicates are errors
//! naming the line) and bounded (line length, number of entries), because a manifest is read back
//! from disk where an intruder may have written it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::IntegrityError;

/// Longest manifest line accepted, in bytes.
pub const MAX_LINE_BYTES: usize = 8 * 1024;
/// Most files one baseline may hold.
pub const MAX_ENTRIES: usize = 5_000_000;

/// What kind of file an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// A regular file; its content is stored.
    File,
    /// A symbolic link; its target is the "content" hashed and stored.
    Symlink,
}

/// One file as recorded in a baseline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileEntry {
    /// Path relative to the root, `/`-separated.
    pub path: String,
    /// Regular file or symlink.
    pub kind: EntryKind,
    /// BLAKE3 of the content (of the link target for a symlink), hex.
    pub hash: String,
    /// Size in bytes.
    pub size: u64,
    /// Permission bits (`st_mode & 0o7777`).
    pub mode: u32,
    /// Owner's user id.
    pub uid: u32,
    /// Owner's group id.
    pub gid: u32,
    /// Modification time, nanoseconds since the Unix epoch.
    pub mtime_ns: i64,
}

/// A baseline's files by path.
pub type Manifest = BTreeMap<String, FileEntry>;

/// Writes a manifest as NDJSON (sorted by path, since the map is).
pub fn to_ndjson(manifest: &Manifest) -> Vec<u8> {
    let mut out = Vec::with_capacity(manifest.len() * 160);
    for entry in manifest.values() {
        serde_json::to_writer(&mut out, entry).expect("a file entry always serialises");
        out.push(b'\n');
    }
    out
}

/// Parses a manifest; `file` names the input in errors.
pub fn parse(file: &str, bytes: &[u8]) -> Result<Manifest, IntegrityError> {
    let err = |line: usize, message: String| IntegrityError::Parse {
        file: file.to_string(),
        line,
        message,
    };
    let mut out = Manifest::new();
    for (i, raw) in bytes.split(|b| *b == b'\n').enumerate() {
        let line = i + 1;
        if raw.is_empty() {
            continue;
        }
        if raw.len() > MAX_LINE_BYTES {
            return Err(err(
                line,
                format!("line longer than {MAX_LINE_BYTES} bytes"),
            ));
        }
        if out.len() == MAX_ENTRIES {
            return Err(IntegrityError::Limit {
                what: format!("{file}: entries"),
                limit: MAX_ENTRIES as u64,
            });
        }
        let entry: FileEntry = serde_json::from_slice(raw).map_err(|e| err(line, e.to_string()))?;
        check_path(&entry.path).map_err(|m| err(line, format!("path: {m}")))?;
        if !is_hash(&entry.hash) {
            return Err(err(line, "hash: not 64 lowercase hex digits".into()));
        }
        if entry.mode > 0o7777 {
            return Err(err(
                line,
                format!("mode: {:o} is not a permission mode", entry.mode),
            ));
        }
        if out.contains_key(&entry.path) {
            return Err(err(line, format!("path `{}` listed twice", entry.path)));
        }
        out.insert(entry.path.clone(), entry);
    }
    Ok(out)
}

/// Whether `s` is a BLAKE3 hash as we write them: 64 lowercase hex digits.
pub fn is_hash(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Checks a manifest path: relative, `/`-separated, no empty, `.` or `..` component, no control
/// characters. Restore writes to these paths, so they must stay under the root.
pub fn check_path(path: &str) -> Result<(), &'static str> {
    if path.is_empty() {
        return Err("empty");
    }
    if path.starts_with('/') {
        return Err("absolute");
    }
    if path.chars().any(|c| c.is_control()) {
        return Err("control character");
    }
    if path
        .split('/')
        .any(|c| c.is_empty() || c == "." || c == "..")
    {
        return Err("empty, `.` or `..` component");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &str) -> FileEntry {
        FileEntry {
            path: path.into(),
            kind: EntryKind::File,
            hash: "ab".repeat(32),
            size: 3,
            mode: 0o644,
            uid: 1000,
            gid: 1000,
            mtime_ns: 1_700_000_000_000_000_000,
        }
    }

    #[test]
    fn a_manifest_round_trips() {
        let mut m = Manifest::new();
        for p in ["index.php", "app/checkout.js", "z/y/x.txt"] {
            m.insert(p.into(), entry(p));
        }
        let back = parse("m", &to_ndjson(&m)).expect("parses");
        assert_eq!(back, m);
    }

    #[test]
    fn bad_lines_are_refused_naming_line_and_field() {
        let good = serde_json::to_string(&entry("a.php")).unwrap();
        let dotdot = good.replace("a.php", "../etc/passwd");
        let e = parse("m", format!("{good}\n{dotdot}\n").as_bytes()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "m: line 2: path: empty, `.` or `..` component"
        );
        let e = parse("m", format!("{good}\n{good}\n").as_bytes()).unwrap_err();
        assert!(e.to_string().contains("listed twice"), "{e}");
        let bad_hash = good.replace(&"ab".repeat(32), "XYZ");
        let e = parse("m", bad_hash.as_bytes()).unwrap_err();
        assert!(e.to_string().contains("line 1: hash"), "{e}");
        let extra = good.replace("{\"path\"", "{\"evil\":1,\"path\"");
        let e = parse("m", extra.as_bytes()).unwrap_err();
        assert!(e.to_string().contains("unknown field `evil`"), "{e}");
        let abs = good.replace("a.php", "/a.php");
        assert!(parse("m", abs.as_bytes()).is_err());
    }
}
