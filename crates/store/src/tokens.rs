//! API tokens: random secrets shown once, stored only as SHA-256 hashes, each with scopes.
//! A fast hash is right here (unlike passwords): the secrets carry 256 bits of entropy, so there is
//! nothing to brute-force, and the hash is looked up on every request.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::StoreError;

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Send events.
    Ingest,
    /// Read alerts, incidents and events.
    Read,
    /// Everything, including changing state and managing tokens.
    Admin,
    /// Pull decisions (CrowdSec bouncers, with `X-Api-Key`).
    Bouncer,
}

impl Scope {
    /// The name used in the store, the CLI and error messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Ingest => "ingest",
            Scope::Read => "read",
            Scope::Admin => "admin",
            Scope::Bouncer => "bouncer",
        }
    }
}

impl std::str::FromStr for Scope {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "ingest" => Ok(Scope::Ingest),
            "read" => Ok(Scope::Read),
            "admin" => Ok(Scope::Admin),
            "bouncer" => Ok(Scope::Bouncer),
            other => Err(format!(
                "unknown scope `{other}`, expected ingest, read, admin or bouncer"
            )),
        }
    }
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A token to create.
#[derive(Debug, Clone)]
pub struct NewToken {
    /// A unique name, to list and revoke it by.
    pub name: String,
    /// What it may do.
    pub scopes: Vec<Scope>,
    /// Use this secret instead of a random one (for `ENSURESEC_ADMIN_TOKEN`).
    pub secret: Option<String>,
    /// Replace a token of the same name instead of refusing.
    pub replace: bool,
    /// Creation time.
    pub created: DateTime<Utc>,
}

/// A stored token, without its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenInfo {
    /// Its name.
    pub name: String,
    /// What it may do.
    pub scopes: Vec<Scope>,
    /// When it was created.
    pub created: DateTime<Utc>,
    /// Whether it was revoked.
    pub revoked: bool,
}

impl TokenInfo {
    /// Whether the token grants `scope` (admin grants everything).
    pub fn allows(&self, scope: Scope) -> bool {
        !self.revoked && (self.scopes.contains(&scope) || self.scopes.contains(&Scope::Admin))
    }
}

/// The stored form of a secret.
pub fn hash_token(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// A new random secret: `es_` and 64 hex digits.
pub(crate) fn generate_secret() -> Result<String, StoreError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| StoreError::Random(e.to_string()))?;
    Ok(format!("es_{}", hex::encode(bytes)))
}

pub(crate) fn scopes_to_text(scopes: &[Scope]) -> String {
    scopes
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

pub(crate) fn scopes_from_text(text: &str) -> Vec<Scope> {
    text.split(',').filter_map(|s| s.parse().ok()).collect()
}
