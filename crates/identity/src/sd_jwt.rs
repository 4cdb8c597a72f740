//! The compact serialization `<issuer-jwt>~<disclosure>~…~<kb-jwt>` (RFC 9901 §4), parsed under
//! size limits before anything is decoded.

use crate::disclosure::digest;
use crate::error::{IdentityError, Result};

/// Bounds on what a verifier accepts, checked before any decoding or cryptography.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Bytes of the whole presentation.
    pub max_bytes: usize,
    /// Number of disclosures.
    pub max_disclosures: usize,
    /// Nesting depth of the claims (objects and arrays).
    pub max_depth: usize,
}

impl Default for Limits {
    /// 64 KiB, 256 disclosures and 32 levels: an age credential is under 2 KiB, a full PID
    /// credential under 16 KiB.
    fn default() -> Self {
        Self {
            max_bytes: 64 * 1024,
            max_disclosures: 256,
            max_depth: 32,
        }
    }
}

/// An SD-JWT with its disclosures and, for a presentation, its key-binding JWT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdJwt {
    /// The issuer-signed JWT.
    pub jwt: String,
    /// The encoded disclosures, in presentation order.
    pub disclosures: Vec<String>,
    /// The key-binding JWT, if any.
    pub kb_jwt: Option<String>,
}

fn is_token_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'-' || c == b'_' || c == b'.'
}

impl SdJwt {
    /// Parses the compact serialization. Whitespace (line wrapping) is not allowed.
    ///
    /// # Errors
    /// [`IdentityError::TooLarge`] over `limits`; [`IdentityError::Malformed`] naming the
    /// offending byte or part.
    pub fn parse(input: &str, limits: &Limits) -> Result<Self> {
        if input.len() > limits.max_bytes {
            return Err(IdentityError::TooLarge {
                what: "presentation",
                actual: input.len(),
                limit: limits.max_bytes,
            });
        }
        if let Some(at) = input.bytes().position(|c| !is_token_char(c) && c != b'~') {
            return Err(IdentityError::Malformed(format!(
                "byte {at} is not base64url, '.' or '~'"
            )));
        }
        let mut parts: Vec<&str> = input.split('~').collect();
        if parts.len() < 2 {
            return Err(IdentityError::Malformed(
                "no '~' after the issuer-signed JWT".into(),
            ));
        }
        let last = parts.pop().expect("at least two parts");
        let kb_jwt = (!last.is_empty()).then(|| last.to_owned());
        let jwt = parts.remove(0);
        if jwt.bytes().filter(|&c| c == b'.').count() != 2 {
            return Err(IdentityError::Malformed(
                "the issuer-signed JWT does not have three parts".into(),
            ));
        }
        if parts.len() > limits.max_disclosures {
            return Err(IdentityError::TooLarge {
                what: "disclosure count",
                actual: parts.len(),
                limit: limits.max_disclosures,
            });
        }
        if let Some(i) = parts.iter().position(|d| d.is_empty() || d.contains('.')) {
            return Err(IdentityError::Malformed(format!(
                "disclosure {i} is empty or contains '.'"
            )));
        }
        Ok(Self {
            jwt: jwt.to_owned(),
            disclosures: parts.into_iter().map(str::to_owned).collect(),
            kb_jwt,
        })
    }

    /// The SD-JWT without key binding: `<jwt>~<d1>~…~<dn>~`, the input of `sd_hash`.
    #[must_use]
    pub fn without_key_binding(&self) -> String {
        let mut out = String::with_capacity(
            self.jwt.len() + self.disclosures.iter().map(|d| d.len() + 1).sum::<usize>() + 1,
        );
        out.push_str(&self.jwt);
        out.push('~');
        for d in &self.disclosures {
            out.push_str(d);
            out.push('~');
        }
        out
    }

    /// The `sd_hash` a KB-JWT over this SD-JWT must carry.
    #[must_use]
    pub fn sd_hash(&self) -> String {
        digest(&self.without_key_binding())
    }

    /// The compact serialization.
    #[must_use]
    pub fn serialize(&self) -> String {
        let mut out = self.without_key_binding();
        if let Some(kb) = &self.kb_jwt {
            out.push_str(kb);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_reserializes() {
        let text = "a.b.c~d1~d2~x.y.z";
        let sd = SdJwt::parse(text, &Limits::default()).expect("valid");
        assert_eq!(sd.disclosures, ["d1", "d2"]);
        assert_eq!(sd.kb_jwt.as_deref(), Some("x.y.z"));
        assert_eq!(sd.serialize(), text);
        assert_eq!(sd.without_key_binding(), "a.b.c~d1~d2~");
    }

    #[test]
    fn names_what_is_wrong() {
        let limits = Limits {
            max_bytes: 20,
            max_disclosures: 1,
            max_depth: 4,
        };
        assert!(matches!(
            SdJwt::parse("a.b.c", &limits),
            Err(IdentityError::Malformed(_))
        ));
        assert!(
            matches!(SdJwt::parse("a.b.c~ d~", &limits), Err(IdentityError::Malformed(m)) if m.contains("byte 6"))
        );
        assert!(matches!(
            SdJwt::parse("a.b.c~d~e~", &limits),
            Err(IdentityError::TooLarge {
                what: "disclosure count",
                ..
            })
        ));
        assert!(matches!(
            SdJwt::parse(&"a".repeat(21), &limits),
            Err(IdentityError::TooLarge {
                what: "presentation",
                ..
            })
        ));
        assert!(matches!(
            SdJwt::parse("a.b~d~", &limits),
            Err(IdentityError::Malformed(_))
        ));
        assert!(matches!(
            SdJwt::parse("a.b.c~~", &limits),
            Err(IdentityError::Malformed(_))
        ));
    }
}
