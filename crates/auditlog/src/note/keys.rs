//! Key IDs, names and the text encodings of keys: verifier keys (`vkey`, C2SP signed-note) and
//! signer keys (`PRIVATE+KEY+...`, the format of Go's `golang.org/x/mod/sumdb/note`).

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};

use super::cosignature::{CosignatureVerifier, Cosigner};
use super::ed25519::{Ed25519Signer, Ed25519Verifier};
use super::{NoteError, NoteVerifier};

/// Signature type byte of plain Ed25519 note signatures.
pub const SIG_TYPE_ED25519: u8 = 0x01;
/// Signature type byte of timestamped Ed25519 checkpoint cosignatures (`cosignature/v1`).
pub const SIG_TYPE_COSIGNATURE_ED25519: u8 = 0x04;

/// Which kind of key to generate or which a key string holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// A log key signing checkpoints with plain Ed25519 (type 0x01).
    Ed25519,
    /// A witness key producing `cosignature/v1` cosignatures (type 0x04).
    CosignatureEd25519,
}

impl KeyKind {
    fn type_byte(self) -> u8 {
        match self {
            KeyKind::Ed25519 => SIG_TYPE_ED25519,
            KeyKind::CosignatureEd25519 => SIG_TYPE_COSIGNATURE_ED25519,
        }
    }
}

/// Checks a key name: non-empty, no Unicode whitespace, no `+`.
pub fn validate_key_name(name: &str) -> Result<(), NoteError> {
    if name.is_empty()
        || name.len() > 256
        || name
            .chars()
            .any(|c| c.is_whitespace() || c == '+' || c.is_control())
    {
        return Err(NoteError::BadKeyName(name.to_owned()));
    }
    Ok(())
}

/// The recommended key ID: the first four bytes of `SHA-256(name || "\n" || type || public key)`.
pub fn key_id(name: &str, sig_type: u8, public_key: &[u8]) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n");
    h.update([sig_type]);
    h.update(public_key);
    let d = h.finalize();
    u32::from_be_bytes([d[0], d[1], d[2], d[3]])
}

/// Parses a verifier key `<name>+<hex key id>+<base64(type || public key)>` into a verifier,
/// checking that the key ID matches the name and key.
pub fn parse_verifier_key(vkey: &str) -> Result<Arc<dyn NoteVerifier>, NoteError> {
    let mut parts = vkey.trim().splitn(3, '+');
    let (Some(name), Some(id_hex), Some(key_b64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(NoteError::BadKey(
            "verifier key must have three parts separated by +",
        ));
    };
    validate_key_name(name)?;
    let id = parse_key_id(id_hex)?;
    let key = STANDARD
        .decode(key_b64)
        .map_err(|_| NoteError::BadKey("key material is not base64"))?;
    let (&ty, public) = key
        .split_first()
        .ok_or(NoteError::BadKey("empty key material"))?;
    if key_id(name, ty, public) != id {
        return Err(NoteError::KeyIdMismatch(name.to_owned()));
    }
    let public: [u8; 32] = public
        .try_into()
        .map_err(|_| NoteError::BadKey("ed25519 public key must be 32 bytes"))?;
    match ty {
        SIG_TYPE_ED25519 => Ok(Arc::new(Ed25519Verifier::new(name, &public)?)),
        SIG_TYPE_COSIGNATURE_ED25519 => Ok(Arc::new(CosignatureVerifier::new(name, &public)?)),
        other => Err(NoteError::UnsupportedType(other)),
    }
}

/// A parsed signer key: either a log signing key or a witness cosigning key.
#[derive(Debug)]
pub enum SignerKey {
    /// A plain Ed25519 note signer.
    Ed25519(Ed25519Signer),
    /// An Ed25519 cosigner.
    Cosigner(Cosigner),
}

/// Parses a signer key `PRIVATE+KEY+<name>+<hex key id>+<base64(type || 32-byte seed)>`.
pub fn parse_signer_key(skey: &str) -> Result<SignerKey, NoteError> {
    let rest = skey
        .trim()
        .strip_prefix("PRIVATE+KEY+")
        .ok_or(NoteError::BadKey("signer key must start with PRIVATE+KEY+"))?;
    let mut parts = rest.splitn(3, '+');
    let (Some(name), Some(id_hex), Some(key_b64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(NoteError::BadKey(
            "signer key must have name, key id and key",
        ));
    };
    validate_key_name(name)?;
    let id = parse_key_id(id_hex)?;
    let key = STANDARD
        .decode(key_b64)
        .map_err(|_| NoteError::BadKey("key material is not base64"))?;
    let (&ty, seed) = key
        .split_first()
        .ok_or(NoteError::BadKey("empty key material"))?;
    let seed: [u8; 32] = seed
        .try_into()
        .map_err(|_| NoteError::BadKey("ed25519 seed must be 32 bytes"))?;
    let signer = match ty {
        SIG_TYPE_ED25519 => SignerKey::Ed25519(Ed25519Signer::from_seed(name, &seed)?),
        SIG_TYPE_COSIGNATURE_ED25519 => SignerKey::Cosigner(Cosigner::from_seed(name, &seed)?),
        other => return Err(NoteError::UnsupportedType(other)),
    };
    let computed = match &signer {
        SignerKey::Ed25519(s) => super::NoteSigner::key_id(s),
        SignerKey::Cosigner(c) => c.key_id(),
    };
    if computed != id {
        return Err(NoteError::KeyIdMismatch(name.to_owned()));
    }
    Ok(signer)
}

fn parse_key_id(hex: &str) -> Result<u32, NoteError> {
    if hex.len() != 8 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(NoteError::BadKey("key id must be 8 hex digits"));
    }
    u32::from_str_radix(hex, 16).map_err(|_| NoteError::BadKey("key id must be 8 hex digits"))
}

/// Formats a verifier key string.
pub(crate) fn format_vkey(name: &str, sig_type: u8, public_key: &[u8]) -> String {
    let mut material = vec![sig_type];
    material.extend_from_slice(public_key);
    format!(
        "{name}+{:08x}+{}",
        key_id(name, sig_type, public_key),
        STANDARD.encode(material)
    )
}

/// Formats a signer key string.
pub(crate) fn format_skey(name: &str, sig_type: u8, public_key: &[u8], seed: &[u8; 32]) -> String {
    let mut material = vec![sig_type];
    material.extend_from_slice(seed);
    format!(
        "PRIVATE+KEY+{name}+{:08x}+{}",
        key_id(name, sig_type, public_key),
        STANDARD.encode(material)
    )
}

/// Generates a new key pair from the system random source and returns `(signer key, verifier
/// key)` as text. The signer key is secret; store it with owner-only permissions.
pub fn generate_key(name: &str, kind: KeyKind) -> Result<(String, String), NoteError> {
    validate_key_name(name)?;
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|_| NoteError::Random)?;
    let signing = ed25519_dalek::SigningKey::from_bytes(&seed);
    let public = signing.verifying_key().to_bytes();
    let ty = kind.type_byte();
    let out = (
        format_skey(name, ty, &public, &seed),
        format_vkey(name, ty, &public),
    );
    seed.fill(0);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::note::{Cosigner, NoteSigner as _};

    /// Regression (issue 4 integration): base64 key material may contain `+`, the separator of
    /// the key string's fields; only the first separators split.
    #[test]
    fn keys_whose_base64_contains_a_plus_round_trip() {
        let mut seen_plus = 0;
        for b in 0..=255u8 {
            let seed = [b; 32];
            let signer = Ed25519Signer::from_seed("example.com/log", &seed).expect("valid name");
            let cosigner = Cosigner::from_seed("example.com/w", &seed).expect("valid name");
            for (skey, vkey) in [
                (signer.skey(), signer.vkey()),
                (cosigner.skey(), cosigner.vkey()),
            ] {
                if vkey.matches('+').count() > 2 || skey.matches('+').count() > 4 {
                    seen_plus += 1;
                }
                parse_signer_key(&skey).expect("signer key parses");
                let v = parse_verifier_key(&vkey).expect("verifier key parses");
                assert_eq!(v.name(), vkey.split('+').next().expect("name"));
            }
            assert_eq!(signer.key_id(), signer.verifier().key_id());
        }
        assert!(seen_plus > 0, "the test must cover keys containing +");
    }
}
