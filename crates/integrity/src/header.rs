//! The signed baseline header: a short text naming the root, the generation, the counts, the
//! ignore patterns and the BLAKE3 hash of the manifest, signed as a C2SP signed note with the
//! audit log's note code (Ed25519). Signing the header rather than the manifest keeps the signed
//! text small (notes are bounded to 1 MiB) while covering every file through the manifest hash.
//!
//! ```text
//! ensuresec integrity baseline v1
//! root /var/www/shop
//! generation 2
//! created 2026-12-04T10:00:00Z
//! files 1520
//! bytes 48213377
//! manifest 3f0c…(64 hex)
//! ignore var/cache/**
//! reason deploy 4.2.1
//! ```

use chrono::{DateTime, Utc};

use crate::error::IntegrityError;
use crate::manifest::is_hash;

/// The first line of every header.
pub const MAGIC: &str = "ensuresec integrity baseline v1";
/// Most ignore patterns a baseline may carry.
pub const MAX_IGNORE: usize = 1000;
/// Longest header value (root path, pattern, reason), in bytes.
pub const MAX_VALUE_BYTES: usize = 4096;

/// What a baseline vouches for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The monitored root, absolute.
    pub root: String,
    /// 1 for the first baseline, one more for every accepted one.
    pub generation: u64,
    /// When it was taken.
    pub created: DateTime<Utc>,
    /// Number of files.
    pub files: u64,
    /// Total size of the files, in bytes.
    pub bytes: u64,
    /// BLAKE3 of the manifest, hex.
    pub manifest: String,
    /// Ignore patterns (globs relative to the root).
    pub ignore: Vec<String>,
    /// Why it was accepted (a deploy, a change ticket), if given.
    pub reason: Option<String>,
}

/// Checks that a value fits on one header line.
pub fn check_value(field: &str, value: &str) -> Result<(), IntegrityError> {
    if value.is_empty() || value.len() > MAX_VALUE_BYTES || value.chars().any(|c| c.is_control()) {
        return Err(IntegrityError::Parse {
            file: "baseline header".into(),
            line: 0,
            message: format!(
                "{field}: must be 1 to {MAX_VALUE_BYTES} bytes without control characters"
            ),
        });
    }
    Ok(())
}

impl Header {
    /// The note text (ends in one newline, no blank line).
    pub fn to_text(&self) -> String {
        let mut s = format!(
            "{MAGIC}\nroot {}\ngeneration {}\ncreated {}\nfiles {}\nbytes {}\nmanifest {}\n",
            self.root,
            self.generation,
            self.created
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            self.files,
            self.bytes,
            self.manifest
        );
        for p in &self.ignore {
            s.push_str(&format!("ignore {p}\n"));
        }
        if let Some(r) = &self.reason {
            s.push_str(&format!("reason {r}\n"));
        }
        s
    }

    /// Parses a header text; `file` names it in errors.
    pub fn parse(file: &str, text: &str) -> Result<Header, IntegrityError> {
        let err = |line: usize, message: String| IntegrityError::Parse {
            file: file.to_string(),
            line,
            message,
        };
        let mut lines = text.lines().enumerate();
        match lines.next() {
            Some((_, MAGIC)) => {}
            _ => return Err(err(1, format!("expected `{MAGIC}`"))),
        }
        let mut root = None;
        let mut generation = None;
        let mut created = None;
        let mut files = None;
        let mut bytes = None;
        let mut manifest = None;
        let mut ignore = Vec::new();
        let mut reason = None;
        for (i, line) in lines {
            let n = i + 1;
            let (key, value) = line
                .split_once(' ')
                .ok_or_else(|| err(n, "expected `key value`".into()))?;
            if value.len() > MAX_VALUE_BYTES {
                return Err(err(
                    n,
                    format!("{key}: longer than {MAX_VALUE_BYTES} bytes"),
                ));
            }
            let number = |v: &str| {
                v.parse::<u64>()
                    .map_err(|_| err(n, format!("{key}: `{v}` is not a number")))
            };
            let dup = |present: bool| {
                if present {
                    Err(err(n, format!("{key}: given twice")))
                } else {
                    Ok(())
                }
            };
            match key {
                "root" => {
                    dup(root.is_some())?;
                    if !value.starts_with('/') {
                        return Err(err(n, "root: not an absolute path".into()));
                    }
                    root = Some(value.to_string());
                }
                "generation" => {
                    dup(generation.is_some())?;
                    generation = Some(number(value)?);
                }
                "created" => {
                    dup(created.is_some())?;
                    created = Some(
                        DateTime::parse_from_rfc3339(value)
                            .map_err(|e| err(n, format!("created: {e}")))?
                            .to_utc(),
                    );
                }
                "files" => {
                    dup(files.is_some())?;
                    files = Some(number(value)?);
                }
                "bytes" => {
                    dup(bytes.is_some())?;
                    bytes = Some(number(value)?);
                }
                "manifest" => {
                    dup(manifest.is_some())?;
                    if !is_hash(value) {
                        return Err(err(n, "manifest: not 64 lowercase hex digits".into()));
                    }
                    manifest = Some(value.to_string());
                }
                "ignore" => {
                    if ignore.len() == MAX_IGNORE {
                        return Err(err(n, format!("ignore: more than {MAX_IGNORE} patterns")));
                    }
                    ignore.push(value.to_string());
                }
                "reason" => {
                    dup(reason.is_some())?;
                    reason = Some(value.to_string());
                }
                other => return Err(err(n, format!("unknown key `{other}`"))),
            }
        }
        let missing = |k: &str| err(0, format!("missing `{k}`"));
        Ok(Header {
            root: root.ok_or_else(|| missing("root"))?,
            generation: generation.ok_or_else(|| missing("generation"))?,
            created: created.ok_or_else(|| missing("created"))?,
            files: files.ok_or_else(|| missing("files"))?,
            bytes: bytes.ok_or_else(|| missing("bytes"))?,
            manifest: manifest.ok_or_else(|| missing("manifest"))?,
            ignore,
            reason,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> Header {
        Header {
            root: "/var/www/shop".into(),
            generation: 2,
            created: DateTime::parse_from_rfc3339("2026-12-04T10:00:00Z")
                .unwrap()
                .to_utc(),
            files: 12,
            bytes: 3456,
            manifest: "0f".repeat(32),
            ignore: vec!["var/cache/**".into(), "*.log".into()],
            reason: Some("deploy 4.2.1".into()),
        }
    }

    #[test]
    fn a_header_round_trips_through_its_text() {
        let h = header();
        assert_eq!(Header::parse("h", &h.to_text()).unwrap(), h);
    }

    #[test]
    fn bad_headers_name_the_line_and_key() {
        let text = header().to_text().replace("files 12", "files twelve");
        let e = Header::parse("h", &text).unwrap_err();
        assert_eq!(e.to_string(), "h: line 5: files: `twelve` is not a number");
        let text = header().to_text().replace("root /var", "root var");
        assert!(
            Header::parse("h", &text)
                .unwrap_err()
                .to_string()
                .contains("line 2: root")
        );
        let text = header().to_text().replace("reason", "owner");
        assert!(
            Header::parse("h", &text)
                .unwrap_err()
                .to_string()
                .contains("unknown key `owner`")
        );
        let text = header().to_text().replace("manifest ", "manifests ");
        assert!(Header::parse("h", &text).is_err());
    }
}
