//! Plain Ed25519 note signatures (signature type 0x01): what a log signs its checkpoints with.

use ed25519_dalek::{Signature, Signer as _, VerifyingKey};

use super::keys::{SIG_TYPE_ED25519, key_id, validate_key_name};
use super::named_key::NamedKey;
use super::{NoteError, NoteSigner, NoteVerifier};

/// An Ed25519 signing key with its note name. Its `Debug` output never shows the key.
pub struct Ed25519Signer(NamedKey);

impl std::fmt::Debug for Ed25519Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Ed25519Signer").field(&self.0).finish()
    }
}

impl Ed25519Signer {
    /// Builds a signer from a 32-byte Ed25519 seed.
    pub fn from_seed(name: &str, seed: &[u8; 32]) -> Result<Self, NoteError> {
        NamedKey::from_seed(name, seed, SIG_TYPE_ED25519).map(Self)
    }

    /// The matching verifier.
    pub fn verifier(&self) -> Ed25519Verifier {
        Ed25519Verifier {
            name: self.0.name.clone(),
            id: self.0.id,
            key: self.0.verifying_key(),
        }
    }

    /// The matching verifier key string (`vkey`), safe to publish.
    pub fn vkey(&self) -> String {
        self.0.vkey()
    }

    /// The signer key string; secret.
    pub fn skey(&self) -> String {
        self.0.skey()
    }
}

impl NoteSigner for Ed25519Signer {
    fn name(&self) -> &str {
        &self.0.name
    }
    fn key_id(&self) -> u32 {
        self.0.id
    }
    fn sign(&self, text: &[u8]) -> Vec<u8> {
        self.0.key.sign(text).to_bytes().to_vec()
    }
}

/// An Ed25519 public key with its note name.
#[derive(Debug, Clone)]
pub struct Ed25519Verifier {
    name: String,
    id: u32,
    key: VerifyingKey,
}

impl Ed25519Verifier {
    /// Builds a verifier from a 32-byte public key.
    pub fn new(name: &str, public: &[u8; 32]) -> Result<Self, NoteError> {
        validate_key_name(name)?;
        let key = VerifyingKey::from_bytes(public)
            .map_err(|_| NoteError::BadKey("invalid ed25519 public key"))?;
        Ok(Self {
            name: name.to_owned(),
            id: key_id(name, SIG_TYPE_ED25519, public),
            key,
        })
    }
}

impl NoteVerifier for Ed25519Verifier {
    fn name(&self) -> &str {
        &self.name
    }
    fn key_id(&self) -> u32 {
        self.id
    }
    fn verify(&self, text: &[u8], signature: &[u8]) -> bool {
        let Ok(sig) = Signature::from_slice(signature) else {
            return false;
        };
        self.key.verify_strict(text, &sig).is_ok()
    }
}
