//! The signed-note text format: parsing, formatting, signing and verification against a set of
//! trusted keys.

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::{NoteError, NoteSigner, NoteVerifier};

/// Largest note accepted; checkpoints are a few hundred bytes, so this only bounds hostile input.
pub const MAX_NOTE_BYTES: usize = 1 << 20;

/// Most signatures accepted on one note (the spec requires accepting at least 16).
pub const MAX_SIGNATURES: usize = 100;

/// The em dash that starts every signature line.
const DASH: &str = "\u{2014} ";

/// One signature line of a note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteSignature {
    /// Key name.
    pub name: String,
    /// Key ID.
    pub key_id: u32,
    /// Signature bytes, without the key ID.
    pub signature: Vec<u8>,
}

impl NoteSignature {
    /// Formats the line `— <name> base64(key id || signature)` with its final newline.
    pub fn to_line(&self) -> String {
        let mut bytes = self.key_id.to_be_bytes().to_vec();
        bytes.extend_from_slice(&self.signature);
        format!("{DASH}{} {}\n", self.name, STANDARD.encode(bytes))
    }

    /// Parses one signature line (without its newline).
    pub fn parse_line(line: &str) -> Option<Self> {
        let rest = line.strip_prefix(DASH)?;
        let (name, b64) = rest.split_once(' ')?;
        super::validate_key_name(name).ok()?;
        let bytes = STANDARD.decode(b64).ok()?;
        if bytes.len() < 5 {
            return None;
        }
        let (id, sig) = bytes.split_at(4);
        Some(Self {
            name: name.to_owned(),
            key_id: u32::from_be_bytes(id.try_into().ok()?),
            signature: sig.to_vec(),
        })
    }
}

/// A parsed signed note: its text (ending in a newline) and its signatures, not yet verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// The signed text, including its final newline.
    pub text: String,
    /// Signature lines in order.
    pub signatures: Vec<NoteSignature>,
}

impl Note {
    /// Parses a signed note, enforcing the format and the size limits.
    pub fn parse(bytes: &[u8]) -> Result<Self, NoteError> {
        if bytes.len() > MAX_NOTE_BYTES {
            return Err(NoteError::TooLarge);
        }
        let s = std::str::from_utf8(bytes).map_err(|_| NoteError::BadCharacters)?;
        if s.chars().any(|c| c.is_ascii_control() && c != '\n') {
            return Err(NoteError::BadCharacters);
        }
        let split = s.rfind("\n\n").ok_or(NoteError::Malformed)?;
        let (text, sigs) = (&s[..=split], &s[split + 2..]);
        if !sigs.ends_with('\n') || sigs.len() < 2 {
            return Err(NoteError::Malformed);
        }
        let mut signatures = Vec::new();
        for (i, line) in sigs[..sigs.len() - 1].split('\n').enumerate() {
            if signatures.len() == MAX_SIGNATURES {
                return Err(NoteError::TooManySignatures);
            }
            signatures.push(
                NoteSignature::parse_line(line)
                    .ok_or(NoteError::BadSignatureLine { line: i + 1 })?,
            );
        }
        Ok(Self {
            text: text.to_owned(),
            signatures,
        })
    }

    /// Verifies the note against trusted keys: signatures from unknown keys are ignored, a failing
    /// signature from a trusted key rejects the note, and at least one must verify. Returns the
    /// indexes (into `signatures`) of the verified signatures.
    pub fn verify(&self, keys: &VerifierSet) -> Result<Vec<usize>, NoteError> {
        let mut verified = Vec::new();
        for (i, sig) in self.signatures.iter().enumerate() {
            let Some(key) = keys.find(&sig.name, sig.key_id) else {
                continue;
            };
            if !key.verify(self.text.as_bytes(), &sig.signature) {
                return Err(NoteError::BadSignature {
                    name: sig.name.clone(),
                });
            }
            verified.push(i);
        }
        if verified.is_empty() {
            return Err(NoteError::NoTrustedSignature);
        }
        Ok(verified)
    }

    /// Adds a signature line unless one with the same key name and ID is already present.
    pub fn add_signature(&mut self, sig: NoteSignature) {
        if !self
            .signatures
            .iter()
            .any(|s| s.name == sig.name && s.key_id == sig.key_id)
        {
            self.signatures.push(sig);
        }
    }
}

impl std::fmt::Display for Note {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)?;
        f.write_str("\n")?;
        for sig in &self.signatures {
            f.write_str(&sig.to_line())?;
        }
        Ok(())
    }
}

/// Signs a note text (which must end in a newline) with each signer.
pub fn sign_note(text: &str, signers: &[&dyn NoteSigner]) -> Result<Note, NoteError> {
    if !text.ends_with('\n') || text.ends_with("\n\n") {
        return Err(NoteError::Malformed);
    }
    if text.len() > MAX_NOTE_BYTES || text.chars().any(|c| c.is_ascii_control() && c != '\n') {
        return Err(NoteError::BadCharacters);
    }
    let signatures = signers
        .iter()
        .map(|s| NoteSignature {
            name: s.name().to_owned(),
            key_id: s.key_id(),
            signature: s.sign(text.as_bytes()),
        })
        .collect();
    Ok(Note {
        text: text.to_owned(),
        signatures,
    })
}

/// The trusted keys a note is verified against, looked up by key name and ID.
#[derive(Debug, Clone, Default)]
pub struct VerifierSet {
    keys: Vec<Arc<dyn NoteVerifier>>,
}

impl VerifierSet {
    /// A set of the given keys.
    pub fn new(keys: Vec<Arc<dyn NoteVerifier>>) -> Self {
        Self { keys }
    }

    /// Adds a key.
    pub fn push(&mut self, key: Arc<dyn NoteVerifier>) {
        self.keys.push(key);
    }

    /// Finds the key with this name and ID.
    pub fn find(&self, name: &str, key_id: u32) -> Option<&Arc<dyn NoteVerifier>> {
        self.keys
            .iter()
            .find(|k| k.name() == name && k.key_id() == key_id)
    }

    /// The keys in the set.
    pub fn keys(&self) -> &[Arc<dyn NoteVerifier>] {
        &self.keys
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::note::Ed25519Signer;

    #[test]
    fn round_trip_and_tamper() {
        let signer = Ed25519Signer::from_seed("example.com/log", &[7; 32]).expect("valid name");
        let note = sign_note("hello\nworld\n", &[&signer]).expect("signable");
        let text = note.to_string();
        let parsed = Note::parse(text.as_bytes()).expect("parses");
        assert_eq!(parsed, note);
        let keys = VerifierSet::new(vec![Arc::new(signer.verifier())]);
        assert_eq!(parsed.verify(&keys), Ok(vec![0]));
        let tampered = Note::parse(text.replace("world", "World").as_bytes()).expect("parses");
        assert!(matches!(
            tampered.verify(&keys),
            Err(NoteError::BadSignature { .. })
        ));
        assert_eq!(
            parsed.verify(&VerifierSet::default()),
            Err(NoteError::NoTrustedSignature)
        );
    }

    #[test]
    fn rejects_bad_shapes() {
        assert_eq!(Note::parse(b"no blank line\n"), Err(NoteError::Malformed));
        assert_eq!(Note::parse(b"a\n\n\x01\n"), Err(NoteError::BadCharacters));
        assert_eq!(
            Note::parse(b"a\n\nnot a sig\n"),
            Err(NoteError::BadSignatureLine { line: 1 })
        );
    }
}
