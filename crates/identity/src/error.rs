//! Every way an SD-JWT can be malformed or rejected, each with its own name.
//!
//! A verifier that answers "invalid" teaches nobody anything; RFC 9901 §7 lists distinct checks,
//! and an operator reading the audit log must see which one failed. [`IdentityError::reason`]
//! gives the stable, machine-readable name used in API answers and audit entries.

use thiserror::Error;

/// Why issuing, presenting or verifying a credential failed.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum IdentityError {
    /// The input is larger than the configured limit.
    #[error("{what} is {actual} long, over the limit of {limit}")]
    TooLarge {
        /// What was measured (bytes of the presentation, number of disclosures, nesting depth).
        what: &'static str,
        /// The measured size.
        actual: usize,
        /// The configured limit.
        limit: usize,
    },
    /// The compact serialization (`<jwt>~<disclosure>~…~<kb-jwt>`) is broken.
    #[error("malformed SD-JWT: {0}")]
    Malformed(String),
    /// A JWS (issuer-signed JWT, KB-JWT or status list token) is broken.
    #[error("malformed {part}: {detail}")]
    MalformedJwt {
        /// Which JWT: `issuer-signed JWT`, `KB-JWT`, `status list token`.
        part: &'static str,
        /// What is wrong.
        detail: String,
    },
    /// A disclosure does not decode to `[salt, name, value]` or `[salt, value]`.
    #[error("disclosure {index} is malformed: {detail}")]
    MalformedDisclosure {
        /// Position of the disclosure in the presentation (0-based).
        index: usize,
        /// What is wrong.
        detail: String,
    },
    /// A key (JWK) is unusable.
    #[error("invalid key: {0}")]
    InvalidKey(String),
    /// The JWS uses an algorithm this verifier does not accept (`none`, HS256, …).
    #[error("algorithm {0:?} is not accepted (ES256 and EdDSA are)")]
    UnsupportedAlgorithm(String),
    /// The issuer (`iss`) is not in the trusted issuer list.
    #[error("issuer {0:?} is not trusted")]
    UntrustedIssuer(String),
    /// The issuer's signature does not verify with any of its trusted keys.
    #[error("the issuer's signature does not verify")]
    BadIssuerSignature,
    /// `_sd_alg` names a hash function this verifier does not support.
    #[error("_sd_alg {0:?} is not supported (sha-256 is)")]
    UnsupportedSdAlg(String),
    /// The same disclosure appears twice in the presentation.
    #[error("disclosure {0} appears more than once")]
    DuplicateDisclosure(usize),
    /// The same digest appears more than once in the signed payload.
    #[error("digest {0} appears more than once in the payload")]
    DuplicateDigest(String),
    /// A disclosure is not referenced by any digest in the payload (or in another disclosure).
    #[error("disclosure {0} is not referenced by the payload (tampered or foreign)")]
    UnreferencedDisclosure(usize),
    /// An object-property disclosure was referenced from an array, or an array element
    /// disclosure from an `_sd` list.
    #[error("disclosure {0} has the wrong form for where its digest appears")]
    DisclosureFormMismatch(usize),
    /// A disclosed claim name already exists in the object, or is `_sd` / `...`.
    #[error("disclosed claim {0:?} collides with an existing or reserved name")]
    ClaimNameCollision(String),
    /// The payload's structure is wrong (`_sd` not an array of strings, …).
    #[error("invalid payload: {0}")]
    InvalidPayload(String),
    /// The credential's `exp` is in the past.
    #[error("the credential expired at {0}")]
    Expired(i64),
    /// The credential's `nbf` (or `iat`) is in the future.
    #[error("the credential is not valid before {0}")]
    NotYetValid(i64),
    /// Key binding was required and the presentation has no KB-JWT.
    #[error("key binding is required and the presentation has no KB-JWT")]
    MissingKeyBinding,
    /// The credential has no `cnf.jwk` to check a KB-JWT against.
    #[error("the credential has no holder key (cnf.jwk)")]
    MissingHolderKey,
    /// The KB-JWT's `typ` header is not `kb+jwt`.
    #[error("KB-JWT typ is {0:?}, expected \"kb+jwt\"")]
    KeyBindingType(String),
    /// The KB-JWT's signature does not verify with the holder's key.
    #[error("the KB-JWT's signature does not verify with the holder key")]
    BadKeyBindingSignature,
    /// The KB-JWT's `sd_hash` does not match the presented SD-JWT.
    #[error("the KB-JWT's sd_hash does not match the presentation")]
    SdHashMismatch,
    /// The KB-JWT's `nonce` is not the one the verifier issued.
    #[error("the KB-JWT's nonce does not match the challenge")]
    NonceMismatch,
    /// The KB-JWT's `aud` is not this verifier / order.
    #[error("the KB-JWT's audience {0:?} does not match")]
    AudienceMismatch(String),
    /// The KB-JWT's `iat` is too old or in the future.
    #[error("the KB-JWT was issued at {iat}, outside the accepted window around {now}")]
    KeyBindingNotFresh {
        /// The KB-JWT's `iat`.
        iat: i64,
        /// The verifier's clock.
        now: i64,
    },
    /// The nonce was never issued or its challenge expired.
    #[error("unknown or expired nonce")]
    UnknownNonce,
    /// The nonce was already used by an earlier verification.
    #[error("the nonce was already used (replay)")]
    ReplayedNonce,
    /// Too many outstanding challenges.
    #[error("too many outstanding challenges (limit {0})")]
    TooManyChallenges(usize),
    /// The credential's status list says it is revoked (or suspended).
    #[error("the credential is revoked (status {0})")]
    Revoked(u8),
    /// The credential references a status list that is not available.
    #[error("status list {0:?} is not available")]
    StatusListUnavailable(String),
    /// A status list (token) is malformed or its index out of range.
    #[error("invalid status list: {0}")]
    InvalidStatusList(String),
    /// The credential proves the holder is younger than required.
    #[error("the credential states the holder is under {0}")]
    UnderAge(u8),
    /// The presentation does not disclose anything that proves the required age.
    #[error("the presentation discloses no claim proving age {0} or over")]
    AgeNotDisclosed(u8),
    /// A claim path given to the issuer or holder does not exist in the claims.
    #[error("claim path {0:?} does not exist")]
    UnknownClaimPath(String),
}

impl IdentityError {
    /// The stable, machine-readable name of the failure, used in API answers and audit entries.
    #[must_use]
    pub fn reason(&self) -> &'static str {
        match self {
            Self::TooLarge { .. } => "too_large",
            Self::Malformed(_) => "malformed",
            Self::MalformedJwt { .. } => "malformed_jwt",
            Self::MalformedDisclosure { .. } => "malformed_disclosure",
            Self::InvalidKey(_) => "invalid_key",
            Self::UnsupportedAlgorithm(_) => "unsupported_algorithm",
            Self::UntrustedIssuer(_) => "untrusted_issuer",
            Self::BadIssuerSignature => "bad_issuer_signature",
            Self::UnsupportedSdAlg(_) => "unsupported_sd_alg",
            Self::DuplicateDisclosure(_) => "duplicate_disclosure",
            Self::DuplicateDigest(_) => "duplicate_digest",
            Self::UnreferencedDisclosure(_) => "unreferenced_disclosure",
            Self::DisclosureFormMismatch(_) => "disclosure_form_mismatch",
            Self::ClaimNameCollision(_) => "claim_name_collision",
            Self::InvalidPayload(_) => "invalid_payload",
            Self::Expired(_) => "expired",
            Self::NotYetValid(_) => "not_yet_valid",
            Self::MissingKeyBinding => "missing_key_binding",
            Self::MissingHolderKey => "missing_holder_key",
            Self::KeyBindingType(_) => "key_binding_type",
            Self::BadKeyBindingSignature => "bad_key_binding_signature",
            Self::SdHashMismatch => "sd_hash_mismatch",
            Self::NonceMismatch => "nonce_mismatch",
            Self::AudienceMismatch(_) => "audience_mismatch",
            Self::KeyBindingNotFresh { .. } => "key_binding_not_fresh",
            Self::UnknownNonce => "unknown_nonce",
            Self::ReplayedNonce => "replayed_nonce",
            Self::TooManyChallenges(_) => "too_many_challenges",
            Self::Revoked(_) => "revoked",
            Self::StatusListUnavailable(_) => "status_list_unavailable",
            Self::InvalidStatusList(_) => "invalid_status_list",
            Self::UnderAge(_) => "under_age",
            Self::AgeNotDisclosed(_) => "age_not_disclosed",
            Self::UnknownClaimPath(_) => "unknown_claim_path",
        }
    }
}

/// Shorthand for results in this crate.
pub type Result<T, E = IdentityError> = std::result::Result<T, E>;
