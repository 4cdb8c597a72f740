//! Authentication events: logins and the account changes attackers use to take accounts over.

use std::net::IpAddr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Entities, name};
use crate::entity::{EntityKind, EntityRef};

/// What the user tried to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AuthAction {
    /// Password (or passkey) login.
    Login,
    /// Logout.
    Logout,
    /// A second-factor challenge.
    MfaChallenge,
    /// A password-reset request.
    PasswordReset,
    /// A password change while logged in.
    PasswordChange,
    /// A new account.
    Signup,
    /// A change of e-mail, phone or address on the account.
    ProfileChange,
}

/// How it ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AuthOutcome {
    /// Accepted.
    Success,
    /// Refused (wrong password, unknown account, failed challenge…).
    Failure,
}

/// A login or other authentication step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AuthEvent {
    /// The account named in the attempt (it may not exist).
    pub account: String,
    /// The client's address.
    pub ip: IpAddr,
    /// What was attempted.
    pub action: AuthAction,
    /// How it ended.
    pub outcome: AuthOutcome,
    /// Why it failed, in the shop's words (`bad_password`, `unknown_account`, `locked`…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Device identifier, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    /// User-Agent header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
}

impl Entities for AuthEvent {
    fn entity(&self, kind: EntityKind) -> Option<EntityRef<'_>> {
        match kind {
            EntityKind::Ip => Some(EntityRef::Ip(self.ip)),
            EntityKind::Account => Some(EntityRef::Name(&self.account)),
            EntityKind::Device => name(&self.device),
            EntityKind::Card | EntityKind::Parcel | EntityKind::Asset => None,
        }
    }
}
