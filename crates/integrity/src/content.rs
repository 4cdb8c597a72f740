//! Malicious-content scanning with YARA rules (through `yara-x`, the pure-Rust YARA): the shipped
//! rule set for PHP/JS web shells and card skimmers (`rules/*.yar`, compiled into the binary) plus
//! the user's rule files. Every match names its rule and quotes the matching strings, bounded.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rayon::prelude::*;
use serde::Serialize;

use crate::error::{IntegrityError, io};
use crate::ignore::Ignore;

/// The shipped rule files, by name.
pub const BUILTIN_RULES: &[(&str, &str)] = &[
    ("webshells.yar", include_str!("../rules/webshells.yar")),
    ("skimmers.yar", include_str!("../rules/skimmers.yar")),
];

/// Largest file scanned, in bytes; larger ones are counted as skipped (web code is small, and
/// a huge file would hold a worker for long).
pub const MAX_SCAN_BYTES: u64 = 32 << 20;
/// Longest a single file's scan may take.
pub const SCAN_TIMEOUT: Duration = Duration::from_secs(10);
/// Matches quoted per rule.
pub const MAX_QUOTES: usize = 8;
/// Longest quote of a matching string, in characters.
pub const MAX_QUOTE_CHARS: usize = 120;
/// Largest user rule file, in bytes.
pub const MAX_RULE_FILE_BYTES: u64 = 4 << 20;

/// Compiled rules.
pub struct RuleSet {
    rules: yara_x::Rules,
    files: Vec<String>,
}

impl std::fmt::Debug for RuleSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuleSet")
            .field("files", &self.files)
            .finish()
    }
}

/// One rule that matched, with what it matched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleMatch {
    /// The rule's name.
    pub rule: String,
    /// Its `description` meta, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Its `severity` meta (`high`, `critical`…), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub severity: Option<String>,
    /// Matching strings as `$id@offset: text` (non-printable bytes escaped), bounded.
    pub strings: Vec<String>,
}

impl std::fmt::Display for RuleMatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.rule, self.strings.join(", "))
    }
}

/// The `.yar`/`.yara` files of `path` (a file, or a folder's files in name order).
fn rule_files(path: &Path) -> Result<Vec<PathBuf>, IntegrityError> {
    if path.is_dir() {
        let mut out: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(io(path))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "yar" || e == "yara"))
            .collect();
        out.sort();
        Ok(out)
    } else {
        Ok(vec![path.to_path_buf()])
    }
}

impl RuleSet {
    /// Compiles the shipped rules (unless `builtin` is false) and the rule files or folders in
    /// `extra`; a rule that does not compile is an error naming file, line and column.
    pub fn load(builtin: bool, extra: &[PathBuf]) -> Result<RuleSet, IntegrityError> {
        let mut compiler = yara_x::Compiler::new();
        let mut files = Vec::new();
        let compile_err = |file: &str, e: yara_x::errors::CompileError| IntegrityError::Parse {
            file: file.to_string(),
            line: 0,
            message: e.to_string(),
        };
        if builtin {
            for (name, text) in BUILTIN_RULES {
                compiler
                    .add_source(yara_x::SourceCode::from(*text).with_origin(*name))
                    .map_err(|e| compile_err(name, e))?;
                files.push(format!("{name} (built in)"));
            }
        }
        for path in extra {
            for file in rule_files(path)? {
                let len = std::fs::metadata(&file).map_err(io(&file))?.len();
                if len > MAX_RULE_FILE_BYTES {
                    return Err(IntegrityError::Limit {
                        what: format!("{}: bytes", file.display()),
                        limit: MAX_RULE_FILE_BYTES,
                    });
                }
                let text = std::fs::read_to_string(&file).map_err(io(&file))?;
                let name = file.display().to_string();
                compiler
                    .add_source(yara_x::SourceCode::from(text.as_str()).with_origin(name.as_str()))
                    .map_err(|e| compile_err(&name, e))?;
                files.push(name);
            }
        }
        Ok(RuleSet {
            rules: compiler.build(),
            files,
        })
    }

    /// The rule files compiled in.
    pub fn files(&self) -> &[String] {
        &self.files
    }

    /// A scanner over these rules (one per thread).
    pub fn scanner(&self) -> ContentScanner<'_> {
        let mut scanner = yara_x::Scanner::new(&self.rules);
        scanner.set_timeout(SCAN_TIMEOUT);
        scanner.max_matches_per_pattern(64);
        ContentScanner { scanner }
    }
}

/// Scans contents against a [`RuleSet`].
pub struct ContentScanner<'r> {
    scanner: yara_x::Scanner<'r>,
}

/// `bytes` as printable text: ASCII kept, others escaped as `\xNN`, cut to a bounded length.
fn quote(bytes: &[u8]) -> String {
    let mut s = String::new();
    for &b in bytes {
        if s.chars().count() >= MAX_QUOTE_CHARS {
            s.push('…');
            break;
        }
        if (0x20..0x7f).contains(&b) {
            s.push(b as char);
        } else {
            s.push_str(&format!("\\x{b:02x}"));
        }
    }
    s
}

impl ContentScanner<'_> {
    /// The rules `data` matches.
    pub fn scan(&mut self, data: &[u8]) -> Result<Vec<RuleMatch>, IntegrityError> {
        let results = self.scanner.scan(data).map_err(|e| IntegrityError::Path {
            path: PathBuf::from("<content>"),
            message: format!("YARA scan: {e}"),
        })?;
        let mut out = Vec::new();
        for rule in results.matching_rules() {
            let meta = |key: &str| {
                rule.metadata().find_map(|(k, v)| match (k == key, v) {
                    (true, yara_x::MetaValue::String(s)) => Some(s.to_string()),
                    _ => None,
                })
            };
            let mut strings = Vec::new();
            'patterns: for pattern in rule.patterns() {
                for m in pattern.matches() {
                    if strings.len() == MAX_QUOTES {
                        break 'patterns;
                    }
                    strings.push(format!(
                        "{}@{}: {}",
                        pattern.identifier(),
                        m.range().start,
                        quote(m.data())
                    ));
                }
            }
            out.push(RuleMatch {
                rule: rule.identifier().to_string(),
                description: meta("description"),
                severity: meta("severity"),
                strings,
            });
        }
        Ok(out)
    }

    /// The rules the file at `path` matches; `None` when it is gone, not a regular file or
    /// larger than [`MAX_SCAN_BYTES`].
    pub fn scan_file(&mut self, path: &Path) -> Result<Option<Vec<RuleMatch>>, IntegrityError> {
        match std::fs::symlink_metadata(path) {
            Ok(m) if m.is_file() && m.len() <= MAX_SCAN_BYTES => {}
            Ok(_) => return Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io(path)(e)),
        }
        let data = match std::fs::read(path) {
            Ok(d) => d,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io(path)(e)),
        };
        self.scan(&data).map(Some).map_err(|e| match e {
            IntegrityError::Path { message, .. } => IntegrityError::Path {
                path: path.to_path_buf(),
                message,
            },
            other => other,
        })
    }
}

/// What a scan of a tree found.
#[derive(Debug, Default, Serialize)]
pub struct TreeScan {
    /// Files scanned.
    pub files: u64,
    /// Bytes scanned.
    pub bytes: u64,
    /// Files not scanned: larger than the limit, or not regular files.
    pub skipped: u64,
    /// Matches by root-relative path.
    pub matches: Vec<(String, Vec<RuleMatch>)>,
    /// Files whose scan failed (a timeout), with why.
    pub errors: Vec<(String, String)>,
}

/// One file's scan: its matches, `None` when skipped, or why it failed.
type FileScan = Result<Option<Vec<RuleMatch>>, IntegrityError>;

/// Scans every file under `root` (not following links, minus ignored paths and `skip`) in
/// parallel, one scanner per worker thread.
pub fn scan_tree(
    rules: &RuleSet,
    root: &Path,
    ignore: &Ignore,
    skip: Option<&Path>,
) -> Result<TreeScan, IntegrityError> {
    let scan = crate::walk::list(root, ignore, skip)?;
    let results: Vec<(String, u64, FileScan)> = scan
        .par_iter()
        .map_init(
            || rules.scanner(),
            |scanner, (path, rel)| {
                let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
                (rel.clone(), size, scanner.scan_file(path))
            },
        )
        .collect();
    let mut out = TreeScan::default();
    for (rel, size, r) in results {
        match r {
            Ok(Some(m)) => {
                out.files += 1;
                out.bytes += size;
                if !m.is_empty() {
                    out.matches.push((rel, m));
                }
            }
            Ok(None) => out.skipped += 1,
            Err(e) => out.errors.push((rel, e.to_string())),
        }
    }
    out.matches.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}
