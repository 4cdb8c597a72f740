//! Roles: what a dashboard user may see and do.

use serde::Serialize;

/// A user's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Sees only incidents and assets shared with their partner organisation.
    Partner,
    /// Sees everything, changes nothing.
    Viewer,
    /// Sees everything and works incidents (approvals, decisions once the response module is in).
    Analyst,
    /// Everything, including user management.
    Admin,
}

impl Role {
    /// Every role, least privileged first.
    pub const ALL: [Role; 4] = [Role::Partner, Role::Viewer, Role::Analyst, Role::Admin];

    /// The name used in the database, the CLI and the pages.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Partner => "partner",
            Role::Viewer => "viewer",
            Role::Analyst => "analyst",
            Role::Admin => "admin",
        }
    }

    /// Whether the role may act on incidents (not only read them).
    pub fn can_act(self) -> bool {
        matches!(self, Role::Analyst | Role::Admin)
    }

    /// Whether the role may manage users.
    pub fn is_admin(self) -> bool {
        self == Role::Admin
    }
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| {
                format!("unknown role `{s}`, expected admin, analyst, viewer or partner")
            })
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
