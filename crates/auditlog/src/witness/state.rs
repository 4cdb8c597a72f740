//! The witness's durable memory: for each log, the latest checkpoint it cosigned. Written
//! atomically (temporary file, sync, rename, sync folder) before any cosignature leaves.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// Largest state file read back.
const MAX_STATE_BYTES: u64 = 64 << 20;

/// What the witness remembers about one log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogState {
    /// Tree size of the latest cosigned checkpoint.
    pub size: u64,
    /// Its root hash, base64.
    pub root: String,
    /// The checkpoint as received (with the log signature), for monitors.
    pub checkpoint: String,
}

/// The whole state file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WitnessState {
    /// Per origin.
    pub logs: BTreeMap<String, LogState>,
}

impl WitnessState {
    /// Reads the state; a missing file is an empty state.
    pub fn load(path: &Path) -> std::io::Result<Self> {
        match std::fs::metadata(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(e) => return Err(e),
            Ok(m) if m.len() > MAX_STATE_BYTES => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    "witness state file too large",
                ));
            }
            Ok(_) => {}
        }
        let bytes = std::fs::read(path)?;
        serde_json::from_slice(&bytes)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
    }

    /// Writes the state atomically and durably.
    pub fn store(&self, path: &Path) -> std::io::Result<()> {
        let bytes = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        crate::store::write_atomic(path, &bytes)
    }
}
