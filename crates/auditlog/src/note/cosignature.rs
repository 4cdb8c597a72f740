//! Timestamped Ed25519 checkpoint cosignatures (`c2sp.org/tlog-cosignature`, type 0x04): the
//! statement a witness makes that a checkpoint is the largest consistent one it has seen.

use ed25519_dalek::{Signature, Signer as _, VerifyingKey};

use super::keys::{SIG_TYPE_COSIGNATURE_ED25519, key_id, validate_key_name};
use super::named_key::NamedKey;
use super::text::NoteSignature;
use super::{NoteError, NoteSigner, NoteVerifier};

/// Largest timestamp the format allows (2^63 - 1).
const MAX_TIMESTAMP: u64 = i64::MAX as u64;

/// The message an Ed25519 cosignature signs: `cosignature/v1\ntime <t>\n` followed by the
/// checkpoint note text.
pub fn cosigned_message(timestamp: u64, text: &[u8]) -> Vec<u8> {
    let mut m = format!("cosignature/v1\ntime {timestamp}\n").into_bytes();
    m.extend_from_slice(text);
    m
}

/// A witness's Ed25519 cosigning key. Its `Debug` output never shows the key.
pub struct Cosigner(NamedKey);

impl std::fmt::Debug for Cosigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Cosigner").field(&self.0).finish()
    }
}

impl Cosigner {
    /// Builds a cosigner from a 32-byte Ed25519 seed.
    pub fn from_seed(name: &str, seed: &[u8; 32]) -> Result<Self, NoteError> {
        NamedKey::from_seed(name, seed, SIG_TYPE_COSIGNATURE_ED25519).map(Self)
    }

    /// Key name of the cosigner.
    pub fn name(&self) -> &str {
        &self.0.name
    }

    /// Key ID of the cosigner.
    pub fn key_id(&self) -> u32 {
        self.0.id
    }

    /// Cosigns a checkpoint note text at `timestamp` (POSIX seconds, passed in by the caller).
    pub fn cosign(&self, checkpoint_text: &str, timestamp: u64) -> NoteSignature {
        let timestamp = timestamp.min(MAX_TIMESTAMP);
        let sig = self
            .0
            .key
            .sign(&cosigned_message(timestamp, checkpoint_text.as_bytes()));
        let mut bytes = timestamp.to_be_bytes().to_vec();
        bytes.extend_from_slice(&sig.to_bytes());
        NoteSignature {
            name: self.0.name.clone(),
            key_id: self.0.id,
            signature: bytes,
        }
    }

    /// This cosigner as a [`NoteSigner`] fixed at one timestamp.
    pub fn at(&self, timestamp: u64) -> TimedCosigner<'_> {
        TimedCosigner {
            cosigner: self,
            timestamp,
        }
    }

    /// The matching verifier.
    pub fn verifier(&self) -> CosignatureVerifier {
        CosignatureVerifier {
            name: self.0.name.clone(),
            id: self.0.id,
            key: self.0.verifying_key(),
        }
    }

    /// The matching verifier key string, safe to publish.
    pub fn vkey(&self) -> String {
        self.0.vkey()
    }

    /// The signer key string; secret.
    pub fn skey(&self) -> String {
        self.0.skey()
    }
}

/// A cosigner bound to a timestamp, usable wherever a [`NoteSigner`] is expected.
#[derive(Debug)]
pub struct TimedCosigner<'a> {
    cosigner: &'a Cosigner,
    timestamp: u64,
}

impl NoteSigner for TimedCosigner<'_> {
    fn name(&self) -> &str {
        &self.cosigner.0.name
    }
    fn key_id(&self) -> u32 {
        self.cosigner.0.id
    }
    fn sign(&self, text: &[u8]) -> Vec<u8> {
        let sig = self
            .cosigner
            .0
            .key
            .sign(&cosigned_message(self.timestamp, text));
        let mut bytes = self.timestamp.to_be_bytes().to_vec();
        bytes.extend_from_slice(&sig.to_bytes());
        bytes
    }
}

/// A witness's public cosigning key.
#[derive(Debug, Clone)]
pub struct CosignatureVerifier {
    name: String,
    id: u32,
    key: VerifyingKey,
}

impl CosignatureVerifier {
    /// Builds a verifier from a 32-byte public key.
    pub fn new(name: &str, public: &[u8; 32]) -> Result<Self, NoteError> {
        validate_key_name(name)?;
        let key = VerifyingKey::from_bytes(public)
            .map_err(|_| NoteError::BadKey("invalid ed25519 public key"))?;
        Ok(Self {
            name: name.to_owned(),
            id: key_id(name, SIG_TYPE_COSIGNATURE_ED25519, public),
            key,
        })
    }
}

/// Splits a cosignature into its timestamp and Ed25519 signature.
fn split(signature: &[u8]) -> Option<(u64, Signature)> {
    if signature.len() != 8 + 64 {
        return None;
    }
    let (ts, sig) = signature.split_at(8);
    let ts = u64::from_be_bytes(ts.try_into().ok()?);
    if ts > MAX_TIMESTAMP {
        return None;
    }
    Some((ts, Signature::from_slice(sig).ok()?))
}

impl NoteVerifier for CosignatureVerifier {
    fn name(&self) -> &str {
        &self.name
    }
    fn key_id(&self) -> u32 {
        self.id
    }
    fn verify(&self, text: &[u8], signature: &[u8]) -> bool {
        let Some((ts, sig)) = split(signature) else {
            return false;
        };
        self.key
            .verify_strict(&cosigned_message(ts, text), &sig)
            .is_ok()
    }
    fn timestamp(&self, signature: &[u8]) -> Option<u64> {
        split(signature).map(|(ts, _)| ts)
    }
}
