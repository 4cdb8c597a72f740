//! Receipts: what the subject of a record keeps to prove, offline and without trusting the
//! operator, that the record is in the log: the entry, its inclusion proof, and a signed (and
//! possibly cosigned) checkpoint. Serialised as JSON, or as a C2SP `tlog-proof` text.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::checkpoint::{Checkpoint, CheckpointError, SignedCheckpoint, parse_decimal};
use crate::hash::{hash_from_base64, hash_to_base64, leaf_hash};
use crate::merkle::{MAX_PROOF_HASHES, ProofError, verify_inclusion};
use crate::note::{Note, VerifierSet};
use crate::store::{LogReader, StoreError};
use crate::witness::{PolicyError, WitnessPolicy};

/// Format tag of JSON receipts.
pub const RECEIPT_VERSION: &str = "ensuresec-receipt/v1";
/// First line of a C2SP tlog-proof.
pub const TLOG_PROOF_HEADER: &str = "c2sp.org/tlog-proof@v1";
/// Largest receipt accepted for parsing.
pub const MAX_RECEIPT_BYTES: usize = 2 << 20;

/// Why a receipt could not be built, read or verified.
#[derive(Debug, thiserror::Error)]
pub enum ReceiptError {
    /// The receipt text is not well formed.
    #[error("malformed receipt: {0}")]
    Malformed(String),
    /// The checkpoint is not signed by a trusted log key (or is for another log).
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// The entry is not at that index in the checkpointed tree.
    #[error("inclusion proof rejected: {0}")]
    Proof(#[from] ProofError),
    /// The checkpoint lacks the cosignatures the witness policy requires.
    #[error("witness policy not met: {0}")]
    Policy(#[from] PolicyError),
    /// The log could not produce the receipt.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// An entry with its inclusion proof and the checkpoint the proof is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Receipt {
    /// Always [`RECEIPT_VERSION`].
    pub version: String,
    /// Leaf index of the entry.
    pub index: u64,
    /// The entry bytes, base64.
    pub entry: String,
    /// Inclusion proof hashes, base64, leaf to root.
    pub inclusion_proof: Vec<String>,
    /// The signed checkpoint note, verbatim (with cosignatures).
    pub checkpoint: String,
}

/// What a verified receipt proves.
#[derive(Debug, Clone)]
pub struct VerifiedReceipt {
    /// Leaf index.
    pub index: u64,
    /// The entry.
    pub entry: Vec<u8>,
    /// The verified checkpoint.
    pub checkpoint: Checkpoint,
    /// Witnesses whose cosignatures verified under the policy (empty without a policy).
    pub witnesses: Vec<String>,
}

impl Receipt {
    /// Builds the receipt of entry `index` against a signed checkpoint of this log.
    pub fn build(reader: &LogReader, index: u64, checkpoint: &Note) -> Result<Self, ReceiptError> {
        let cp = Checkpoint::parse(&checkpoint.text)?;
        if index >= cp.size {
            return Err(ReceiptError::Malformed(format!(
                "entry {index} is not in the checkpoint of size {}",
                cp.size
            )));
        }
        let entry = reader.entry(index)?;
        let proof = reader.inclusion_proof(index, cp.size)?;
        Ok(Self {
            version: RECEIPT_VERSION.to_owned(),
            index,
            entry: STANDARD.encode(entry),
            inclusion_proof: proof.iter().map(hash_to_base64).collect(),
            checkpoint: checkpoint.to_string(),
        })
    }

    /// Serialises as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Parses a JSON receipt (bounded in size).
    pub fn from_json(text: &str) -> Result<Self, ReceiptError> {
        if text.len() > MAX_RECEIPT_BYTES {
            return Err(ReceiptError::Malformed("receipt too large".into()));
        }
        let r: Self =
            serde_json::from_str(text).map_err(|e| ReceiptError::Malformed(e.to_string()))?;
        if r.version != RECEIPT_VERSION {
            return Err(ReceiptError::Malformed(format!(
                "unknown receipt version {:?}",
                r.version
            )));
        }
        Ok(r)
    }

    /// Verifies the receipt offline: the checkpoint is signed by a trusted log key (for
    /// `origin`, when given), meets the witness policy (when given), and the entry is at its
    /// index in that tree.
    pub fn verify(
        &self,
        log_keys: &VerifierSet,
        origin: Option<&str>,
        policy: Option<&WitnessPolicy>,
    ) -> Result<VerifiedReceipt, ReceiptError> {
        let signed = SignedCheckpoint::open(self.checkpoint.as_bytes(), log_keys, origin)?;
        let witnesses = match policy {
            Some(p) => p.check(&signed.note)?,
            None => Vec::new(),
        };
        let entry = STANDARD
            .decode(&self.entry)
            .map_err(|_| ReceiptError::Malformed("entry is not base64".into()))?;
        if self.inclusion_proof.len() > MAX_PROOF_HASHES {
            return Err(ReceiptError::Malformed("inclusion proof too long".into()));
        }
        let proof = self
            .inclusion_proof
            .iter()
            .map(|h| {
                hash_from_base64(h).map_err(|e| ReceiptError::Malformed(format!("proof hash: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let cp = signed.checkpoint;
        verify_inclusion(self.index, cp.size, &leaf_hash(&entry), &proof, &cp.root)?;
        Ok(VerifiedReceipt {
            index: self.index,
            entry,
            checkpoint: cp,
            witnesses,
        })
    }

    /// The C2SP `tlog-proof` text of this receipt (the entry itself travels separately).
    pub fn to_tlog_proof(&self) -> String {
        let mut s = format!("{TLOG_PROOF_HEADER}\nindex {}\n", self.index);
        for h in &self.inclusion_proof {
            s.push_str(h);
            s.push('\n');
        }
        s.push('\n');
        s.push_str(&self.checkpoint);
        s
    }

    /// Reads a C2SP `tlog-proof` for the given entry bytes (its `extra` line, if any, is ignored:
    /// it is not authenticated).
    pub fn from_tlog_proof(text: &str, entry: &[u8]) -> Result<Self, ReceiptError> {
        if text.len() > MAX_RECEIPT_BYTES {
            return Err(ReceiptError::Malformed("proof too large".into()));
        }
        let bad = |m: &str| ReceiptError::Malformed(m.to_owned());
        let (head, checkpoint) = text
            .split_once("\n\n")
            .ok_or_else(|| bad("missing blank line before the checkpoint"))?;
        let mut lines = head.split('\n').peekable();
        if lines.next() != Some(TLOG_PROOF_HEADER) {
            return Err(bad("first line is not c2sp.org/tlog-proof@v1"));
        }
        if lines.peek().is_some_and(|l| l.starts_with("extra ")) {
            lines.next();
        }
        let index = lines
            .next()
            .and_then(|l| l.strip_prefix("index "))
            .and_then(parse_decimal)
            .ok_or_else(|| bad("missing index line"))?;
        let proof: Vec<String> = lines.map(str::to_owned).collect();
        if proof.len() > MAX_PROOF_HASHES {
            return Err(bad("inclusion proof too long"));
        }
        Ok(Self {
            version: RECEIPT_VERSION.to_owned(),
            index,
            entry: STANDARD.encode(entry),
            inclusion_proof: proof,
            checkpoint: checkpoint.to_owned(),
        })
    }
}
