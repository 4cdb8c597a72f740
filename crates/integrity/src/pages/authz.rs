//! Script authorisations (PCI DSS 6.4.3: every script on a payment page is authorised, with a
//! written justification). An authorisation names a script by its key (URL, or `inline:<sha256>`)
//! and pins the content's hash, so that a changed script is unauthorised again. Kept in
//! `pages/authorizations.json` of the integrity state folder, written atomically, read at every
//! scan so that the CLI and the server share it.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::store::PageStore;
use crate::error::{IntegrityError, io};

/// Longest justification, in characters.
pub const MAX_JUSTIFICATION: usize = 2000;
/// Most authorisations kept.
pub const MAX_AUTHORIZATIONS: usize = 10_000;
/// Largest authorisations file read.
const MAX_FILE_BYTES: u64 = 32 << 20;

/// One authorised script.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Authorization {
    /// The script's key: its URL, or `inline:<sha256>`.
    pub script: String,
    /// The content's SHA-256 the authorisation is for, hex.
    pub sha256: String,
    /// Why the script is needed (PCI DSS 6.4.3).
    pub justification: String,
    /// Who authorised it (a user or token name).
    pub by: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// The authorisations of one state folder.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Authorizations {
    /// By script key; one per key (a new one replaces the old).
    pub scripts: Vec<Authorization>,
}

impl Authorizations {
    /// The file in a pages folder.
    pub fn path(pages_dir: &Path) -> PathBuf {
        pages_dir.join("authorizations.json")
    }

    /// Reads the file; none yet is an empty set.
    pub fn load(pages_dir: &Path) -> Result<Authorizations, IntegrityError> {
        let path = Self::path(pages_dir);
        let bytes = match crate::pages::store::read_limited(&path, MAX_FILE_BYTES)? {
            Some(b) => b,
            None => return Ok(Authorizations::default()),
        };
        serde_json::from_slice(&bytes).map_err(|e| IntegrityError::Parse {
            file: path.display().to_string(),
            line: e.line(),
            message: e.to_string(),
        })
    }

    /// Writes the file atomically.
    pub fn save(&self, pages_dir: &Path) -> Result<(), IntegrityError> {
        std::fs::create_dir_all(pages_dir).map_err(io(pages_dir))?;
        let bytes = serde_json::to_vec_pretty(self).expect("authorisations serialise");
        crate::state::write_atomic(&Self::path(pages_dir), &bytes, 0o600)
    }

    /// The authorisation of a script key.
    pub fn get(&self, script: &str) -> Option<&Authorization> {
        self.scripts.iter().find(|a| a.script == script)
    }

    /// Adds or replaces the authorisation of `a.script`, checking the justification and hash.
    pub fn authorize(&mut self, a: Authorization) -> Result<(), IntegrityError> {
        let bad = |message: &str| IntegrityError::Parse {
            file: "authorisation".into(),
            line: 1,
            message: message.into(),
        };
        if a.justification.trim().is_empty() {
            return Err(bad("`justification` must say why the script is needed"));
        }
        if a.justification.chars().count() > MAX_JUSTIFICATION {
            return Err(IntegrityError::Limit {
                what: "justification characters".into(),
                limit: MAX_JUSTIFICATION as u64,
            });
        }
        if a.sha256.len() != 64 || !a.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad("`sha256` must be 64 hex digits"));
        }
        if a.script.is_empty() || a.script.len() > 4096 {
            return Err(bad("`script` must be 1 to 4096 characters"));
        }
        self.scripts.retain(|x| x.script != a.script);
        if self.scripts.len() >= MAX_AUTHORIZATIONS {
            return Err(IntegrityError::Limit {
                what: "script authorisations".into(),
                limit: MAX_AUTHORIZATIONS as u64,
            });
        }
        self.scripts.push(a);
        self.scripts.sort_by(|x, y| x.script.cmp(&y.script));
        Ok(())
    }

    /// Removes the authorisation of a script key; whether there was one.
    pub fn revoke(&mut self, script: &str) -> bool {
        let before = self.scripts.len();
        self.scripts.retain(|x| x.script != script);
        self.scripts.len() != before
    }
}

/// The hash a script was last seen with on any monitored page.
fn seen_hash(store: &PageStore, script: &str) -> Result<Option<String>, IntegrityError> {
    Ok(store.list()?.iter().find_map(|r| {
        r.inventory
            .scripts
            .iter()
            .find(|s| s.key() == script)
            .and_then(|s| s.sha256.clone())
    }))
}

/// Authorises a script for `by`: its hash is the one given, else the one last seen (an inline
/// script's key carries it). The one step behind the API and the CLI.
pub fn authorize_script(
    store: &PageStore,
    script: &str,
    sha256: Option<String>,
    justification: &str,
    by: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Authorization, IntegrityError> {
    let sha256 = match sha256.or_else(|| script.strip_prefix("inline:").map(str::to_owned)) {
        Some(h) => h.to_ascii_lowercase(),
        None => seen_hash(store, script)?.ok_or_else(|| IntegrityError::Parse {
            file: "authorisation".into(),
            line: 1,
            message: format!(
                "`{script}` was not seen on a monitored page (or could not be fetched): give `sha256`"
            ),
        })?,
    };
    let mut all = Authorizations::load(store.dir())?;
    let a = Authorization {
        script: script.to_owned(),
        sha256,
        justification: justification.trim().to_owned(),
        by: by.to_owned(),
        at: now,
    };
    all.authorize(a.clone())?;
    all.save(store.dir())?;
    Ok(a)
}
