//! Fail-safe mode: a platform-wide switch and one per route group, which the gateway honours
//! (for example: the catalogue stays up, checkout and login writes are refused with a friendly
//! page). This is the library face the gateway links against; the server persists and serves it.

use std::collections::BTreeMap;
use std::sync::RwLock;

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// How much of a route group is served.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
#[schemars(rename = "FailSafeMode")]
pub enum Mode {
    /// Everything as usual.
    #[default]
    Normal,
    /// Reads are served, writes (POST, PUT, PATCH, DELETE) refused.
    ReadOnly,
    /// Everything refused.
    Closed,
}

/// The switch positions.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FailSafeState {
    /// For every route group without its own setting.
    #[serde(default)]
    pub platform: Mode,
    /// Per route group (`catalogue`, `checkout`, `login`, `account`, `admin`…).
    #[serde(default)]
    #[schemars(extend("propertyNames" = { "pattern": "^[a-z0-9_-]{1,64}$" }, "maxProperties" = 64))]
    pub groups: BTreeMap<String, Mode>,
    /// The message shown on refused requests.
    #[serde(default)]
    pub message: Option<String>,
    /// Why it was set.
    #[serde(default)]
    pub reason: String,
    /// Who set it.
    #[serde(default)]
    pub set_by: String,
    /// When.
    #[serde(default)]
    pub since: Option<DateTime<Utc>>,
}

/// What the gateway should do with one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Serve it.
    Allow,
    /// Refuse it with this friendly message (HTTP 503 and a page).
    Refuse(String),
}

/// Most route groups.
pub const MAX_GROUPS: usize = 64;
const DEFAULT_MESSAGE: &str = "This part of the shop is paused for your protection. Browsing still works; please try again later.";

impl FailSafeState {
    /// Refuses nonsense: too many groups, bad group names, an overlong message.
    pub fn validate(&self) -> Result<(), String> {
        if self.groups.len() > MAX_GROUPS {
            return Err(format!("`groups`: at most {MAX_GROUPS} route groups"));
        }
        for name in self.groups.keys() {
            if name.is_empty()
                || name.len() > 64
                || !name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
            {
                return Err(format!(
                    "`groups.{name}`: a group name is 1 to 64 lower-case letters, digits, `-` or `_`"
                ));
            }
        }
        if self.message.as_ref().is_some_and(|m| m.len() > 2000) {
            return Err("`message`: at most 2000 bytes".into());
        }
        if self.reason.len() > 2000 {
            return Err("`reason`: at most 2000 bytes".into());
        }
        Ok(())
    }

    /// The mode in force for `group`.
    pub fn mode(&self, group: &str) -> Mode {
        self.groups.get(group).copied().unwrap_or(self.platform)
    }

    /// The verdict for a request to `group`; `write` for POST, PUT, PATCH and DELETE.
    pub fn verdict(&self, group: &str, write: bool) -> Verdict {
        let refuse = || {
            Verdict::Refuse(
                self.message
                    .clone()
                    .unwrap_or_else(|| DEFAULT_MESSAGE.into()),
            )
        };
        match self.mode(group) {
            Mode::Normal => Verdict::Allow,
            Mode::ReadOnly if !write => Verdict::Allow,
            Mode::ReadOnly | Mode::Closed => refuse(),
        }
    }
}

/// The switch, shared between the API that sets it and the gateway that reads it on every
/// request (a read lock: cheap).
#[derive(Debug, Default)]
pub struct FailSafe(RwLock<FailSafeState>);

impl FailSafe {
    /// A switch in this position.
    pub fn new(state: FailSafeState) -> FailSafe {
        FailSafe(RwLock::new(state))
    }

    /// The current position.
    pub fn state(&self) -> FailSafeState {
        self.0.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Moves the switch after validating the new position.
    pub fn set(&self, state: FailSafeState) -> Result<(), String> {
        state.validate()?;
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = state;
        Ok(())
    }

    /// The verdict for a request to `group` (see [`FailSafeState::verdict`]).
    pub fn verdict(&self, group: &str, write: bool) -> Verdict {
        self.0
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .verdict(group, write)
    }
}

/// The friendly page for a refused request.
pub fn refusal_page(message: &str) -> String {
    let escaped = message
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    format!(
        "<!doctype html><html lang=\"en\"><meta charset=\"utf-8\"><title>Paused for your protection</title>\
         <body style=\"font-family:sans-serif;max-width:40em;margin:4em auto\"><h1>We'll be right back</h1><p>{escaped}</p></body></html>"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_override_the_platform_mode() {
        let fs = FailSafe::default();
        assert_eq!(fs.verdict("checkout", true), Verdict::Allow);
        let mut state = FailSafeState::default();
        state.groups.insert("checkout".into(), Mode::ReadOnly);
        state.groups.insert("login".into(), Mode::Closed);
        fs.set(state).unwrap();
        assert_eq!(fs.verdict("catalogue", true), Verdict::Allow);
        assert_eq!(fs.verdict("checkout", false), Verdict::Allow);
        assert!(matches!(fs.verdict("checkout", true), Verdict::Refuse(_)));
        assert!(matches!(fs.verdict("login", false), Verdict::Refuse(_)));
        let mut all = fs.state();
        all.platform = Mode::ReadOnly;
        fs.set(all).unwrap();
        assert!(matches!(fs.verdict("catalogue", true), Verdict::Refuse(_)));
    }

    #[test]
    fn bad_positions_are_refused() {
        let mut state = FailSafeState::default();
        state.groups.insert("Check Out".into(), Mode::Closed);
        assert!(
            FailSafe::default()
                .set(state)
                .unwrap_err()
                .contains("groups.Check Out")
        );
    }

    #[test]
    fn the_page_escapes_the_message() {
        assert!(refusal_page("<b>").contains("&lt;b&gt;"));
    }
}
