//! Disclosures (RFC 9901 §4.2): the salted `[salt, name, value]` (object property) or
//! `[salt, value]` (array element) that a holder reveals, and their SHA-256 digests.

use serde_json::Value;
use sha2::{Digest as _, Sha256};

use crate::error::{IdentityError, Result};
use crate::{b64, python_json};

/// The only `_sd_alg` this crate issues and accepts (the RFC's default and the one wallets use).
pub const SD_ALG: &str = "sha-256";

/// One disclosure: its encoded form (what is hashed and sent) and its decoded parts.
#[derive(Debug, Clone, PartialEq)]
pub struct Disclosure {
    /// The base64url text exactly as issued; the digest is taken over these bytes.
    pub encoded: String,
    /// The salt.
    pub salt: String,
    /// The claim name for an object property, `None` for an array element.
    pub name: Option<String>,
    /// The claim value (may itself contain `_sd` digests: recursive disclosure).
    pub value: Value,
}

/// The base64url SHA-256 digest of an encoded disclosure (or of any ASCII text).
#[must_use]
pub fn digest(encoded: &str) -> String {
    b64::encode(Sha256::digest(encoded.as_bytes()))
}

impl Disclosure {
    /// Builds and encodes a disclosure in the RFC's reference layout.
    #[must_use]
    pub fn new(salt: String, name: Option<String>, value: Value) -> Self {
        let array = match &name {
            Some(name) => Value::Array(vec![
                salt.clone().into(),
                name.clone().into(),
                value.clone(),
            ]),
            None => Value::Array(vec![salt.clone().into(), value.clone()]),
        };
        let encoded = b64::encode(python_json::to_string(&array));
        Self {
            encoded,
            salt,
            name,
            value,
        }
    }

    /// Decodes disclosure number `index` of a presentation.
    ///
    /// # Errors
    /// [`IdentityError::MalformedDisclosure`] when it is not base64url of a JSON array of a
    /// string salt, an optional string name, and a value; or when the name is `_sd` or `...`
    /// (RFC 9901 §7.1 step 3.2.2.2).
    pub fn parse(index: usize, encoded: &str) -> Result<Self> {
        let bad = |detail: String| IdentityError::MalformedDisclosure { index, detail };
        let bytes = b64::decode(encoded, "disclosure").map_err(bad)?;
        let parsed: Value =
            serde_json::from_slice(&bytes).map_err(|e| bad(format!("not JSON: {e}")))?;
        let Value::Array(mut parts) = parsed else {
            return Err(bad("not a JSON array".into()));
        };
        let (salt, name, value) = match parts.len() {
            2 => {
                let value = parts.pop().expect("length checked");
                (parts.pop().expect("length checked"), None, value)
            }
            3 => {
                let value = parts.pop().expect("length checked");
                let name = match parts.pop().expect("length checked") {
                    Value::String(name) if name == "_sd" || name == "..." => {
                        return Err(bad(format!("claim name {name:?} is reserved")));
                    }
                    Value::String(name) => name,
                    _ => return Err(bad("claim name is not a string".into())),
                };
                (parts.pop().expect("length checked"), Some(name), value)
            }
            n => return Err(bad(format!("array has {n} elements, expected 2 or 3"))),
        };
        let Value::String(salt) = salt else {
            return Err(bad("salt is not a string".into()));
        };
        Ok(Self {
            encoded: encoded.to_owned(),
            salt,
            name,
            value,
        })
    }

    /// This disclosure's digest, as it appears in `_sd` or `{"...": digest}`.
    #[must_use]
    pub fn digest(&self) -> String {
        digest(&self.encoded)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn rfc_example_disclosure_round_trips() {
        // RFC 9901 §4.2.1's given_name example.
        let d = Disclosure::new(
            "_26bc4LT-ac6q2KI6cBW5es".into(),
            Some("family_name".into()),
            json!("Möbius"),
        );
        assert_eq!(
            d.encoded,
            "WyJfMjZiYzRMVC1hYzZxMktJNmNCVzVlcyIsICJmYW1pbHlfbmFtZSIsICJNXHUwMGY2Yml1cyJd"
        );
        assert_eq!(
            Disclosure::parse(0, &d.encoded).expect("own disclosure parses"),
            d
        );
    }

    #[test]
    fn rejects_reserved_names_and_wrong_shapes() {
        for bad in [
            json!(["s", "_sd", 1]),
            json!(["s", "...", 1]),
            json!(["s"]),
            json!([1, "a", 2]),
            json!({"a": 1}),
        ] {
            let encoded = b64::encode(bad.to_string());
            assert!(
                matches!(
                    Disclosure::parse(4, &encoded),
                    Err(IdentityError::MalformedDisclosure { index: 4, .. })
                ),
                "{bad}"
            );
        }
    }
}
