//! The recorded inventory of each monitored page, in `pages/<hash of the URL>.json` of the
//! integrity state folder: the last fetch (what the next one is compared with) and when each
//! unauthorised script was last reported.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::inventory::Inventory;
use crate::error::{IntegrityError, io};

/// Largest page record read back.
const MAX_RECORD_BYTES: u64 = 64 << 20;

/// What is kept of one page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PageRecord {
    /// The last fetch.
    pub inventory: Inventory,
    /// Script key to when it was last reported as unauthorised.
    #[serde(default)]
    pub reported: BTreeMap<String, DateTime<Utc>>,
}

/// The pages folder of an integrity state folder.
#[derive(Debug, Clone)]
pub struct PageStore {
    dir: PathBuf,
}

/// Reads a file of at most `max` bytes; `None` when it does not exist.
pub(crate) fn read_limited(path: &Path, max: u64) -> Result<Option<Vec<u8>>, IntegrityError> {
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io(path)(e)),
    };
    let mut bytes = Vec::new();
    file.take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(io(path))?;
    if bytes.len() as u64 > max {
        return Err(IntegrityError::Limit {
            what: path.display().to_string(),
            limit: max,
        });
    }
    Ok(Some(bytes))
}

impl PageStore {
    /// The `pages` folder of a state folder (created on first write).
    pub fn new(state_dir: &Path) -> PageStore {
        PageStore {
            dir: state_dir.join("pages"),
        }
    }

    /// The folder (also where the authorisations are).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn file(&self, url: &str) -> PathBuf {
        let hash = blake3::hash(url.as_bytes()).to_hex();
        self.dir.join(format!("{}.json", &hash[..32]))
    }

    /// The record of a page, if it was fetched before.
    pub fn load(&self, url: &str) -> Result<Option<PageRecord>, IntegrityError> {
        let path = self.file(url);
        let Some(bytes) = read_limited(&path, MAX_RECORD_BYTES)? else {
            return Ok(None);
        };
        let record: PageRecord =
            serde_json::from_slice(&bytes).map_err(|e| IntegrityError::Parse {
                file: path.display().to_string(),
                line: e.line(),
                message: e.to_string(),
            })?;
        Ok((record.inventory.url == url).then_some(record))
    }

    /// Writes a page's record atomically.
    pub fn save(&self, record: &PageRecord) -> Result<(), IntegrityError> {
        std::fs::create_dir_all(&self.dir).map_err(io(&self.dir))?;
        let bytes = serde_json::to_vec(record).expect("page records serialise");
        crate::state::write_atomic(&self.file(&record.inventory.url), &bytes, 0o600)
    }

    /// Every recorded page, by URL.
    pub fn list(&self) -> Result<Vec<PageRecord>, IntegrityError> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io(&self.dir)(e)),
        };
        let mut records = Vec::new();
        for entry in entries {
            let path = entry.map_err(io(&self.dir))?.path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if name.len() != 37 || !name.ends_with(".json") {
                continue;
            }
            if let Some(bytes) = read_limited(&path, MAX_RECORD_BYTES)? {
                let record: PageRecord =
                    serde_json::from_slice(&bytes).map_err(|e| IntegrityError::Parse {
                        file: path.display().to_string(),
                        line: e.line(),
                        message: e.to_string(),
                    })?;
                records.push(record);
            }
        }
        records.sort_by(|a, b| a.inventory.url.cmp(&b.inventory.url));
        Ok(records)
    }
}
