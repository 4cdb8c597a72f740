//! The body of a tlog-witness `add-checkpoint` request: old size, consistency proof, checkpoint.

use crate::checkpoint::parse_decimal;
use crate::hash::{Hash, hash_from_base64, hash_to_base64};
use crate::merkle::MAX_PROOF_HASHES;
use crate::note::MAX_NOTE_BYTES;

use super::WitnessError;

/// Most consistency proof lines the protocol allows.
pub const MAX_PROOF_LINES: usize = 63;

/// A parsed `add-checkpoint` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddCheckpoint {
    /// Size of the checkpoint the client believes the witness last cosigned.
    pub old_size: u64,
    /// Consistency proof from `old_size` to the new checkpoint.
    pub proof: Vec<Hash>,
    /// The new signed checkpoint, verbatim.
    pub checkpoint: Vec<u8>,
}

impl AddCheckpoint {
    /// Parses a request body (bounded in size and proof length).
    pub fn parse(body: &[u8]) -> Result<Self, WitnessError> {
        if body.len() > MAX_NOTE_BYTES + 4096 {
            return Err(WitnessError::Malformed("request body too large"));
        }
        let text = std::str::from_utf8(body)
            .map_err(|_| WitnessError::Malformed("request is not utf-8"))?;
        let (head, checkpoint) = text.split_once("\n\n").ok_or(WitnessError::Malformed(
            "missing blank line before the checkpoint",
        ))?;
        let mut lines = head.split('\n');
        let old = lines
            .next()
            .and_then(|l| l.strip_prefix("old "))
            .and_then(parse_decimal)
            .ok_or(WitnessError::Malformed("first line must be `old <size>`"))?;
        let mut proof = Vec::new();
        for line in lines {
            if proof.len() == MAX_PROOF_LINES.min(MAX_PROOF_HASHES) {
                return Err(WitnessError::Malformed("more than 63 proof lines"));
            }
            proof.push(
                hash_from_base64(line)
                    .map_err(|_| WitnessError::Malformed("proof line is not a base64 hash"))?,
            );
        }
        Ok(Self {
            old_size: old,
            proof,
            checkpoint: checkpoint.as_bytes().to_vec(),
        })
    }

    /// Formats the request body.
    pub fn to_body(&self) -> Vec<u8> {
        let mut s = format!("old {}\n", self.old_size);
        for h in &self.proof {
            s.push_str(&hash_to_base64(h));
            s.push('\n');
        }
        s.push('\n');
        let mut out = s.into_bytes();
        out.extend_from_slice(&self.checkpoint);
        out
    }
}
