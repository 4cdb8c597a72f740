//! Compact JWS (RFC 7515) signing and checking for the three JWTs in this crate: the
//! issuer-signed JWT, the key-binding JWT and the status list token.

use serde_json::{Map, Value};

use crate::error::{IdentityError, Result};
use crate::jwk::{Algorithm, SigningKey, VerifyingKey};
use crate::{b64, python_json};

/// A JSON object (claims or header).
pub type JsonObject = Map<String, Value>;

/// Signs `payload` with `key` under a header `{"alg": …, "typ": typ}` (plus `extra` header
/// members), returning `header.payload.signature`.
#[must_use]
pub fn sign(typ: &str, extra: &JsonObject, payload: &JsonObject, key: &SigningKey) -> String {
    let mut header = JsonObject::new();
    header.insert("alg".into(), key.algorithm().as_str().into());
    header.insert("typ".into(), typ.into());
    header.extend(extra.iter().map(|(k, v)| (k.clone(), v.clone())));
    let input = format!(
        "{}.{}",
        b64::encode(python_json::to_string(&header)),
        b64::encode(python_json::to_string(payload))
    );
    let signature = b64::encode(key.sign(input.as_bytes()));
    format!("{input}.{signature}")
}

/// A decoded, not yet verified, compact JWS.
#[derive(Debug, Clone)]
pub struct Decoded<'a> {
    /// The protected header.
    pub header: JsonObject,
    /// The payload (claims).
    pub payload: JsonObject,
    /// The algorithm named in the header (ES256 or EdDSA; others are refused at decoding).
    pub algorithm: Algorithm,
    signing_input: &'a str,
    signature: Vec<u8>,
}

fn object(part: &'static str, what: &str, encoded: &str) -> Result<JsonObject> {
    let malformed = |detail: String| IdentityError::MalformedJwt { part, detail };
    let bytes = b64::decode(encoded, what).map_err(malformed)?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(malformed(format!("{what} is not a JSON object"))),
        Err(e) => Err(malformed(format!("{what} is not JSON: {e}"))),
    }
}

/// Splits and decodes a compact JWS; `part` names it in errors.
///
/// # Errors
/// [`IdentityError::MalformedJwt`] for a broken structure, [`IdentityError::UnsupportedAlgorithm`]
/// for an `alg` other than ES256 or EdDSA.
pub fn decode<'a>(part: &'static str, token: &'a str) -> Result<Decoded<'a>> {
    let malformed = |detail: &str| IdentityError::MalformedJwt {
        part,
        detail: detail.into(),
    };
    let (signing_input, signature) = token
        .rsplit_once('.')
        .ok_or_else(|| malformed("no '.' separators"))?;
    let (header, payload) = signing_input
        .split_once('.')
        .ok_or_else(|| malformed("expected three '.'-separated parts"))?;
    if payload.contains('.') {
        return Err(malformed("more than three '.'-separated parts"));
    }
    let header = object(part, "header", header)?;
    let algorithm = match header.get("alg") {
        Some(Value::String(alg)) => Algorithm::parse(alg)?,
        _ => return Err(malformed("header has no \"alg\" string")),
    };
    let payload = object(part, "payload", payload)?;
    let signature = b64::decode(signature, "signature")
        .map_err(|detail| IdentityError::MalformedJwt { part, detail })?;
    Ok(Decoded {
        header,
        payload,
        algorithm,
        signing_input,
        signature,
    })
}

impl Decoded<'_> {
    /// Whether `key` signed this JWS with the algorithm the header names (a header naming
    /// another algorithm than the key's never verifies: no algorithm confusion).
    #[must_use]
    pub fn verifies_with(&self, key: &VerifyingKey) -> bool {
        key.algorithm() == self.algorithm
            && key.verifies(self.signing_input.as_bytes(), &self.signature)
    }

    /// The header's `typ`, or "" when absent.
    #[must_use]
    pub fn typ(&self) -> &str {
        self.header.get("typ").and_then(Value::as_str).unwrap_or("")
    }
}

/// An integer claim (`iat`, `exp`, `nbf`), `None` when absent.
///
/// # Errors
/// [`IdentityError::InvalidPayload`] when present but not an integer.
pub fn int_claim(claims: &JsonObject, name: &str) -> Result<Option<i64>> {
    match claims.get(name) {
        None => Ok(None),
        Some(v) => v
            .as_i64()
            .map(Some)
            .ok_or_else(|| IdentityError::InvalidPayload(format!("{name} is not an integer"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_and_verifies_and_refuses_alg_swap() {
        let key = SigningKey::generate(Algorithm::EdDsa).expect("randomness");
        let mut claims = JsonObject::new();
        claims.insert("iss".into(), "me".into());
        let token = sign("example+jwt", &JsonObject::new(), &claims, &key);
        let decoded = decode("test JWT", &token).expect("own token decodes");
        assert!(decoded.verifies_with(&key.verifying_key()));
        assert_eq!(decoded.typ(), "example+jwt");
        let other = SigningKey::generate(Algorithm::Es256).expect("randomness");
        assert!(!decoded.verifies_with(&other.verifying_key()));
        let none = format!(
            "{}.{}.",
            b64::encode(r#"{"alg":"none"}"#),
            b64::encode("{}")
        );
        assert!(matches!(
            decode("test JWT", &none),
            Err(IdentityError::UnsupportedAlgorithm(_))
        ));
    }
}
