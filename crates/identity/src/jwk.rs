//! Keys as JSON Web Keys (RFC 7517): ES256 on P-256 and EdDSA on Ed25519.
//!
//! Issuers publish their public keys as JWKs, holders' keys travel inside credentials as
//! `cnf.jwk` (RFC 7800), and key files are JWKs with the private part `d`. The curve
//! arithmetic is RustCrypto's `p256` and `ed25519-dalek`, except ES256 verification, which is
//! ring's (see [`P256Public`]); this module only maps JWK fields to them and refuses anything
//! else.

use std::fmt;

use p256::ecdsa::signature::Signer as _;
use serde::{Deserialize, Serialize};

use crate::b64;
use crate::error::{IdentityError, Result};

/// A JWS signature algorithm this crate signs and verifies with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Algorithm {
    /// ECDSA on P-256 with SHA-256 (the EUDI wallet's baseline).
    #[serde(rename = "ES256")]
    Es256,
    /// Ed25519.
    #[serde(rename = "EdDSA")]
    EdDsa,
}

impl Algorithm {
    /// The JOSE `alg` name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Es256 => "ES256",
            Self::EdDsa => "EdDSA",
        }
    }

    /// Parses a JOSE `alg` name; anything but ES256 and EdDSA (notably `none`) is refused.
    ///
    /// # Errors
    /// [`IdentityError::UnsupportedAlgorithm`] for any other name.
    pub fn parse(name: &str) -> Result<Self> {
        match name {
            "ES256" => Ok(Self::Es256),
            "EdDSA" => Ok(Self::EdDsa),
            other => Err(IdentityError::UnsupportedAlgorithm(other.to_owned())),
        }
    }
}

/// A JSON Web Key for P-256 (`kty: EC`) or Ed25519 (`kty: OKP`), public or private.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwk {
    /// Key type: `EC` or `OKP`.
    pub kty: String,
    /// Curve: `P-256` or `Ed25519`.
    pub crv: String,
    /// The x coordinate (EC) or the public key (OKP), base64url.
    pub x: String,
    /// The y coordinate (EC only), base64url.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
    /// The private key, base64url; absent in public keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub d: Option<String>,
    /// Key id, to pick among an issuer's keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
}

/// Never prints the private part: key files end up in logs through `{:?}` otherwise.
impl fmt::Debug for Jwk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Jwk")
            .field("kty", &self.kty)
            .field("crv", &self.crv)
            .field("x", &self.x)
            .field("y", &self.y)
            .field("d", &self.d.as_ref().map(|_| "<redacted>"))
            .field("kid", &self.kid)
            .finish()
    }
}

impl Jwk {
    /// The public half of this key (drops `d`).
    #[must_use]
    pub fn public(&self) -> Self {
        Self {
            d: None,
            ..self.clone()
        }
    }

    /// Parses a JWK from JSON text.
    ///
    /// # Errors
    /// [`IdentityError::InvalidKey`] when the text is not a JWK.
    pub fn from_json(text: &str) -> Result<Self> {
        serde_json::from_str(text).map_err(|e| IdentityError::InvalidKey(e.to_string()))
    }
}

fn field<const N: usize>(value: Option<&str>, name: &str) -> Result<[u8; N]> {
    let text = value.ok_or_else(|| IdentityError::InvalidKey(format!("missing {name}")))?;
    let bytes = b64::decode(text, name).map_err(IdentityError::InvalidKey)?;
    bytes.try_into().map_err(|b: Vec<u8>| {
        IdentityError::InvalidKey(format!("{name} is {} bytes, expected {N}", b.len()))
    })
}

/// A private key that signs JWSs.
#[derive(Clone)]
pub enum SigningKey {
    /// P-256 ECDSA.
    Es256(p256::ecdsa::SigningKey),
    /// Ed25519.
    EdDsa(ed25519_dalek::SigningKey),
}

/// Never prints key material.
impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKey({})", self.algorithm().as_str())
    }
}

impl SigningKey {
    /// A fresh random key for `algorithm`, from the operating system's generator.
    ///
    /// # Errors
    /// [`IdentityError::InvalidKey`] when the operating system has no randomness to give.
    pub fn generate(algorithm: Algorithm) -> Result<Self> {
        loop {
            let mut seed = [0u8; 32];
            getrandom::fill(&mut seed).map_err(|e| IdentityError::InvalidKey(e.to_string()))?;
            match algorithm {
                Algorithm::EdDsa => {
                    return Ok(Self::EdDsa(ed25519_dalek::SigningKey::from_bytes(&seed)));
                }
                // A scalar ≥ the group order (probability ~2^-32) is rejected; draw again.
                Algorithm::Es256 => {
                    if let Ok(key) = p256::ecdsa::SigningKey::from_bytes(&seed.into()) {
                        return Ok(Self::Es256(key));
                    }
                }
            }
        }
    }

    /// Reads a private JWK.
    ///
    /// # Errors
    /// [`IdentityError::InvalidKey`] when the JWK is not a private P-256 or Ed25519 key.
    pub fn from_jwk(jwk: &Jwk) -> Result<Self> {
        let d: [u8; 32] = field(jwk.d.as_deref(), "d")?;
        let key = match (jwk.kty.as_str(), jwk.crv.as_str()) {
            ("EC", "P-256") => Self::Es256(
                p256::ecdsa::SigningKey::from_bytes(&d.into())
                    .map_err(|e| IdentityError::InvalidKey(e.to_string()))?,
            ),
            ("OKP", "Ed25519") => Self::EdDsa(ed25519_dalek::SigningKey::from_bytes(&d)),
            (kty, crv) => {
                return Err(IdentityError::InvalidKey(format!(
                    "unsupported key {kty}/{crv}"
                )));
            }
        };
        // A JWK whose public part does not match its private part is a corrupted key file.
        if key.verifying_key().to_jwk().x != jwk.x {
            return Err(IdentityError::InvalidKey("x does not match d".into()));
        }
        Ok(key)
    }

    /// The private JWK (with `d`), for key files.
    #[must_use]
    pub fn to_jwk(&self) -> Jwk {
        let d = match self {
            Self::Es256(k) => b64::encode(k.to_bytes()),
            Self::EdDsa(k) => b64::encode(k.to_bytes()),
        };
        Jwk {
            d: Some(d),
            ..self.verifying_key().to_jwk()
        }
    }

    /// The algorithm this key signs with.
    #[must_use]
    pub fn algorithm(&self) -> Algorithm {
        self.verifying_key().algorithm()
    }

    /// The matching public key.
    #[must_use]
    pub fn verifying_key(&self) -> VerifyingKey {
        match self {
            Self::Es256(k) => VerifyingKey::Es256(P256Public::new(*k.verifying_key())),
            Self::EdDsa(k) => VerifyingKey::EdDsa(k.verifying_key()),
        }
    }

    /// Signs `message` (the JWS signing input); ES256 signatures are the raw 64-byte `r || s`.
    #[must_use]
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        match self {
            Self::Es256(k) => {
                let signature: p256::ecdsa::Signature = k.sign(message);
                signature.to_bytes().to_vec()
            }
            Self::EdDsa(k) => k.sign(message).to_bytes().to_vec(),
        }
    }
}

/// A P-256 public key, validated by `p256` when read, verified with by ring.
///
/// Verification is what a shop's verifier spends its time on (two ES256 signatures per
/// presentation); ring's P-256 is assembly and several times faster than the pure-Rust
/// arithmetic, so the key keeps its uncompressed SEC 1 encoding ready for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct P256Public {
    key: p256::ecdsa::VerifyingKey,
    sec1: [u8; 65],
}

impl P256Public {
    fn new(key: p256::ecdsa::VerifyingKey) -> Self {
        let mut sec1 = [0u8; 65];
        sec1.copy_from_slice(key.to_encoded_point(false).as_bytes());
        Self { key, sec1 }
    }

    /// Whether `signature` (JWS form: r ‖ s, 64 bytes) signs `message` under ES256.
    fn verifies(&self, message: &[u8], signature: &[u8]) -> bool {
        ring::signature::UnparsedPublicKey::new(
            &ring::signature::ECDSA_P256_SHA256_FIXED,
            self.sec1,
        )
        .verify(message, signature)
        .is_ok()
    }
}

/// A public key that verifies JWSs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifyingKey {
    /// P-256 ECDSA.
    Es256(P256Public),
    /// Ed25519.
    EdDsa(ed25519_dalek::VerifyingKey),
}

impl VerifyingKey {
    /// Reads a public (or private: `d` is ignored) JWK.
    ///
    /// # Errors
    /// [`IdentityError::InvalidKey`] when the JWK is not a valid P-256 or Ed25519 public key.
    pub fn from_jwk(jwk: &Jwk) -> Result<Self> {
        match (jwk.kty.as_str(), jwk.crv.as_str()) {
            ("EC", "P-256") => {
                let x: [u8; 32] = field(Some(&jwk.x), "x")?;
                let y: [u8; 32] = field(jwk.y.as_deref(), "y")?;
                let point =
                    p256::EncodedPoint::from_affine_coordinates(&x.into(), &y.into(), false);
                p256::ecdsa::VerifyingKey::from_encoded_point(&point)
                    .map(|key| Self::Es256(P256Public::new(key)))
                    .map_err(|_| IdentityError::InvalidKey("point is not on P-256".into()))
            }
            ("OKP", "Ed25519") => {
                let x: [u8; 32] = field(Some(&jwk.x), "x")?;
                ed25519_dalek::VerifyingKey::from_bytes(&x)
                    .map(Self::EdDsa)
                    .map_err(|e| IdentityError::InvalidKey(e.to_string()))
            }
            (kty, crv) => Err(IdentityError::InvalidKey(format!(
                "unsupported key {kty}/{crv}"
            ))),
        }
    }

    /// The public JWK.
    #[must_use]
    pub fn to_jwk(&self) -> Jwk {
        match self {
            Self::Es256(k) => {
                let point = k.key.to_encoded_point(false);
                Jwk {
                    kty: "EC".into(),
                    crv: "P-256".into(),
                    x: b64::encode(point.x().expect("an uncompressed point has x")),
                    y: Some(b64::encode(point.y().expect("an uncompressed point has y"))),
                    d: None,
                    kid: None,
                }
            }
            Self::EdDsa(k) => Jwk {
                kty: "OKP".into(),
                crv: "Ed25519".into(),
                x: b64::encode(k.as_bytes()),
                y: None,
                d: None,
                kid: None,
            },
        }
    }

    /// The algorithm this key verifies.
    #[must_use]
    pub fn algorithm(&self) -> Algorithm {
        match self {
            Self::Es256(_) => Algorithm::Es256,
            Self::EdDsa(_) => Algorithm::EdDsa,
        }
    }

    /// Whether `signature` is a valid signature of `message` by this key.
    #[must_use]
    pub fn verifies(&self, message: &[u8], signature: &[u8]) -> bool {
        match self {
            Self::Es256(k) => k.verifies(message, signature),
            Self::EdDsa(k) => ed25519_dalek::Signature::from_slice(signature)
                .is_ok_and(|s| k.verify_strict(message, &s).is_ok()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jwk_round_trip_and_sign_verify_both_algorithms() {
        for alg in [Algorithm::Es256, Algorithm::EdDsa] {
            let key = SigningKey::generate(alg).expect("randomness");
            let again = SigningKey::from_jwk(&key.to_jwk()).expect("own JWK reads back");
            let public = VerifyingKey::from_jwk(&again.to_jwk().public()).expect("public JWK");
            let sig = key.sign(b"message");
            assert!(public.verifies(b"message", &sig));
            assert!(!public.verifies(b"messagf", &sig));
            assert!(
                !format!("{:?}", key.to_jwk()).contains(key.to_jwk().d.as_deref().unwrap_or("?"))
            );
        }
    }

    #[test]
    fn es256_refuses_der_truncated_and_zero_signatures() {
        let key = SigningKey::generate(Algorithm::Es256).expect("randomness");
        let public = key.verifying_key();
        let sig = key.sign(b"message");
        assert_eq!(sig.len(), 64);
        // A DER-style wrapper around the same r and s is not the JWS form.
        let mut der = vec![0x30, 68, 0x02, 32];
        der.extend_from_slice(&sig[..32]);
        der.extend_from_slice(&[0x02, 32]);
        der.extend_from_slice(&sig[32..]);
        assert!(!public.verifies(b"message", &der));
        assert!(!public.verifies(b"message", &sig[..63]));
        let mut zero_r = sig.clone();
        zero_r[..32].fill(0);
        assert!(!public.verifies(b"message", &zero_r));
    }

    #[test]
    fn refuses_mismatched_private_key_and_none_alg() {
        let mut jwk = SigningKey::generate(Algorithm::Es256)
            .expect("randomness")
            .to_jwk();
        jwk.x = SigningKey::generate(Algorithm::Es256)
            .expect("randomness")
            .to_jwk()
            .x;
        assert!(matches!(
            SigningKey::from_jwk(&jwk),
            Err(IdentityError::InvalidKey(_))
        ));
        assert!(matches!(
            Algorithm::parse("none"),
            Err(IdentityError::UnsupportedAlgorithm(_))
        ));
    }
}
