//! The part every Ed25519 note key shares, whatever it signs: its name, its key id for one
//! signature type, the secret key behind a redacting `Debug`, and its vkey/skey strings. The log's
//! signer and a witness's cosigner differ only in what they sign.

use ed25519_dalek::{SigningKey, VerifyingKey};

use super::NoteError;
use super::keys::{format_skey, format_vkey, key_id, validate_key_name};

/// A named Ed25519 key for one note signature type.
pub(crate) struct NamedKey {
    pub(crate) name: String,
    pub(crate) id: u32,
    pub(crate) key: SigningKey,
    sig_type: u8,
}

impl std::fmt::Debug for NamedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NamedKey")
            .field("name", &self.name)
            .field("key_id", &format_args!("{:08x}", self.id))
            .field("key", &"**REDACTED**")
            .finish()
    }
}

impl NamedKey {
    /// Builds the key from a 32-byte seed, checking the name.
    pub(crate) fn from_seed(name: &str, seed: &[u8; 32], sig_type: u8) -> Result<Self, NoteError> {
        validate_key_name(name)?;
        let key = SigningKey::from_bytes(seed);
        let id = key_id(name, sig_type, key.verifying_key().as_bytes());
        Ok(NamedKey {
            name: name.to_owned(),
            id,
            key,
            sig_type,
        })
    }

    /// The public half.
    pub(crate) fn verifying_key(&self) -> VerifyingKey {
        self.key.verifying_key()
    }

    /// The verifier key string, safe to publish.
    pub(crate) fn vkey(&self) -> String {
        format_vkey(&self.name, self.sig_type, self.verifying_key().as_bytes())
    }

    /// The signer key string; secret.
    pub(crate) fn skey(&self) -> String {
        format_skey(
            &self.name,
            self.sig_type,
            self.verifying_key().as_bytes(),
            &self.key.to_bytes(),
        )
    }
}
