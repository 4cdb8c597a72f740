//! Integrity observations: changes to the shop's files and to what its pages serve.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Entities, name};
use crate::entity::{EntityKind, EntityRef};

/// What happened to a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FileChangeKind {
    /// A new file.
    Created,
    /// New content or metadata.
    Modified,
    /// Removed.
    Deleted,
    /// Moved to another path.
    Renamed,
}

/// A change to a monitored file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FileChange {
    /// Path relative to the monitored root.
    pub path: String,
    /// What happened.
    pub change: FileChangeKind,
    /// The server or site the file belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asset: Option<String>,
    /// Content hash before (BLAKE3, hex).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash_before: Option<String>,
    /// Content hash after (BLAKE3, hex).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash_after: Option<String>,
    /// Size after, in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// Size before, in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_before: Option<u64>,
    /// What changed, for people: lines added and removed with the first changed lines of a text
    /// file, or the mode and owner before and after.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diff: Option<String>,
    /// Content-scan (YARA) rules the new content matches, with the matching strings.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub matches: Vec<ContentMatch>,
}

/// A content-scan rule that matched a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ContentMatch {
    /// The rule's name.
    pub rule: String,
    /// The matching strings, as `$id@offset: text`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub strings: Vec<String>,
}

impl Entities for FileChange {
    fn entity(&self, kind: EntityKind) -> Option<EntityRef<'_>> {
        match kind {
            EntityKind::Asset => name(&self.asset),
            _ => None,
        }
    }
}

/// A script a page loads: external by URL, inline by hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScriptRef {
    /// URL of an external script.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub src: Option<String>,
    /// SHA-256 of the script's content, hex.
    pub sha256: String,
    /// Its Subresource Integrity attribute, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub integrity: Option<String>,
}

/// What a monitored page served when fetched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PageSnapshot {
    /// The page's URL.
    pub url: String,
    /// SHA-256 of the body, hex.
    pub content_sha256: String,
    /// HTTP status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// The site it belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asset: Option<String>,
    /// Scripts on the page.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scripts: Vec<ScriptRef>,
    /// Form actions on the page.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub form_actions: Vec<String>,
    /// The Content-Security-Policy header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csp: Option<String>,
}

impl Entities for PageSnapshot {
    fn entity(&self, kind: EntityKind) -> Option<EntityRef<'_>> {
        match kind {
            EntityKind::Asset => name(&self.asset),
            _ => None,
        }
    }
}
