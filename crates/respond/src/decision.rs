//! Decisions: what the platform has decided about an address, a range, an account, a card or a
//! device (ban, throttle, challenge, review) and until when. They are what bouncers enforce, so
//! they are served in CrowdSec's JSON shape too ([`CsDecision`]).

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What a decision asks the enforcing side to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DecisionKind {
    /// Refuse every request.
    Ban,
    /// Slow down or rate-limit.
    Throttle,
    /// Ask for a challenge (captcha, step-up authentication).
    Challenge,
    /// Let through but hold for a person to review (orders, payouts).
    Review,
}

impl DecisionKind {
    /// The name in JSON, the CLI and CrowdSec's `type` (CrowdSec calls a challenge `captcha`).
    pub fn as_str(self) -> &'static str {
        match self {
            DecisionKind::Ban => "ban",
            DecisionKind::Throttle => "throttle",
            DecisionKind::Challenge => "captcha",
            DecisionKind::Review => "review",
        }
    }
}

impl std::str::FromStr for DecisionKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "ban" => Ok(DecisionKind::Ban),
            "throttle" => Ok(DecisionKind::Throttle),
            "challenge" | "captcha" => Ok(DecisionKind::Challenge),
            "review" => Ok(DecisionKind::Review),
            other => Err(format!(
                "unknown decision type `{other}`, expected ban, throttle, challenge or review"
            )),
        }
    }
}

/// What a decision applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DecisionScope {
    /// One IP address.
    Ip,
    /// A CIDR range.
    Range,
    /// A customer account.
    Account,
    /// A payment card fingerprint.
    Card,
    /// A device fingerprint.
    Device,
}

impl DecisionScope {
    /// Every scope.
    pub const ALL: [DecisionScope; 5] = [
        DecisionScope::Ip,
        DecisionScope::Range,
        DecisionScope::Account,
        DecisionScope::Card,
        DecisionScope::Device,
    ];

    /// Our lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            DecisionScope::Ip => "ip",
            DecisionScope::Range => "range",
            DecisionScope::Account => "account",
            DecisionScope::Card => "card",
            DecisionScope::Device => "device",
        }
    }

    /// The spelling CrowdSec uses in `scope` (`Ip`, `Range`; custom scopes as they are).
    pub fn crowdsec(self) -> &'static str {
        match self {
            DecisionScope::Ip => "Ip",
            DecisionScope::Range => "Range",
            DecisionScope::Account => "Account",
            DecisionScope::Card => "Card",
            DecisionScope::Device => "Device",
        }
    }

    /// The scope an incident's entity kind maps to, if decisions can apply to it.
    pub fn of_entity(kind: ensuresec_model::EntityKind) -> Option<DecisionScope> {
        use ensuresec_model::EntityKind as K;
        match kind {
            K::Ip => Some(DecisionScope::Ip),
            K::Account => Some(DecisionScope::Account),
            K::Card => Some(DecisionScope::Card),
            K::Device => Some(DecisionScope::Device),
            _ => None,
        }
    }
}

impl std::str::FromStr for DecisionScope {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.to_ascii_lowercase();
        DecisionScope::ALL
            .into_iter()
            .find(|v| v.as_str() == lower)
            .ok_or_else(|| {
                format!("unknown decision scope `{s}`, expected ip, range, account, card or device")
            })
    }
}

/// Checks a decision's value against its scope, so that a bouncer never receives garbage.
pub fn validate_value(scope: DecisionScope, value: &str) -> Result<(), String> {
    if value.is_empty() || value.len() > 256 || value.chars().any(char::is_control) {
        return Err("must be 1 to 256 printable characters".into());
    }
    match scope {
        DecisionScope::Ip => value
            .parse::<std::net::IpAddr>()
            .map(|_| ())
            .map_err(|_| format!("`{value}` is not an IP address")),
        DecisionScope::Range => {
            let (addr, bits) = value
                .split_once('/')
                .ok_or_else(|| format!("`{value}` is not a CIDR range (address/bits)"))?;
            let addr: std::net::IpAddr = addr
                .parse()
                .map_err(|_| format!("`{value}` is not a CIDR range"))?;
            let bits: u8 = bits
                .parse()
                .map_err(|_| format!("`{value}` has no prefix length"))?;
            let max = if addr.is_ipv4() { 32 } else { 128 };
            if bits > max {
                return Err(format!("`{value}`: prefix length over {max}"));
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Identifies a stored decision.
pub type DecisionId = u64;

/// One decision, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Decision {
    /// Assigned by the decision store.
    pub id: DecisionId,
    /// What to do.
    #[serde(rename = "type")]
    pub kind: DecisionKind,
    /// What it applies to.
    pub scope: DecisionScope,
    /// The address, range, account, card fingerprint or device.
    pub value: String,
    /// Who decided: a playbook (`playbook:<id>`), `cli`, `api`.
    pub origin: String,
    /// Why: the rule or scenario behind it.
    pub scenario: String,
    /// The incident it answers, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident_id: Option<u64>,
    /// When it was made.
    pub created: DateTime<Utc>,
    /// When it lapses.
    pub until: DateTime<Utc>,
    /// When it was revoked or lapsed, if it has.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted: Option<DateTime<Utc>>,
    /// Leaf index of its record in the audit log, once appended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ledger_index: Option<u64>,
}

impl Decision {
    /// Whether it is in force at `now`.
    pub fn active(&self, now: DateTime<Utc>) -> bool {
        self.deleted.is_none() && self.until > now
    }
}

/// A decision to make (the store assigns the id).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDecision {
    /// What to do.
    #[serde(rename = "type")]
    pub kind: DecisionKind,
    /// What it applies to.
    pub scope: DecisionScope,
    /// The value.
    pub value: String,
    /// How long it holds, in seconds.
    pub duration_seconds: u64,
    /// Why.
    #[serde(default)]
    pub scenario: String,
    /// The incident it answers.
    #[serde(default)]
    pub incident_id: Option<u64>,
}

/// Longest decision: a year. Longer bans are forgotten bans.
pub const MAX_DURATION_SECONDS: u64 = 366 * 24 * 3600;

/// A decision in CrowdSec's Local API shape, as bouncers expect it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CsDecision {
    /// The decision id.
    pub id: u64,
    /// Who decided.
    pub origin: String,
    /// `ban`, `captcha`, `throttle`, `review`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `Ip`, `Range`, or a custom scope.
    pub scope: String,
    /// The value.
    pub value: String,
    /// Time left, as a Go duration (`3h59m58s`).
    pub duration: String,
    /// Why.
    pub scenario: String,
    /// Never simulated here.
    pub simulated: bool,
    /// A stable unique id.
    pub uuid: String,
}

impl CsDecision {
    /// The CrowdSec view of `d` at `now`.
    pub fn from_decision(d: &Decision, now: DateTime<Utc>) -> CsDecision {
        let left = (d.until - now).num_seconds().max(0);
        CsDecision {
            id: d.id,
            origin: d.origin.clone(),
            kind: d.kind.as_str().to_string(),
            scope: d.scope.crowdsec().to_string(),
            value: d.value.clone(),
            duration: go_duration(left),
            scenario: d.scenario.clone(),
            simulated: false,
            uuid: format!("ensuresec-decision-{}", d.id),
        }
    }
}

/// Seconds as a Go duration string (`1h2m3s`), which bouncers parse.
pub fn go_duration(seconds: i64) -> String {
    let mut out = String::new();
    write_go_duration(seconds, &mut out);
    out
}

/// Appends [`go_duration`]`(seconds)` to `out` (poll answers write thousands of them).
pub fn write_go_duration(seconds: i64, out: &mut String) {
    use std::fmt::Write;
    let (h, m, s) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    // Writing to a String cannot fail.
    let _ = if h > 0 {
        write!(out, "{h}h{m}m{s}s")
    } else if m > 0 {
        write!(out, "{m}m{s}s")
    } else {
        write!(out, "{s}s")
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations_read_like_crowdsec() {
        assert_eq!(go_duration(0), "0s");
        assert_eq!(go_duration(59), "59s");
        assert_eq!(go_duration(61), "1m1s");
        assert_eq!(go_duration(4 * 3600 - 2), "3h59m58s");
    }

    #[test]
    fn values_are_checked_against_their_scope() {
        assert!(validate_value(DecisionScope::Ip, "203.0.113.9").is_ok());
        assert!(validate_value(DecisionScope::Ip, "2001:db8::1").is_ok());
        assert!(validate_value(DecisionScope::Ip, "203.0.113.999").is_err());
        assert!(validate_value(DecisionScope::Range, "203.0.113.0/24").is_ok());
        assert!(validate_value(DecisionScope::Range, "203.0.113.0/33").is_err());
        assert!(validate_value(DecisionScope::Account, "").is_err());
        assert!(validate_value(DecisionScope::Account, "a\nb").is_err());
    }

    #[test]
    fn scopes_parse_in_either_spelling() {
        assert_eq!("Ip".parse::<DecisionScope>(), Ok(DecisionScope::Ip));
        assert_eq!("range".parse::<DecisionScope>(), Ok(DecisionScope::Range));
        assert!("planet".parse::<DecisionScope>().is_err());
        assert_eq!(
            "captcha".parse::<DecisionKind>(),
            Ok(DecisionKind::Challenge)
        );
    }
}
