//! Loading an OpenAPI 3.0/3.1 description: the root file and every file its `$ref`s name, each
//! parsed with the line of every node, every reference checked before any rule runs. Size,
//! nesting, node count, file count and reference depth are bounded; a chain of references that
//! comes back to itself is an error. Errors name the file, the line and the JSON pointer.

mod load;
mod refs;
pub mod text;

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;

use serde_json::Value;

pub use load::{Reader, load, load_with};
pub use refs::is_remote;

/// Bounds on what the loader accepts.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest file, in bytes.
    pub max_file_bytes: u64,
    /// Largest sum of all files, in bytes.
    pub max_total_bytes: u64,
    /// Most files (the root and every file reached by `$ref`).
    pub max_files: usize,
    /// Deepest nesting inside one file.
    pub max_depth: usize,
    /// Most nodes in one file (aliases counted expanded).
    pub max_nodes: usize,
    /// Longest chain of `$ref`s followed to reach a value.
    pub max_ref_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_file_bytes: 16 * 1024 * 1024,
            max_total_bytes: 64 * 1024 * 1024,
            max_files: 256,
            max_depth: 128,
            max_nodes: 2_000_000,
            max_ref_depth: 32,
        }
    }
}

/// Where a value is: a file of the description and a JSON pointer into it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Loc {
    /// Index of the file in [`Spec::files`].
    pub file: usize,
    /// RFC 6901 JSON pointer (`""` is the file's root).
    pub pointer: String,
}

impl Loc {
    /// The location of a child: `token` is appended, escaped.
    pub fn child(&self, token: &str) -> Loc {
        Loc {
            file: self.file,
            pointer: format!("{}/{}", self.pointer, text::escape_token(token)),
        }
    }
}

/// One parsed file.
#[derive(Debug, Clone)]
pub struct SpecFile {
    /// The path as given (the root) or as reached from the referring file.
    pub path: PathBuf,
    /// Its content as JSON.
    pub value: Value,
    /// The line of each node by JSON pointer.
    pub lines: HashMap<String, u32>,
    /// SHA-256 of the bytes read, hex.
    pub sha256: String,
}

/// A loaded description: files[0] is the root.
#[derive(Debug, Clone)]
pub struct Spec {
    /// The root file first, then every file reached by `$ref`, in the order they were reached.
    pub files: Vec<SpecFile>,
    /// `3.0` or `3.1`.
    pub version: OpenApiVersion,
    pub(crate) limits: Limits,
    /// File index by canonical path, to resolve references between files.
    pub(crate) index: HashMap<PathBuf, usize>,
}

/// The OpenAPI minor versions understood.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenApiVersion {
    /// 3.0.x
    V3_0,
    /// 3.1.x
    V3_1,
}

/// Why a description cannot be audited; `Display` names file, line and pointer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct SpecError {
    /// The file concerned.
    pub file: PathBuf,
    /// 1-based line (0 when the file could not be read at all).
    pub line: u32,
    /// JSON pointer of the offending value, when known.
    pub pointer: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if self.line > 0 {
            write!(f, ":{}", self.line)?;
        }
        if let Some(p) = &self.pointer {
            write!(f, " (at #{p})")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl Spec {
    /// The root file's value.
    pub fn root(&self) -> &Value {
        &self.files[0].value
    }

    /// The value at `loc`, if any (without following references).
    pub fn get(&self, loc: &Loc) -> Option<&Value> {
        self.files.get(loc.file)?.value.pointer(&loc.pointer)
    }

    /// The path of a location's file.
    pub fn path(&self, loc: &Loc) -> &std::path::Path {
        &self.files[loc.file].path
    }

    /// The line of `loc`: its own, or that of its nearest ancestor that has one (values copied
    /// from YAML aliases have no line of their own).
    pub fn line(&self, loc: &Loc) -> u32 {
        let Some(file) = self.files.get(loc.file) else {
            return 0;
        };
        let mut p = loc.pointer.as_str();
        loop {
            if let Some(line) = file.lines.get(p) {
                return *line;
            }
            match p.rfind('/') {
                Some(i) => p = &p[..i],
                None => return 1,
            }
        }
    }

    /// An error at `loc`.
    pub fn error_at(&self, loc: &Loc, message: impl Into<String>) -> SpecError {
        SpecError {
            file: self.path(loc).to_path_buf(),
            line: self.line(loc),
            pointer: Some(loc.pointer.clone()),
            message: message.into(),
        }
    }
}
