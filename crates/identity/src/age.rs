//! The age credential: an SD-JWT VC whose `age_equal_or_over` thresholds and `birthdate` are
//! each selectively disclosable, and the predicate a shop asks of it ("18 or over?").

use chrono::{Datelike as _, NaiveDate};
use serde_json::{Value, json};

use crate::error::{IdentityError, Result};
use crate::issue::IssueRequest;
use crate::jwk::Jwk;
use crate::jws::JsonObject;
use crate::path::ClaimPath;

/// The `vct` (credential type) of the age credential.
pub const AGE_VCT: &str = "urn:ensuresec:credential:age:1";

/// The `typ` header of SD-JWT VCs.
pub const SD_JWT_VC_TYP: &str = "dc+sd-jwt";

/// What an issuer puts into an age credential.
#[derive(Debug, Clone)]
pub struct AgeCredential {
    /// The issuer's identifier (`iss`).
    pub issuer: String,
    /// The holder's birth date.
    pub birthdate: NaiveDate,
    /// Age thresholds to state (e.g. 18 and 21).
    pub thresholds: Vec<u8>,
    /// The holder's public key (`cnf.jwk`).
    pub holder: Jwk,
    /// Issuance time, seconds since the epoch.
    pub issued_at: i64,
    /// Validity in seconds from `issued_at`.
    pub valid_for_secs: i64,
    /// The status list entry `(uri, index)`, for revocation.
    pub status: Option<(String, usize)>,
}

/// Completed years between `birthdate` and `on`.
#[must_use]
pub fn age_on(birthdate: NaiveDate, on: NaiveDate) -> i32 {
    let years = on.year() - birthdate.year();
    if (on.month(), on.day()) < (birthdate.month(), birthdate.day()) {
        years - 1
    } else {
        years
    }
}

impl AgeCredential {
    /// The issue request: claims with every threshold and the birth date disclosable, and
    /// three decoys per object.
    ///
    /// # Errors
    /// [`IdentityError::InvalidPayload`] when `issued_at` is not a representable date.
    pub fn request(&self) -> Result<IssueRequest> {
        let today = chrono::DateTime::from_timestamp(self.issued_at, 0)
            .ok_or_else(|| {
                IdentityError::InvalidPayload(format!("iat {} is not a date", self.issued_at))
            })?
            .date_naive();
        let age = age_on(self.birthdate, today);
        let over: JsonObject = self
            .thresholds
            .iter()
            .map(|t| (t.to_string(), Value::Bool(age >= i32::from(*t))))
            .collect();
        let mut claims = JsonObject::new();
        claims.insert("iss".into(), self.issuer.clone().into());
        claims.insert("iat".into(), self.issued_at.into());
        claims.insert("exp".into(), (self.issued_at + self.valid_for_secs).into());
        claims.insert("vct".into(), AGE_VCT.into());
        claims.insert("cnf".into(), json!({"jwk": self.holder.public()}));
        if let Some((uri, idx)) = &self.status {
            claims.insert(
                "status".into(),
                json!({"status_list": {"idx": idx, "uri": uri}}),
            );
        }
        claims.insert("age_equal_or_over".into(), Value::Object(over));
        claims.insert(
            "birthdate".into(),
            self.birthdate.format("%Y-%m-%d").to_string().into(),
        );
        let mut disclosable: Vec<ClaimPath> = self
            .thresholds
            .iter()
            .map(|t| ClaimPath(vec!["age_equal_or_over".into(), t.to_string()]))
            .collect();
        disclosable.push(ClaimPath(vec!["birthdate".into()]));
        Ok(IssueRequest {
            claims,
            disclosable,
            decoys_per_object: 3,
        })
    }
}

/// The claim path a holder discloses to prove `min_age`.
#[must_use]
pub fn age_claim_path(min_age: u8) -> ClaimPath {
    ClaimPath(vec!["age_equal_or_over".into(), min_age.to_string()])
}

/// Whether verified `claims` prove the holder is `min_age` or over on `today`: a disclosed
/// threshold at or above `min_age` that is true, or a disclosed birth date.
///
/// # Errors
/// [`IdentityError::UnderAge`] when the claims show the holder is younger,
/// [`IdentityError::AgeNotDisclosed`] when nothing disclosed answers the question.
pub fn prove_age(claims: &JsonObject, min_age: u8, today: NaiveDate) -> Result<()> {
    if let Some(Value::Object(over)) = claims.get("age_equal_or_over") {
        for (threshold, value) in over {
            let (Ok(threshold), Some(value)) = (threshold.parse::<u8>(), value.as_bool()) else {
                continue;
            };
            if value && threshold >= min_age {
                return Ok(());
            }
            if !value && threshold <= min_age {
                return Err(IdentityError::UnderAge(min_age));
            }
        }
    }
    if let Some(birthdate) = claims.get("birthdate").and_then(Value::as_str) {
        let birthdate = NaiveDate::parse_from_str(birthdate, "%Y-%m-%d")
            .map_err(|e| IdentityError::InvalidPayload(format!("birthdate {birthdate:?}: {e}")))?;
        return if age_on(birthdate, today) >= i32::from(min_age) {
            Ok(())
        } else {
            Err(IdentityError::UnderAge(min_age))
        };
    }
    Err(IdentityError::AgeNotDisclosed(min_age))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("valid date")
    }

    #[test]
    fn age_counts_completed_years() {
        assert_eq!(age_on(date("2008-12-05"), date("2026-12-04")), 17);
        assert_eq!(age_on(date("2008-12-04"), date("2026-12-04")), 18);
    }

    #[test]
    fn predicate_uses_thresholds_then_birthdate() {
        let today = date("2026-12-04");
        let claims = |v: Value| v.as_object().cloned().expect("object");
        assert_eq!(
            prove_age(
                &claims(json!({"age_equal_or_over": {"21": true}})),
                18,
                today
            ),
            Ok(())
        );
        assert_eq!(
            prove_age(
                &claims(json!({"age_equal_or_over": {"18": false}})),
                18,
                today
            ),
            Err(IdentityError::UnderAge(18))
        );
        assert_eq!(
            prove_age(&claims(json!({"birthdate": "2010-01-01"})), 18, today),
            Err(IdentityError::UnderAge(18))
        );
        assert_eq!(
            prove_age(&claims(json!({"birthdate": "2000-01-01"})), 18, today),
            Ok(())
        );
        assert_eq!(
            prove_age(
                &claims(json!({"age_equal_or_over": {"21": false}})),
                18,
                today
            ),
            Err(IdentityError::AgeNotDisclosed(18))
        );
    }
}
