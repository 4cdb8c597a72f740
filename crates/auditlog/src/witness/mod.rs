//! The witness core (C2SP `tlog-witness`): given the last checkpoint it cosigned for a log, a new
//! checkpoint and a consistency proof, it verifies the log's signature and the consistency, makes
//! the new state durable, and cosigns. It refuses, with a typed error, a fork, a rollback and a
//! bad signature. HTTP serving is wired elsewhere; [`WitnessError::http_status`] maps errors to
//! the status codes the protocol prescribes.

mod policy;
mod request;
mod state;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

pub use policy::{PolicyError, WitnessPolicy};
pub use request::{AddCheckpoint, MAX_PROOF_LINES};
pub use state::{LogState, WitnessState};

use crate::checkpoint::Checkpoint;
use crate::hash::{empty_root, hash_from_base64, hash_to_base64};
use crate::merkle::{ProofError, verify_consistency};
use crate::note::{Cosigner, Note, NoteError, NoteSignature, VerifierSet};

/// Why the witness refused to cosign.
#[derive(Debug, thiserror::Error)]
pub enum WitnessError {
    /// The request or checkpoint is not well formed.
    #[error("malformed request: {0}")]
    Malformed(&'static str),
    /// The checkpoint's origin is not a log this witness follows.
    #[error("unknown log origin {0:?}")]
    UnknownOrigin(String),
    /// The checkpoint is not validly signed by the log's key.
    #[error("checkpoint signature rejected: {0}")]
    Signature(#[from] NoteError),
    /// The old size is larger than the new checkpoint's size.
    #[error("old size {old} is larger than checkpoint size {new}")]
    OldSizeAboveNew {
        /// Old size in the request.
        old: u64,
        /// Size of the submitted checkpoint.
        new: u64,
    },
    /// The checkpoint is smaller than one already cosigned: the log rolled back.
    #[error("rollback: checkpoint size {submitted} is below the cosigned size {latest}")]
    Rollback {
        /// Size of the latest cosigned checkpoint.
        latest: u64,
        /// Size of the submitted checkpoint.
        submitted: u64,
    },
    /// The old size is not the size the witness last cosigned (the client must retry from it).
    #[error("old size {old} does not match the cosigned size {latest}")]
    OldSizeMismatch {
        /// Size of the latest cosigned checkpoint.
        latest: u64,
        /// Old size in the request.
        old: u64,
    },
    /// The new checkpoint is not an extension of the cosigned one: the log forked.
    #[error(
        "fork: checkpoint of size {size} is inconsistent with the cosigned size {latest}: {reason}"
    )]
    Fork {
        /// Size of the latest cosigned checkpoint.
        latest: u64,
        /// Size of the submitted checkpoint.
        size: u64,
        /// What failed.
        reason: String,
    },
    /// A proof was sent where none is allowed, or a size-zero checkpoint has a non-empty root.
    #[error("unprocessable: {0}")]
    Unprocessable(&'static str),
    /// The state file could not be read or written; nothing was cosigned.
    #[error("witness state {context}")]
    State {
        /// What was being done.
        context: String,
        /// The underlying failure.
        #[source]
        source: std::io::Error,
    },
}

impl WitnessError {
    /// The HTTP status the tlog-witness protocol prescribes for this refusal.
    pub fn http_status(&self) -> u16 {
        match self {
            WitnessError::Malformed(_) | WitnessError::OldSizeAboveNew { .. } => 400,
            WitnessError::Signature(_) => 403,
            WitnessError::UnknownOrigin(_) => 404,
            WitnessError::Rollback { .. } | WitnessError::OldSizeMismatch { .. } => 409,
            WitnessError::Fork { .. } | WitnessError::Unprocessable(_) => 422,
            WitnessError::State { .. } => 500,
        }
    }

    /// For a 409, the size the client should retry from (the response body of the protocol).
    pub fn conflict_size(&self) -> Option<u64> {
        match self {
            WitnessError::Rollback { latest, .. }
            | WitnessError::OldSizeMismatch { latest, .. } => Some(*latest),
            _ => None,
        }
    }
}

/// A witness: its cosigning key, the logs it follows and their trusted keys, and its state file.
#[derive(Debug)]
pub struct Witness {
    cosigner: Cosigner,
    logs: HashMap<String, VerifierSet>,
    state_path: PathBuf,
    state: Mutex<WitnessState>,
    // Held while the witness lives: the state is kept in memory, so a second witness on the
    // same file would not see this one's cosignatures and could cosign a fork.
    _lock: ensuresec_durable::Lock,
}

impl Witness {
    /// Opens a witness whose state lives in `state_path` (created on first cosignature). Refused
    /// while another witness (in this process or another) has the same state open: it holds
    /// `STATE.lock`.
    pub fn open(
        state_path: &Path,
        cosigner: Cosigner,
        logs: Vec<(String, VerifierSet)>,
    ) -> Result<Self, WitnessError> {
        let mut lock_path = state_path.as_os_str().to_owned();
        lock_path.push(".lock");
        let lock_path = PathBuf::from(lock_path);
        let lock = match ensuresec_durable::try_lock_file(&lock_path) {
            Ok(Some(lock)) => lock,
            Ok(None) => {
                return Err(WitnessError::State {
                    context: format!(
                        "{} is in use by another witness (it holds {}); one state, one witness",
                        state_path.display(),
                        lock_path.display()
                    ),
                    source: std::io::ErrorKind::WouldBlock.into(),
                });
            }
            Err(e) => {
                return Err(WitnessError::State {
                    context: format!("locking {}", state_path.display()),
                    source: e.into(),
                });
            }
        };
        let state = WitnessState::load(state_path).map_err(|source| WitnessError::State {
            context: format!("reading {}", state_path.display()),
            source,
        })?;
        Ok(Self {
            cosigner,
            logs: logs.into_iter().collect(),
            state_path: state_path.to_owned(),
            state: Mutex::new(state),
            _lock: lock,
        })
    }

    /// The cosigner's name.
    pub fn name(&self) -> &str {
        self.cosigner.name()
    }

    /// What the witness last cosigned for a log.
    pub fn latest(&self, origin: &str) -> Option<LogState> {
        self.state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .logs
            .get(origin)
            .cloned()
    }

    /// Handles an `add-checkpoint` request at time `now_unix_seconds` (passed in, never read
    /// from the clock here): verifies and, if all is well, persists and cosigns.
    pub fn add_checkpoint(
        &self,
        req: &AddCheckpoint,
        now_unix_seconds: u64,
    ) -> Result<NoteSignature, WitnessError> {
        let note = Note::parse(&req.checkpoint)
            .map_err(|_| WitnessError::Malformed("checkpoint is not a signed note"))?;
        let cp = Checkpoint::parse(&note.text)
            .map_err(|_| WitnessError::Malformed("note is not a checkpoint"))?;
        let keys = self
            .logs
            .get(&cp.origin)
            .ok_or_else(|| WitnessError::UnknownOrigin(cp.origin.clone()))?;
        note.verify(keys)?;
        if req.old_size > cp.size {
            return Err(WitnessError::OldSizeAboveNew {
                old: req.old_size,
                new: cp.size,
            });
        }
        // Check and persist under one lock, so two requests cannot roll each other back.
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let (latest_size, latest_root) = match state.logs.get(&cp.origin) {
            Some(s) => (
                s.size,
                hash_from_base64(&s.root).map_err(|_| WitnessError::State {
                    context: "holds a malformed root hash".into(),
                    source: std::io::Error::other("bad root"),
                })?,
            ),
            None => (0, empty_root()),
        };
        if cp.size < latest_size {
            return Err(WitnessError::Rollback {
                latest: latest_size,
                submitted: cp.size,
            });
        }
        if req.old_size != latest_size {
            return Err(WitnessError::OldSizeMismatch {
                latest: latest_size,
                old: req.old_size,
            });
        }
        if cp.size == 0 && cp.root != empty_root() {
            return Err(WitnessError::Unprocessable(
                "checkpoint of size zero must have the empty-tree root",
            ));
        }
        if req.old_size == 0 {
            if !req.proof.is_empty() {
                return Err(WitnessError::Unprocessable(
                    "proof must be empty when the old size is zero",
                ));
            }
        } else if req.old_size == cp.size {
            if !req.proof.is_empty() {
                return Err(WitnessError::Unprocessable(
                    "proof must be empty when the sizes are equal",
                ));
            }
            if cp.root != latest_root {
                return Err(WitnessError::Fork {
                    latest: latest_size,
                    size: cp.size,
                    reason: "same size, different root hash".into(),
                });
            }
        } else if let Err(e) =
            verify_consistency(req.old_size, cp.size, &latest_root, &cp.root, &req.proof)
        {
            return Err(fork(latest_size, cp.size, &e));
        }
        let mut next = state.clone();
        next.logs.insert(
            cp.origin.clone(),
            LogState {
                size: cp.size,
                root: hash_to_base64(&cp.root),
                checkpoint: String::from_utf8_lossy(&req.checkpoint).into_owned(),
            },
        );
        next.store(&self.state_path)
            .map_err(|source| WitnessError::State {
                context: format!("writing {}", self.state_path.display()),
                source,
            })?;
        *state = next;
        Ok(self.cosigner.cosign(&note.text, now_unix_seconds))
    }
}

fn fork(latest: u64, size: u64, e: &ProofError) -> WitnessError {
    WitnessError::Fork {
        latest,
        size,
        reason: e.to_string(),
    }
}
