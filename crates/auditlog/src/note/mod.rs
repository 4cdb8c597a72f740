//! C2SP signed notes (`c2sp.org/signed-note`): text signed by one or more keys, the envelope of
//! checkpoints and cosignatures. Signature schemes sit behind [`NoteSigner`] / [`NoteVerifier`]
//! so another algorithm can be added without touching the note format.

mod cosignature;
mod ed25519;
mod keys;
mod named_key;
mod text;

pub use cosignature::{CosignatureVerifier, Cosigner, TimedCosigner, cosigned_message};
pub use ed25519::{Ed25519Signer, Ed25519Verifier};
pub use keys::{
    KeyKind, SIG_TYPE_COSIGNATURE_ED25519, SIG_TYPE_ED25519, SignerKey, generate_key, key_id,
    parse_signer_key, parse_verifier_key, validate_key_name,
};
pub use text::{MAX_NOTE_BYTES, MAX_SIGNATURES, Note, NoteSignature, VerifierSet, sign_note};

/// Why a note, key or signature was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    /// The note exceeds [`MAX_NOTE_BYTES`].
    #[error("note is larger than {MAX_NOTE_BYTES} bytes")]
    TooLarge,
    /// The note is not UTF-8 or contains a control character other than newline.
    #[error("note contains invalid utf-8 or a control character")]
    BadCharacters,
    /// The note has no blank line separating text from signatures, or text without final newline.
    #[error("note is not text, a blank line, then signature lines")]
    Malformed,
    /// A signature line is not `— <name> <base64>`.
    #[error("malformed signature line {line}")]
    BadSignatureLine {
        /// One-based number of the signature line.
        line: usize,
    },
    /// The note carries more than [`MAX_SIGNATURES`] signatures.
    #[error("note has more than {MAX_SIGNATURES} signatures")]
    TooManySignatures,
    /// A signature from a trusted key does not verify: the whole note is rejected.
    #[error("signature by {name} does not verify")]
    BadSignature {
        /// Key name of the failing signature.
        name: String,
    },
    /// No signature from any trusted key is present.
    #[error("note has no signature from a trusted key")]
    NoTrustedSignature,
    /// A key name is empty or contains whitespace or `+`.
    #[error("invalid key name {0:?}")]
    BadKeyName(String),
    /// A verifier or signer key string is malformed.
    #[error("malformed key: {0}")]
    BadKey(&'static str),
    /// The key ID in a key string does not match its name and public key.
    #[error("key id does not match key {0:?}")]
    KeyIdMismatch(String),
    /// The signature type byte names an algorithm this crate does not implement.
    #[error("unsupported signature type {0:#04x}")]
    UnsupportedType(u8),
    /// The system random source failed during key generation.
    #[error("random source failed")]
    Random,
}

/// Produces note signatures with one key: the pluggable half of signing.
pub trait NoteSigner: Send + Sync {
    /// Key name written in the signature line.
    fn name(&self) -> &str;
    /// 32-bit key ID written before the signature bytes.
    fn key_id(&self) -> u32;
    /// Signs the note text (which ends in a newline) and returns the signature bytes without
    /// the key ID.
    fn sign(&self, text: &[u8]) -> Vec<u8>;
}

/// Checks note signatures of one key: the pluggable half of verification.
pub trait NoteVerifier: Send + Sync + std::fmt::Debug {
    /// Key name this key signs under.
    fn name(&self) -> &str;
    /// 32-bit key ID of this key.
    fn key_id(&self) -> u32;
    /// Verifies `signature` (without the key ID) over the note text.
    fn verify(&self, text: &[u8], signature: &[u8]) -> bool;
    /// For cosignature keys, the timestamp a valid signature carries; `None` for plain keys.
    fn timestamp(&self, _signature: &[u8]) -> Option<u64> {
        None
    }
}
