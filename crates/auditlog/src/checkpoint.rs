//! C2SP checkpoints (`c2sp.org/tlog-checkpoint`): the note text that commits a log to a tree
//! size and root hash, and the signed form a verifier trusts.

use crate::hash::{Hash, hash_from_base64, hash_to_base64};
use crate::note::{Note, NoteError, NoteSigner, VerifierSet, sign_note};

/// Most extension lines accepted on a checkpoint (they are opaque and discouraged).
pub const MAX_EXTENSION_LINES: usize = 16;

/// Why a checkpoint was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    /// The text is not origin, size and root hash lines (plus optional extensions).
    #[error("malformed checkpoint: {0}")]
    Malformed(&'static str),
    /// The signed-note envelope failed.
    #[error(transparent)]
    Note(#[from] NoteError),
    /// The checkpoint is for another log than the one expected.
    #[error("checkpoint origin {found:?} is not the expected {expected:?}")]
    WrongOrigin {
        /// Origin expected by the caller.
        expected: String,
        /// Origin found in the checkpoint.
        found: String,
    },
}

/// The body of a checkpoint: which log, how many entries, and the root hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// Unique identity of the log (a schema-less URL by convention).
    pub origin: String,
    /// Number of entries in the tree.
    pub size: u64,
    /// RFC 9162 root hash of the tree.
    pub root: Hash,
    /// Opaque extension lines, rarely used.
    pub extensions: Vec<String>,
}

impl Checkpoint {
    /// A checkpoint without extension lines.
    pub fn new(origin: &str, size: u64, root: Hash) -> Self {
        Self {
            origin: origin.to_owned(),
            size,
            root,
            extensions: Vec::new(),
        }
    }

    /// Parses the note text of a checkpoint.
    pub fn parse(text: &str) -> Result<Self, CheckpointError> {
        let body = text
            .strip_suffix('\n')
            .ok_or(CheckpointError::Malformed("text must end in a newline"))?;
        let mut lines = body.split('\n');
        let origin = lines
            .next()
            .filter(|l| !l.is_empty())
            .ok_or(CheckpointError::Malformed("empty origin"))?;
        let size_line = lines
            .next()
            .ok_or(CheckpointError::Malformed("missing tree size"))?;
        let size = parse_decimal(size_line).ok_or(CheckpointError::Malformed(
            "tree size is not a canonical decimal",
        ))?;
        let root_line = lines
            .next()
            .ok_or(CheckpointError::Malformed("missing root hash"))?;
        let root = hash_from_base64(root_line)
            .map_err(|_| CheckpointError::Malformed("root hash is not 32 bytes of base64"))?;
        let mut extensions = Vec::new();
        for line in lines {
            if line.is_empty() {
                return Err(CheckpointError::Malformed("empty extension line"));
            }
            if extensions.len() == MAX_EXTENSION_LINES {
                return Err(CheckpointError::Malformed("too many extension lines"));
            }
            extensions.push(line.to_owned());
        }
        Ok(Self {
            origin: origin.to_owned(),
            size,
            root,
            extensions,
        })
    }

    /// The note text of this checkpoint, ending in a newline.
    pub fn to_text(&self) -> String {
        let mut s = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            hash_to_base64(&self.root)
        );
        for e in &self.extensions {
            s.push_str(e);
            s.push('\n');
        }
        s
    }

    /// Signs this checkpoint with the given signers (normally the log's own key).
    pub fn sign(&self, signers: &[&dyn NoteSigner]) -> Result<Note, CheckpointError> {
        if self.origin.is_empty() || self.origin.contains('\n') {
            return Err(CheckpointError::Malformed(
                "origin must be one non-empty line",
            ));
        }
        Ok(sign_note(&self.to_text(), signers)?)
    }
}

/// Parses an ASCII decimal without sign or leading zeroes (except `0` itself).
pub(crate) fn parse_decimal(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || (s.len() > 1 && s.starts_with('0'))
    {
        return None;
    }
    s.parse().ok()
}

/// A checkpoint whose log signature has been verified, with the parsed note kept so its
/// cosignatures can be checked against a witness policy.
#[derive(Debug, Clone)]
pub struct SignedCheckpoint {
    /// The verified checkpoint body.
    pub checkpoint: Checkpoint,
    /// The whole note, including signatures from other keys (cosignatures).
    pub note: Note,
}

impl SignedCheckpoint {
    /// Parses a signed checkpoint and verifies it against the log's trusted keys; when `origin` is
    /// given the checkpoint must be for that log.
    pub fn open(
        bytes: &[u8],
        log_keys: &VerifierSet,
        origin: Option<&str>,
    ) -> Result<Self, CheckpointError> {
        let note = Note::parse(bytes)?;
        let checkpoint = Checkpoint::parse(&note.text)?;
        if let Some(expected) = origin
            && checkpoint.origin != expected
        {
            return Err(CheckpointError::WrongOrigin {
                expected: expected.to_owned(),
                found: checkpoint.origin,
            });
        }
        note.verify(log_keys)?;
        Ok(Self { checkpoint, note })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_format_round_trip() {
        let text =
            "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
        let c = Checkpoint::parse(text).expect("valid checkpoint");
        assert_eq!(c.size, 20852163);
        assert_eq!(c.to_text(), text);
    }

    #[test]
    fn rejects_non_canonical_sizes_and_bad_roots() {
        let root = "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=";
        assert!(Checkpoint::parse(&format!("o\n012\n{root}\n")).is_err());
        assert!(Checkpoint::parse(&format!("o\n-1\n{root}\n")).is_err());
        assert!(Checkpoint::parse("o\n1\nAAAA\n").is_err());
        assert!(Checkpoint::parse(&format!("\n1\n{root}\n")).is_err());
        assert!(Checkpoint::parse(&format!("o\n1\n{root}\n\n")).is_err());
    }
}
