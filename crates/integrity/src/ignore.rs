//! Ignore patterns: globs relative to the root for what changes by design (caches, uploads,
//! logs). A pattern without `/` matches a name at any depth (`*.log`); one with `/` is anchored
//! at the root (`var/cache/**`). A folder that matches is skipped whole.

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};

use crate::error::IntegrityError;

/// A compiled set of ignore patterns.
#[derive(Debug, Clone)]
pub struct Ignore {
    set: GlobSet,
    patterns: Vec<String>,
}

impl Ignore {
    /// Compiles the patterns; a bad one is an error naming it.
    pub fn new(patterns: &[String]) -> Result<Ignore, IntegrityError> {
        let mut b = GlobSetBuilder::new();
        for p in patterns {
            crate::header::check_value("ignore", p)?;
            let anchored = if p.contains('/') {
                p.trim_start_matches('/').to_string()
            } else {
                format!("**/{p}")
            };
            let glob = GlobBuilder::new(&anchored)
                .literal_separator(true)
                .build()
                .map_err(|e| IntegrityError::Pattern {
                    pattern: p.clone(),
                    message: e.kind().to_string(),
                })?;
            b.add(glob);
        }
        let set = b.build().map_err(|e| IntegrityError::Pattern {
            pattern: patterns.join(" "),
            message: e.to_string(),
        })?;
        Ok(Ignore {
            set,
            patterns: patterns.to_vec(),
        })
    }

    /// Whether the root-relative path `rel` is ignored.
    pub fn is_ignored(&self, rel: &str) -> bool {
        self.set.is_match(rel)
    }

    /// The patterns as given.
    pub fn patterns(&self) -> &[String] {
        &self.patterns
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_anywhere_and_paths_from_the_root() {
        let i = Ignore::new(&["*.log".into(), "var/cache/**".into(), "media".into()]).unwrap();
        assert!(i.is_ignored("error.log"));
        assert!(i.is_ignored("a/b/error.log"));
        assert!(i.is_ignored("var/cache/x/y.php"));
        assert!(!i.is_ignored("app/var/cache/y.php"));
        assert!(i.is_ignored("pub/media"));
        assert!(!i.is_ignored("index.php"));
    }

    #[test]
    fn a_bad_pattern_is_named() {
        let e = Ignore::new(&["a/[b".into()]).unwrap_err();
        assert!(e.to_string().starts_with("ignore pattern `a/[b`"), "{e}");
    }
}
