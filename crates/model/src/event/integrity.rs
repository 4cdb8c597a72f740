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

/// What the payment-page monitor found different on a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PageChangeKind {
    /// A script that was not on the page before and is not authorised.
    ScriptAdded,
    /// A script whose content (hash) differs from what was seen or authorised.
    ScriptChanged,
    /// A script still on the page without an authorisation (a reminder).
    ScriptUnauthorized,
    /// A form now posts to an origin it did not post to before.
    FormAction,
    /// The Content-Security-Policy lets more through than before.
    CspWeakened,
    /// A security header (HSTS, X-Frame-Options…) was removed or changed.
    HeaderChanged,
    /// The visible text or the structure changed a lot at once.
    Defacement,
}

/// A difference the payment-page monitor found between a page's recorded inventory (scripts,
/// forms, headers, text) and what the page serves now (PCI DSS 6.4.3, 11.6.1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PageChange {
    /// The monitored page.
    pub url: String,
    /// What changed.
    pub change: PageChangeKind,
    /// The site the page belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asset: Option<String>,
    /// One line for people.
    pub summary: String,
    /// The evidence: hashes, script source, CSP directives before and after, similarity.
    #[serde(default)]
    pub evidence: serde_json::Value,
}

impl Entities for PageChange {
    fn entity(&self, kind: EntityKind) -> Option<EntityRef<'_>> {
        match kind {
            EntityKind::Asset => name(&self.asset),
            _ => None,
        }
    }
}

/// A Content-Security-Policy violation a browser reported (`report-uri` or the Reporting API).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CspViolation {
    /// The page where the violation happened.
    pub document_uri: String,
    /// What was blocked (a URL, `inline`, `eval`…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocked_uri: Option<String>,
    /// The directive that was violated (`script-src-elem`…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effective_directive: Option<String>,
    /// `enforce` or `report` (report-only policy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disposition: Option<String>,
    /// The policy in force.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_policy: Option<String>,
    /// The script file and line where it happened, if the browser says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_file: Option<String>,
    /// Line in `source_file`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    /// The first characters of the blocked inline code, if the policy asks for them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sample: Option<String>,
    /// The browser's address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_ip: Option<String>,
    /// The site the page belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asset: Option<String>,
}

impl Entities for CspViolation {
    fn entity(&self, kind: EntityKind) -> Option<EntityRef<'_>> {
        match kind {
            EntityKind::Asset => name(&self.asset),
            EntityKind::Ip => name(&self.client_ip),
            _ => None,
        }
    }
}
