//! Records made by commands that run beside the server (`ensuresec token create|revoke`), which
//! cannot open the log while the server holds it: each is written durably as one file in
//! `DATA_DIR/ledger-inbox/` and appended by the server at start and before every checkpoint.
//! Delivery is at least once: a crash between the append and the file's removal appends the
//! record again on the next drain.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::record::{RecordKind, entry};
use super::{Ledger, LedgerError};

/// Most inbox files appended per drain.
const MAX_FILES_PER_DRAIN: usize = 1024;

/// The inbox folder of a data directory.
pub fn inbox_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("ledger-inbox")
}

fn io(context: String) -> impl FnOnce(std::io::Error) -> LedgerError {
    move |source| LedgerError::Io { context, source }
}

/// Writes a record to the inbox of `data_dir`, durably.
pub fn submit(
    data_dir: &Path,
    kind: RecordKind,
    time: DateTime<Utc>,
    record: &impl Serialize,
) -> Result<(), LedgerError> {
    let dir = inbox_dir(data_dir);
    std::fs::create_dir_all(&dir).map_err(io(format!("creating {}", dir.display())))?;
    let bytes = entry(
        kind,
        time,
        record,
        ensuresec_auditlog::store::TILES_MAX_ENTRY_BYTES,
    )
    .map_err(|e| LedgerError::Key(e.to_string()))?;
    let mut rand = [0u8; 4];
    getrandom::fill(&mut rand).map_err(|e| LedgerError::Key(format!("random source: {e}")))?;
    let name = format!(
        "{:020}-{}-{}.json",
        time.timestamp_nanos_opt().unwrap_or_default(),
        std::process::id(),
        hex::encode(rand)
    );
    // The name appears only once the record is synced: `drain` never reads half of one.
    Ok(ensuresec_durable::create_new(
        &dir.join(name),
        0o600,
        &bytes,
    )?)
}

/// Appends the inbox's records to the log (oldest first) and removes them; returns how many.
pub async fn drain(ledger: &Ledger, data_dir: &Path) -> Result<usize, LedgerError> {
    let dir = inbox_dir(data_dir);
    let mut names: Vec<PathBuf> = match std::fs::read_dir(&dir) {
        Ok(rd) => rd
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| {
                p.extension().is_some_and(|e| e == "json")
                    && !p
                        .file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with('.'))
            })
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(io(format!("listing {}", dir.display()))(e)),
    };
    names.sort();
    names.truncate(MAX_FILES_PER_DRAIN);
    if names.is_empty() {
        return Ok(0);
    }
    let mut entries = Vec::with_capacity(names.len());
    let mut taken = Vec::with_capacity(names.len());
    for p in names {
        let bytes = std::fs::read(&p).map_err(io(format!("reading {}", p.display())))?;
        if bytes.len() > ledger.max_entry_bytes()
            || serde_json::from_slice::<serde_json::Value>(&bytes).is_err()
        {
            // Kept aside for a person to look at, never appended and never retried.
            tracing::error!(file = %p.display(), "malformed ledger inbox file set aside as .bad");
            let _ = std::fs::rename(&p, p.with_extension("bad"));
            continue;
        }
        entries.push(bytes);
        taken.push(p);
    }
    let n = entries.len();
    if n > 0 {
        ledger.append(entries).await?;
    }
    for p in &taken {
        std::fs::remove_file(p).map_err(io(format!("removing {}", p.display())))?;
    }
    std::fs::File::open(&dir)
        .and_then(|d| d.sync_all())
        .map_err(io(format!("syncing {}", dir.display())))?;
    Ok(n)
}
