//! Reading the root file and every file reachable by `$ref`, within the limits, then checking
//! that the result is OpenAPI 3.0/3.1 and that every reference resolves without a cycle.

use std::collections::{HashMap, VecDeque};
use std::io::Read;
use std::path::{Path, PathBuf};

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::text::{self, ShapeLimits};
use super::{Limits, Loc, OpenApiVersion, Spec, SpecError, SpecFile, refs};

/// Reads a file of at most the given number of bytes, or says why not.
pub type Reader<'a> = &'a dyn Fn(&Path, u64) -> Result<Vec<u8>, String>;

/// Loads the description whose root file is `path`.
pub fn load(path: &Path, limits: Limits) -> Result<Spec, SpecError> {
    load_with(path, limits, &read_bounded)
}

/// [`load`] with files read by `read` (the fuzz target serves them from memory).
pub fn load_with(path: &Path, limits: Limits, read: Reader<'_>) -> Result<Spec, SpecError> {
    let mut files: Vec<SpecFile> = Vec::new();
    let mut index: HashMap<PathBuf, usize> = HashMap::new();
    let mut total: u64 = 0;
    let mut queue: VecDeque<(PathBuf, Option<(usize, String)>)> = VecDeque::new();
    queue.push_back((path.to_path_buf(), None));
    while let Some((path, referrer)) = queue.pop_front() {
        let key = std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
        if index.contains_key(&key) {
            continue;
        }
        let at_referrer = |message: String| match &referrer {
            Some((file, pointer)) => SpecError {
                file: files[*file].path.clone(),
                line: line_in(&files[*file], pointer),
                pointer: Some(pointer.clone()),
                message,
            },
            None => SpecError {
                file: path.clone(),
                line: 0,
                pointer: None,
                message,
            },
        };
        if files.len() >= limits.max_files {
            return Err(at_referrer(format!(
                "more than {} files reached by `$ref`",
                limits.max_files
            )));
        }
        let bytes = read(&path, limits.max_file_bytes).map_err(&at_referrer)?;
        total += bytes.len() as u64;
        if total > limits.max_total_bytes {
            return Err(at_referrer(format!(
                "the files together exceed {} bytes",
                limits.max_total_bytes
            )));
        }
        let text_err = |line: u32, message: String| SpecError {
            file: path.clone(),
            line,
            pointer: None,
            message,
        };
        let text = std::str::from_utf8(&bytes)
            .map_err(|e| text_err(line_at(&bytes, e.valid_up_to()), "not UTF-8 text".into()))?;
        let shape = ShapeLimits {
            max_depth: limits.max_depth,
            max_nodes: limits.max_nodes,
        };
        let parsed = text::parse(text, shape).map_err(|e| text_err(e.line, e.message))?;
        let file = files.len();
        for (pointer, reference) in references(&parsed.value) {
            if refs::is_remote(&reference) {
                continue; // refused with its location by the check below
            }
            if let Ok((target, _)) = refs::split(&reference)
                && !target.is_empty()
            {
                queue.push_back((
                    refs::target_path(&path, target),
                    Some((file, format!("{pointer}/$ref"))),
                ));
            }
        }
        index.insert(key, file);
        files.push(SpecFile {
            path,
            value: parsed.value,
            lines: parsed.lines,
            sha256: hex::encode(Sha256::digest(&bytes)),
        });
    }
    let version = version_of(&files[0])?;
    let spec = Spec {
        files,
        version,
        limits,
        index,
    };
    check_references(&spec)?;
    Ok(spec)
}

/// Reads at most `max` bytes; a longer file is an error naming the limit (checked while reading,
/// so a huge or endless file is never read whole).
fn read_bounded(path: &Path, max: u64) -> Result<Vec<u8>, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("cannot open: {e}"))?;
    let mut bytes = Vec::new();
    file.take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read: {e}"))?;
    if bytes.len() as u64 > max {
        return Err(format!("the file is larger than the limit of {max} bytes"));
    }
    Ok(bytes)
}

fn line_at(bytes: &[u8], offset: usize) -> u32 {
    let n = bytes[..offset.min(bytes.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count();
    u32::try_from(n + 1).unwrap_or(u32::MAX)
}

fn line_in(file: &SpecFile, pointer: &str) -> u32 {
    file.lines.get(pointer).copied().unwrap_or(1)
}

fn version_of(root: &SpecFile) -> Result<OpenApiVersion, SpecError> {
    let err = |pointer: &str, message: String| SpecError {
        file: root.path.clone(),
        line: line_in(root, pointer),
        pointer: Some(pointer.to_string()),
        message,
    };
    let Value::Object(map) = &root.value else {
        return Err(err("", "an OpenAPI description must be a mapping".into()));
    };
    if map.contains_key("swagger") {
        return Err(err(
            "/swagger",
            "Swagger 2.0 is not supported: convert the description to OpenAPI 3".into(),
        ));
    }
    let version = match map.get("openapi") {
        Some(Value::String(v)) => v,
        Some(_) => {
            return Err(err(
                "/openapi",
                "`openapi` must be a string such as \"3.1.0\"".into(),
            ));
        }
        None => {
            return Err(err(
                "",
                "missing `openapi` (the version, e.g. \"3.1.0\")".into(),
            ));
        }
    };
    let version = if version.starts_with("3.0.") || version == "3.0" {
        OpenApiVersion::V3_0
    } else if version.starts_with("3.1.") || version == "3.1" {
        OpenApiVersion::V3_1
    } else {
        return Err(err(
            "/openapi",
            format!("OpenAPI version `{version}` is not supported (3.0.x and 3.1.x are)"),
        ));
    };
    for key in ["paths", "components"] {
        if let Some(v) = map.get(key)
            && !v.is_object()
        {
            return Err(err(
                &format!("/{key}"),
                format!("`{key}` must be a mapping"),
            ));
        }
    }
    Ok(version)
}

/// Every `$ref` string in a value with the pointer of the object holding it. Example values
/// and extensions (`x-…`) are data, not references, and are skipped.
fn references(root: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut stack: Vec<(String, &Value)> = vec![(String::new(), root)];
    while let Some((pointer, value)) = stack.pop() {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(r)) = map.get("$ref") {
                    out.push((pointer.clone(), r.clone()));
                }
                for (k, v) in map {
                    if k == "example" || k.starts_with("x-") {
                        continue;
                    }
                    stack.push((format!("{pointer}/{}", text::escape_token(k)), v));
                }
            }
            Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    stack.push((format!("{pointer}/{i}"), v));
                }
            }
            _ => {}
        }
    }
    out
}

/// Every reference in every file resolves, and no chain of references is a cycle or too long.
fn check_references(spec: &Spec) -> Result<(), SpecError> {
    for (file, f) in spec.files.iter().enumerate() {
        let mut found = references(&f.value);
        found.sort();
        for (pointer, _) in found {
            spec.deref(Loc { file, pointer })?;
        }
    }
    Ok(())
}
