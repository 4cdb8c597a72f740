//! `$ref`: splitting a reference into file and fragment, finding the referenced value, and
//! following chains of references with a depth bound and cycle detection.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{Loc, Spec, SpecError};

/// True for references that need the network (`http://…`, `//host/…`): never fetched.
pub fn is_remote(reference: &str) -> bool {
    reference.contains("://") || reference.starts_with("//")
}

/// The file part and the decoded fragment (JSON pointer) of a reference.
pub(super) fn split(reference: &str) -> Result<(&str, String), String> {
    let (file, fragment) = match reference.split_once('#') {
        Some((f, frag)) => (f, frag),
        None => (reference, ""),
    };
    let pointer = percent_decode(fragment)?;
    if !pointer.is_empty() && !pointer.starts_with('/') {
        return Err(format!(
            "the fragment `#{fragment}` is not a JSON pointer (anchors are not supported)"
        ));
    }
    Ok((file, pointer))
}

/// The path a relative file reference names, seen from the file `from`.
pub(super) fn target_path(from: &Path, file: &str) -> PathBuf {
    from.parent().unwrap_or(Path::new("")).join(file)
}

/// Percent-decoding of a URI fragment. Written here because it is six lines and the only
/// decoding the loader needs.
fn percent_decode(s: &str) -> Result<String, String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| format!("bad percent-escape in `#{s}`"))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| format!("fragment `#{s}` is not UTF-8 once decoded"))
}

impl Spec {
    /// The location a `$ref` written at `from` points to.
    pub fn resolve_ref(&self, from: &Loc, reference: &str) -> Result<Loc, SpecError> {
        let at = from.child("$ref");
        if is_remote(reference) {
            return Err(self.error_at(
                &at,
                format!("remote reference `{reference}` is not fetched; download it and refer to the file"),
            ));
        }
        let (file, pointer) = split(reference).map_err(|m| self.error_at(&at, m))?;
        let target = if file.is_empty() {
            from.file
        } else {
            let path = target_path(&self.files[from.file].path, file);
            let key = std::fs::canonicalize(&path).unwrap_or(path);
            *self.index.get(&key).ok_or_else(|| {
                self.error_at(&at, format!("reference `{reference}`: file not loaded"))
            })?
        };
        let loc = Loc {
            file: target,
            pointer,
        };
        if self.get(&loc).is_none() {
            return Err(self.error_at(&at, format!("reference `{reference}` points to nothing")));
        }
        Ok(loc)
    }

    /// Follows `$ref`s from `loc` until a value that is not a reference; bounded by the
    /// reference depth limit, and a chain that returns to a location already passed is a cycle.
    pub fn deref(&self, loc: Loc) -> Result<(Loc, &Value), SpecError> {
        let mut chain: Vec<Loc> = Vec::new();
        let mut here = loc;
        loop {
            let value = self
                .get(&here)
                .ok_or_else(|| self.error_at(&here, "nothing at this location"))?;
            let Some(reference) = value.get("$ref").and_then(Value::as_str) else {
                return Ok((here, value));
            };
            if chain.contains(&here) {
                let path: Vec<String> = chain.iter().map(|l| format!("#{}", l.pointer)).collect();
                return Err(self.error_at(
                    &here,
                    format!(
                        "`$ref` cycle: {} → back to #{}",
                        path.join(" → "),
                        here.pointer
                    ),
                ));
            }
            if chain.len() >= self.limits.max_ref_depth {
                let max = self.limits.max_ref_depth;
                return Err(self.error_at(&here, format!("more than {max} `$ref`s in a chain")));
            }
            let next = self.resolve_ref(&here, reference)?;
            chain.push(here);
            here = next;
        }
    }

    /// [`Spec::deref`] for rules, which run only on descriptions whose references were all
    /// checked by the loader.
    pub fn follow(&self, loc: Loc) -> Option<(Loc, &Value)> {
        self.deref(loc).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fragments_are_decoded_and_anchors_refused() {
        assert_eq!(
            split("a.yaml#/x/%7Bid%7D").expect("ok"),
            ("a.yaml", "/x/{id}".to_string())
        );
        assert_eq!(
            split("#/components").expect("ok"),
            ("", "/components".to_string())
        );
        assert_eq!(
            split("other.json").expect("ok"),
            ("other.json", String::new())
        );
        assert!(split("#anchor").is_err());
        assert!(split("#/a%zz").is_err());
        assert!(is_remote("https://example.com/x.yaml#/a"));
        assert!(!is_remote("../common.yaml#/a"));
    }
}
