//! Script authorisations (PCI DSS 6.4.3: every script on a payment page is authorised, with a
//! written justification). An authorisation names a script by its key (URL, or `inline:<sha256>`)
//! and pins the content's hash, so that a changed script is unauthorised again. Kept in
//! `pages/authorizations.json` of the integrity state folder, written atomically, read at every
//! scan so that the CLI and the server share it.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::inventory::Script;
use super::store::PageStore;
use crate::error::{IntegrityError, io};

/// Longest justification, in characters.
pub const MAX_JUSTIFICATION: usize = 2000;
/// Most authorisations kept.
pub const MAX_AUTHORIZATIONS: usize = 10_000;
/// Largest authorisations file read.
const MAX_FILE_BYTES: u64 = 32 << 20;

/// One authorised script.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
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

    /// Whether `script`, as last seen, is authorised: its key has an authorisation pinned to its
    /// content's hash (a changed script is not, whatever its authorisation says).
    pub fn covers(&self, script: &Script) -> bool {
        self.get(&script.key())
            .is_some_and(|a| script.sha256.as_deref() == Some(a.sha256.as_str()))
    }

    /// Adds or replaces the authorisation of `a.script`, checking the justification and hash.
    pub fn authorize(&mut self, a: Authorization) -> Result<(), IntegrityError> {
        let bad = |message: &str| IntegrityError::Refused(message.into());
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

/// What the audit log records of a change to the authorisations (an
/// `integrity_script_authorization` record), the same whether it came from the API, the
/// dashboard or the CLI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum AuthorizationChange {
    /// A script authorised (or authorised again, replacing the old authorisation).
    Authorize {
        /// The new authorisation.
        authorization: Authorization,
    },
    /// An authorisation revoked: the script alerts again at the next fetch.
    Revoke {
        /// The script's key.
        script: String,
        /// Who revoked it.
        by: String,
    },
}

/// Takes the lock held from reading the authorisations to saving them: two changes at once (the
/// API runs them on parallel threads, the CLI beside the server) would otherwise save over each
/// other, and a revocation could be undone. Nothing is swept: the monitor writes its page
/// records into this folder without the lock.
fn lock(store: &PageStore) -> Result<ensuresec_durable::Lock, IntegrityError> {
    std::fs::create_dir_all(store.dir()).map_err(io(store.dir()))?;
    Ok(ensuresec_durable::lock_folder(store.dir(), &[])?)
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
        None => seen_hash(store, script)?.ok_or_else(|| {
            IntegrityError::Refused(format!(
                "`{script}` was not seen on a monitored page (or could not be fetched): give `sha256`"
            ))
        })?,
    };
    let _lock = lock(store)?;
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

/// Revokes the authorisation of a script key; whether there was one (nothing is written when
/// there was not). The one step behind the API, the dashboard and the CLI.
pub fn revoke_script(store: &PageStore, script: &str) -> Result<bool, IntegrityError> {
    let _lock = lock(store)?;
    let mut all = Authorizations::load(store.dir())?;
    let revoked = all.revoke(script);
    if revoked {
        all.save(store.dir())?;
    }
    Ok(revoked)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pages::inventory::sha256_hex;

    fn at() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-12-04T10:00:00Z")
            .expect("a valid time")
            .to_utc()
    }

    fn script(src: &str, code: &str) -> Script {
        Script {
            src: Some(src.into()),
            sha256: Some(sha256_hex(code.as_bytes())),
            integrity: None,
            sri_valid: None,
            note: None,
        }
    }

    #[test]
    fn an_authorisation_covers_only_the_content_it_pins() {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let store = PageStore::new(dir.path());
        let url = "https://shop.example/js/app.js";
        let sha = sha256_hex(b"app()");
        let a = authorize_script(&store, url, Some(sha.clone()), " needed ", "user:ann", at())
            .expect("authorised");
        assert_eq!(a.justification, "needed");
        let all = Authorizations::load(store.dir()).expect("readable");
        assert!(all.covers(&script(url, "app()")));
        assert!(
            !all.covers(&script(url, "app(); skim()")),
            "changed content"
        );
        assert!(!all.covers(&script("https://shop.example/other.js", "app()")));
        let mut unknown = script(url, "app()");
        unknown.sha256 = None;
        assert!(!all.covers(&unknown), "content that could not be fetched");
    }

    #[test]
    fn a_justification_is_required_and_an_unseen_script_needs_its_hash() {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let store = PageStore::new(dir.path());
        let sha = sha256_hex(b"app()");
        let url = "https://shop.example/js/app.js";
        for blank in ["", "  \n"] {
            let e = authorize_script(&store, url, Some(sha.clone()), blank, "u", at())
                .expect_err("refused");
            assert!(matches!(&e, IntegrityError::Refused(m) if m.contains("justification")));
        }
        let long = "x".repeat(MAX_JUSTIFICATION + 1);
        let e = authorize_script(&store, url, Some(sha), &long, "u", at()).expect_err("refused");
        assert!(matches!(e, IntegrityError::Limit { .. }), "{e}");
        let e = authorize_script(&store, url, None, "needed", "u", at()).expect_err("refused");
        assert!(e.to_string().contains("give `sha256`"), "{e}");
        assert!(
            Authorizations::load(store.dir())
                .expect("readable")
                .scripts
                .is_empty()
        );
    }

    #[test]
    fn revoking_removes_the_authorisation_once() {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let store = PageStore::new(dir.path());
        let key = format!("inline:{}", sha256_hex(b"tag()"));
        authorize_script(&store, &key, None, "consent banner", "u", at()).expect("authorised");
        assert!(revoke_script(&store, &key).expect("revoked"));
        assert!(!revoke_script(&store, &key).expect("nothing left"));
        assert!(
            Authorizations::load(store.dir())
                .expect("readable")
                .get(&key)
                .is_none()
        );
    }

    #[test]
    fn authorisations_made_at_once_are_all_kept() {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let store = PageStore::new(dir.path());
        let keys: Vec<String> = (0..16)
            .map(|i| format!("inline:{}", sha256_hex(format!("tag{i}()").as_bytes())))
            .collect();
        std::thread::scope(|scope| {
            for key in &keys {
                let store = &store;
                scope.spawn(move || {
                    authorize_script(store, key, None, "tag manager", "u", at())
                        .expect("authorised")
                });
            }
        });
        let all = Authorizations::load(store.dir()).expect("readable");
        let kept = keys.iter().filter(|k| all.get(k).is_some()).count();
        assert_eq!(kept, keys.len(), "none saved over another");
    }

    #[test]
    fn changes_are_recorded_with_their_action() {
        let change = AuthorizationChange::Revoke {
            script: "https://shop.example/a.js".into(),
            by: "user:ann".into(),
        };
        assert_eq!(
            serde_json::to_value(change).expect("serialisable"),
            serde_json::json!({"action": "revoke", "script": "https://shop.example/a.js", "by": "user:ann"})
        );
    }
}
