//! Verification of a presentation (RFC 9901 §7): issuer signature against a trusted issuer
//! list, digests and disclosures, validity period, status, and key binding.

use std::collections::HashMap;

use serde_json::Value;

use crate::disclosure::{Disclosure, SD_ALG};
use crate::error::{IdentityError, Result};
use crate::jwk::{Jwk, VerifyingKey};
use crate::jws::{self, Decoded, JsonObject, int_claim};
use crate::present::KB_JWT_TYP;
use crate::resolve::resolve;
use crate::sd_jwt::{Limits, SdJwt};
use crate::status_list::StatusLists;

/// The issuers whose credentials this verifier accepts, with their public keys.
#[derive(Debug, Clone, Default)]
pub struct TrustedIssuers {
    keys: HashMap<String, Vec<VerifyingKey>>,
}

impl TrustedIssuers {
    /// Trusts `key` for credentials whose `iss` is `issuer` (an issuer may have several keys).
    pub fn add(&mut self, issuer: &str, key: VerifyingKey) {
        self.keys.entry(issuer.to_owned()).or_default().push(key);
    }

    /// Checks that `issuer` is trusted and one of its keys signed `jwt`.
    ///
    /// # Errors
    /// [`IdentityError::UntrustedIssuer`] or [`IdentityError::BadIssuerSignature`].
    pub fn check_signature(&self, issuer: &str, jwt: &Decoded<'_>) -> Result<()> {
        let keys = self
            .keys
            .get(issuer)
            .ok_or_else(|| IdentityError::UntrustedIssuer(issuer.to_owned()))?;
        if keys.iter().any(|k| jwt.verifies_with(k)) {
            Ok(())
        } else {
            Err(IdentityError::BadIssuerSignature)
        }
    }
}

/// What the KB-JWT must show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyBinding {
    /// Key binding is optional; a KB-JWT that is present is still checked (typ, signature,
    /// `sd_hash`, freshness), but its nonce and audience are not compared.
    Optional,
    /// A KB-JWT over exactly this nonce and audience is required.
    Required {
        /// The nonce the verifier issued.
        nonce: String,
        /// The expected `aud`.
        audience: String,
    },
}

/// How a presentation is verified.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// The verifier's clock, seconds since the epoch.
    pub now: i64,
    /// Tolerated clock difference for `exp`, `nbf` and a KB-JWT `iat` in the future.
    pub leeway_secs: i64,
    /// How old a KB-JWT's `iat` may be.
    pub max_key_binding_age_secs: i64,
    /// Key binding policy.
    pub key_binding: KeyBinding,
    /// Size limits.
    pub limits: Limits,
}

impl VerifyOptions {
    /// Defaults: 60 s leeway, KB-JWTs at most 5 minutes old, default limits.
    #[must_use]
    pub fn new(now: i64, key_binding: KeyBinding) -> Self {
        Self {
            now,
            leeway_secs: 60,
            max_key_binding_age_secs: 300,
            key_binding,
            limits: Limits::default(),
        }
    }
}

/// A verified presentation.
#[derive(Debug, Clone, PartialEq)]
pub struct Verified {
    /// The trusted issuer.
    pub issuer: String,
    /// The disclosed claims with the always-visible ones (`_sd`, `_sd_alg` removed).
    pub claims: JsonObject,
    /// Whether a KB-JWT proved the presenter holds the credential's key.
    pub key_bound: bool,
}

/// Verifies a compact presentation.
///
/// # Errors
/// The [`IdentityError`] naming the first check that failed.
pub fn verify(
    presentation: &str,
    trusted: &TrustedIssuers,
    status: &StatusLists,
    options: &VerifyOptions,
) -> Result<Verified> {
    let sd_jwt = SdJwt::parse(presentation, &options.limits)?;
    let jwt = jws::decode("issuer-signed JWT", &sd_jwt.jwt)?;
    // `iss` (SD-JWT VC), or a W3C VC data model `issuer` string (JSON-LD credentials).
    let issuer = ["iss", "issuer"]
        .iter()
        .find_map(|name| jwt.payload.get(*name).and_then(Value::as_str))
        .ok_or_else(|| IdentityError::InvalidPayload("iss is missing".into()))?;
    trusted.check_signature(issuer, &jwt)?;
    match jwt.payload.get("_sd_alg") {
        None => {}
        Some(Value::String(alg)) if alg == SD_ALG => {}
        Some(other) => {
            return Err(IdentityError::UnsupportedSdAlg(
                other.as_str().unwrap_or("<not a string>").to_owned(),
            ));
        }
    }
    let disclosures = sd_jwt
        .disclosures
        .iter()
        .enumerate()
        .map(|(i, d)| Disclosure::parse(i, d))
        .collect::<Result<Vec<_>>>()?;
    let claims = resolve(&jwt.payload, &disclosures, options.limits.max_depth)?.claims;
    check_validity(&claims, options)?;
    status.check(&claims)?;
    let key_bound = check_key_binding(&sd_jwt, &claims, options)?;
    Ok(Verified {
        issuer: issuer.to_owned(),
        claims,
        key_bound,
    })
}

fn check_validity(claims: &JsonObject, options: &VerifyOptions) -> Result<()> {
    if let Some(exp) = int_claim(claims, "exp")?
        && exp + options.leeway_secs <= options.now
    {
        return Err(IdentityError::Expired(exp));
    }
    if let Some(nbf) = int_claim(claims, "nbf")?
        && nbf - options.leeway_secs > options.now
    {
        return Err(IdentityError::NotYetValid(nbf));
    }
    Ok(())
}

/// Checks the KB-JWT; returns whether there was one.
fn check_key_binding(sd_jwt: &SdJwt, claims: &JsonObject, options: &VerifyOptions) -> Result<bool> {
    let Some(kb) = &sd_jwt.kb_jwt else {
        return match options.key_binding {
            KeyBinding::Optional => Ok(false),
            KeyBinding::Required { .. } => Err(IdentityError::MissingKeyBinding),
        };
    };
    let kb = jws::decode("KB-JWT", kb)?;
    if kb.typ() != KB_JWT_TYP {
        return Err(IdentityError::KeyBindingType(kb.typ().to_owned()));
    }
    let holder_jwk = claims
        .get("cnf")
        .and_then(|cnf| cnf.get("jwk"))
        .ok_or(IdentityError::MissingHolderKey)?;
    let holder_jwk: Jwk = serde_json::from_value(holder_jwk.clone())
        .map_err(|e| IdentityError::InvalidKey(format!("cnf.jwk: {e}")))?;
    if !kb.verifies_with(&VerifyingKey::from_jwk(&holder_jwk)?) {
        return Err(IdentityError::BadKeyBindingSignature);
    }
    let text = |name: &str| kb.payload.get(name).and_then(Value::as_str);
    if text("sd_hash") != Some(sd_jwt.sd_hash().as_str()) {
        return Err(IdentityError::SdHashMismatch);
    }
    let iat = int_claim(&kb.payload, "iat")?.ok_or_else(|| IdentityError::MalformedJwt {
        part: "KB-JWT",
        detail: "iat is missing".into(),
    })?;
    if iat > options.now + options.leeway_secs
        || iat < options.now - options.max_key_binding_age_secs
    {
        return Err(IdentityError::KeyBindingNotFresh {
            iat,
            now: options.now,
        });
    }
    if let KeyBinding::Required { nonce, audience } = &options.key_binding {
        if text("nonce") != Some(nonce.as_str()) {
            return Err(IdentityError::NonceMismatch);
        }
        if text("aud") != Some(audience.as_str()) {
            return Err(IdentityError::AudienceMismatch(
                text("aud").unwrap_or("").to_owned(),
            ));
        }
    }
    Ok(true)
}
