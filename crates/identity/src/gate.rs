//! The age gate a shop runs at checkout: a challenge bound to an order, then a presentation
//! checked against it, answering only "is the holder old enough" — the disclosed claims are
//! dropped here and never leave this module.

use std::sync::RwLock;

use chrono::NaiveDate;
use serde_json::Value;

use crate::age::prove_age;
use crate::challenge::{Challenge, ChallengeStore};
use crate::error::{IdentityError, Result};
use crate::jws;
use crate::sd_jwt::{Limits, SdJwt};
use crate::status_list::StatusLists;
use crate::verify::{KeyBinding, TrustedIssuers, VerifyOptions, verify};

/// How the gate is set up.
#[derive(Debug, Clone)]
pub struct GateConfig {
    /// This verifier's identifier; the KB-JWT audience is [`order_audience`] of it.
    pub verifier_id: String,
    /// Seconds a challenge stays valid.
    pub nonce_ttl_secs: i64,
    /// Outstanding challenges kept at most.
    pub max_challenges: usize,
    /// Size limits for presentations.
    pub limits: Limits,
}

/// The audience a KB-JWT must name for `order_id`: the presentation is good for that order
/// at that shop only.
#[must_use]
pub fn order_audience(verifier_id: &str, order_id: &str) -> String {
    format!("{verifier_id}#order={order_id}")
}

/// The outcome of a successful check: the predicate and the order, nothing disclosed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgeProof {
    /// The order the presentation was bound to.
    pub order_id: String,
    /// The age proven.
    pub min_age: u8,
    /// The credential's issuer.
    pub issuer: String,
}

/// Trusted issuers, fetched status lists and outstanding challenges.
#[derive(Debug)]
pub struct AgeGate {
    config: GateConfig,
    trusted: TrustedIssuers,
    status: RwLock<StatusLists>,
    challenges: ChallengeStore,
}

impl AgeGate {
    /// A gate trusting `trusted`.
    #[must_use]
    pub fn new(config: GateConfig, trusted: TrustedIssuers) -> Self {
        let challenges = ChallengeStore::new(config.nonce_ttl_secs, config.max_challenges);
        Self {
            config,
            trusted,
            status: RwLock::new(StatusLists::default()),
            challenges,
        }
    }

    /// The trusted issuers (status list tokens are checked against them too).
    #[must_use]
    pub fn trusted(&self) -> &TrustedIssuers {
        &self.trusted
    }

    /// Accepts a freshly fetched status list token.
    ///
    /// # Errors
    /// As [`StatusLists::accept_token`].
    pub fn accept_status_list(&self, token: &str, now: i64) -> Result<String> {
        self.status
            .write()
            .expect("no code panics while holding this lock")
            .accept_token(token, &self.trusted, now)
    }

    /// A challenge for `order_id`.
    ///
    /// # Errors
    /// [`IdentityError::TooManyChallenges`].
    pub fn challenge(&self, order_id: &str, now: i64) -> Result<Challenge> {
        self.challenges.issue(order_id, now)
    }

    /// The KB-JWT audience for `order_id` at this gate.
    #[must_use]
    pub fn audience(&self, order_id: &str) -> String {
        order_audience(&self.config.verifier_id, order_id)
    }

    /// Checks that `presentation` answers an outstanding challenge and proves `min_age`. The
    /// challenge is used up by this call whatever the outcome, so a nonce can be tried once.
    ///
    /// # Errors
    /// [`IdentityError::MissingKeyBinding`], [`IdentityError::UnknownNonce`],
    /// [`IdentityError::ReplayedNonce`], any verification failure, [`IdentityError::UnderAge`]
    /// or [`IdentityError::AgeNotDisclosed`].
    pub fn check(&self, presentation: &str, min_age: u8, now: i64) -> Result<AgeProof> {
        let sd_jwt = SdJwt::parse(presentation, &self.config.limits)?;
        let kb = sd_jwt
            .kb_jwt
            .as_deref()
            .ok_or(IdentityError::MissingKeyBinding)?;
        let nonce = jws::decode("KB-JWT", kb)?
            .payload
            .get("nonce")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or(IdentityError::NonceMismatch)?;
        let challenge = self.challenges.take(&nonce, now)?;
        let mut options = VerifyOptions::new(
            now,
            KeyBinding::Required {
                nonce,
                audience: self.audience(&challenge.order_id),
            },
        );
        options.limits = self.config.limits;
        let verified = {
            let status = self
                .status
                .read()
                .expect("no code panics while holding this lock");
            verify(presentation, &self.trusted, &status, &options)?
        };
        let today: NaiveDate = chrono::DateTime::from_timestamp(now, 0)
            .ok_or_else(|| IdentityError::InvalidPayload(format!("time {now} is not a date")))?
            .date_naive();
        prove_age(&verified.claims, min_age, today)?;
        Ok(AgeProof {
            order_id: challenge.order_id,
            min_age,
            issuer: verified.issuer,
        })
    }
}
