//! The log's identity on disk: its origin (`DATA_DIR/ledger/origin`), its signing key
//! (`log.skey`, mode 0600, never logged) and every verifier key it ever signed with
//! (`log.vkeys`, one per line, current last), so that checkpoints signed before a rotation still
//! verify.

use std::fs::OpenOptions;
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

use ensuresec_auditlog::note::{
    Ed25519Signer, KeyKind, SignerKey, generate_key, parse_signer_key, parse_verifier_key,
};

use super::{LedgerConfig, LedgerError};

/// File holding the origin line.
pub const ORIGIN_FILE: &str = "origin";
/// Default file of the log's signing key.
pub const SKEY_FILE: &str = "log.skey";
/// File listing every verifier key of the log, current last.
pub const VKEYS_FILE: &str = "log.vkeys";
/// Largest key or origin file read.
const MAX_KEY_FILE_BYTES: u64 = 4096;

/// The log directory inside a data directory.
pub fn ledger_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("ledger")
}

fn io(context: String) -> impl FnOnce(std::io::Error) -> LedgerError {
    move |source| LedgerError::Io { context, source }
}

/// Reads a small text file; `None` when it does not exist.
pub(crate) fn read_small(path: &Path) -> Result<Option<String>, LedgerError> {
    match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io(format!("reading {}", path.display()))(e)),
        Ok(m) if m.len() > MAX_KEY_FILE_BYTES => {
            return Err(LedgerError::Key(format!("{} is too large", path.display())));
        }
        Ok(_) => {}
    }
    std::fs::read_to_string(path)
        .map(Some)
        .map_err(io(format!("reading {}", path.display())))
}

/// Writes a new file with the given mode, whole or not at all; refuses to overwrite.
pub(crate) fn write_new(path: &Path, text: &str, mode: u32) -> Result<(), LedgerError> {
    Ok(ensuresec_durable::create_new(path, mode, text.as_bytes())?)
}

/// The origin: configured, else the one stored in the log directory, else a new
/// `ensuresec.local/<random id>` stored there.
pub fn origin(dir: &Path, config: &LedgerConfig) -> Result<String, LedgerError> {
    if let Some(o) = &config.origin {
        return Ok(o.clone());
    }
    let path = dir.join(ORIGIN_FILE);
    if let Some(text) = read_small(&path)? {
        return Ok(text.trim().to_owned());
    }
    let mut id = [0u8; 8];
    getrandom::fill(&mut id).map_err(|e| LedgerError::Key(format!("random source: {e}")))?;
    let origin = format!("ensuresec.local/{}", hex::encode(id));
    write_new(&path, &format!("{origin}\n"), 0o644)?;
    Ok(origin)
}

/// Where the signing key lives.
pub fn skey_path(dir: &Path, config: &LedgerConfig) -> PathBuf {
    config
        .key_file
        .clone()
        .unwrap_or_else(|| dir.join(SKEY_FILE))
}

/// The log's signing key and all its verifier keys (current last).
pub struct LogKeys {
    /// The signing key.
    pub signer: Ed25519Signer,
    /// Every verifier key the log has signed with, current last.
    pub vkeys: Vec<String>,
}

impl std::fmt::Debug for LogKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogKeys")
            .field("signer", &self.signer)
            .field("vkeys", &self.vkeys)
            .finish()
    }
}

fn parse_log_skey(path: &Path, text: &str) -> Result<Ed25519Signer, LedgerError> {
    match parse_signer_key(text) {
        Ok(SignerKey::Ed25519(s)) => Ok(s),
        Ok(SignerKey::Cosigner(_)) => Err(LedgerError::Key(format!(
            "{} is a witness cosigning key, not a log key",
            path.display()
        ))),
        Err(e) => Err(LedgerError::Key(format!("{}: {e}", path.display()))),
    }
}

/// Reads the verifier keys listed in `log.vkeys`.
pub fn read_vkeys(dir: &Path) -> Result<Vec<String>, LedgerError> {
    let path = dir.join(VKEYS_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io(format!("reading {}", path.display()))(e)),
    };
    let mut out = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        parse_verifier_key(line)
            .map_err(|e| LedgerError::Key(format!("{}: {e}", path.display())))?;
        out.push(line.to_owned());
    }
    Ok(out)
}

fn append_vkey(dir: &Path, vkey: &str) -> Result<(), LedgerError> {
    let path = dir.join(VKEYS_FILE);
    let ctx = || format!("writing {}", path.display());
    let mut f = OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o644)
        .open(&path)
        .map_err(io(ctx()))?;
    f.write_all(format!("{vkey}\n").as_bytes())
        .map_err(io(ctx()))?;
    f.sync_all().map_err(io(ctx()))?;
    Ok(ensuresec_durable::sync_dir(dir)?)
}

/// Loads the signing key, generating it (named after the origin) on first start.
pub fn load_or_create(dir: &Path, config: &LedgerConfig) -> Result<LogKeys, LedgerError> {
    let origin = origin(dir, config)?;
    let path = skey_path(dir, config);
    let signer = match read_small(&path)? {
        Some(text) => parse_log_skey(&path, &text)?,
        None => {
            let (skey, _) = generate_key(&origin, KeyKind::Ed25519)
                .map_err(|e| LedgerError::Key(e.to_string()))?;
            write_new(&path, &format!("{skey}\n"), 0o600)?;
            tracing::info!(path = %path.display(), "generated the audit log signing key");
            parse_log_skey(&path, &skey)?
        }
    };
    if ensuresec_auditlog::note::NoteSigner::name(&signer) != origin {
        return Err(LedgerError::Key(format!(
            "the log key is named {:?} but the origin is {origin:?}; keys are named after the origin",
            ensuresec_auditlog::note::NoteSigner::name(&signer)
        )));
    }
    let mut vkeys = read_vkeys(dir)?;
    let current = signer.vkey();
    if vkeys.last() != Some(&current) {
        append_vkey(dir, &current)?;
        vkeys.retain(|v| v != &current);
        vkeys.push(current);
    }
    Ok(LogKeys { signer, vkeys })
}

/// Replaces the signing key with a new one (same name, new key ID). The old secret is deleted;
/// its verifier key stays in `log.vkeys` so that old checkpoints still verify. Returns the old
/// and new verifier keys. The server must not be running (it holds the key in memory).
pub fn rotate(dir: &Path, config: &LedgerConfig) -> Result<(String, String), LedgerError> {
    let old = load_or_create(dir, config)?;
    let origin = origin(dir, config)?;
    let path = skey_path(dir, config);
    let (skey, vkey) =
        generate_key(&origin, KeyKind::Ed25519).map_err(|e| LedgerError::Key(e.to_string()))?;
    // The new verifier key is listed before the new key is in place: a crash in between leaves
    // an unused vkey listed, never a signing key whose vkey is unknown.
    append_vkey(dir, &vkey)?;
    ensuresec_durable::replace(&path, 0o600, format!("{skey}\n").as_bytes())?;
    Ok((old.signer.vkey(), vkey))
}
