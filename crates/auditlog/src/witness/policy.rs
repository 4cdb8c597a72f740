//! A k-of-n witness policy: how many of the known witnesses must have cosigned a checkpoint
//! before a verifier counts it (protection against a log showing different views to different
//! clients).

use std::sync::Arc;

use crate::note::{Note, NoteVerifier, VerifierSet};

/// Why a checkpoint does not satisfy a witness policy.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// The threshold is zero or larger than the number of witnesses.
    #[error("witness threshold {threshold} is not between 1 and {witnesses}")]
    BadThreshold {
        /// Requested threshold.
        threshold: usize,
        /// Number of known witnesses.
        witnesses: usize,
    },
    /// A known witness's cosignature does not verify.
    #[error("cosignature by witness {0} does not verify")]
    BadCosignature(String),
    /// Too few known witnesses cosigned.
    #[error("checkpoint has {valid} valid cosignatures, policy needs {needed}")]
    NotEnough {
        /// Valid cosignatures from known witnesses.
        valid: usize,
        /// Threshold.
        needed: usize,
    },
}

/// `threshold` of the given witness keys must have cosigned.
#[derive(Debug, Clone)]
pub struct WitnessPolicy {
    witnesses: VerifierSet,
    threshold: usize,
}

impl WitnessPolicy {
    /// A policy needing `threshold` of `witnesses` (cosignature verifier keys).
    pub fn new(
        witnesses: Vec<Arc<dyn NoteVerifier>>,
        threshold: usize,
    ) -> Result<Self, PolicyError> {
        if threshold == 0 || threshold > witnesses.len() {
            return Err(PolicyError::BadThreshold {
                threshold,
                witnesses: witnesses.len(),
            });
        }
        Ok(Self {
            witnesses: VerifierSet::new(witnesses),
            threshold,
        })
    }

    /// Checks a checkpoint note; returns the names of the witnesses whose cosignatures verified.
    /// Signatures by unknown keys are ignored; a failing one by a known witness is an error.
    pub fn check(&self, note: &Note) -> Result<Vec<String>, PolicyError> {
        let mut valid: Vec<String> = Vec::new();
        for sig in &note.signatures {
            let Some(key) = self.witnesses.find(&sig.name, sig.key_id) else {
                continue;
            };
            if !key.verify(note.text.as_bytes(), &sig.signature) {
                return Err(PolicyError::BadCosignature(sig.name.clone()));
            }
            if !valid.contains(&sig.name) {
                valid.push(sig.name.clone());
            }
        }
        if valid.len() < self.threshold {
            return Err(PolicyError::NotEnough {
                valid: valid.len(),
                needed: self.threshold,
            });
        }
        Ok(valid)
    }
}
