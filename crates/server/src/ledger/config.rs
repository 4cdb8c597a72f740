//! `[ledger]`: the tamper-evident audit log's configuration.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// `[ledger]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LedgerConfig {
    /// Record alerts, incidents, actions, token changes and the configuration to the audit log
    /// in `DATA_DIR/ledger/`.
    pub enabled: bool,
    /// How often a signed checkpoint is published when the log grew, in seconds.
    pub checkpoint_interval_seconds: u64,
    /// The log's origin line; default `ensuresec.local/<id>` with a random id made on first start
    /// and kept in `DATA_DIR/ledger/origin`.
    pub origin: Option<String>,
    /// The log's signing key (`PRIVATE+KEY+…`); default `DATA_DIR/ledger/log.skey`, generated on
    /// first start with mode 0600.
    pub key_file: Option<PathBuf>,
    /// Serve checkpoints, tiles, proofs and receipts without a token (transparency logs are
    /// usually public); entries and everything else still need the `read` scope.
    pub public_read: bool,
    /// Witnesses that each new checkpoint is sent to for cosigning.
    pub witnesses: Vec<WitnessEndpoint>,
    /// How many witnesses must cosign before a checkpoint counts (k of n); 0 means all of them.
    pub policy: usize,
    /// Seconds allowed for one witness request.
    pub witness_timeout_seconds: u64,
}

impl Default for LedgerConfig {
    fn default() -> Self {
        LedgerConfig {
            enabled: true,
            checkpoint_interval_seconds: 10,
            origin: None,
            key_file: None,
            public_read: false,
            witnesses: Vec::new(),
            policy: 0,
            witness_timeout_seconds: 10,
        }
    }
}

/// `[[ledger.witnesses]]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WitnessEndpoint {
    /// Base URL; checkpoints go to `<url>/add-checkpoint`.
    pub url: String,
    /// The witness's cosignature verifier key (`name+id+base64`).
    pub vkey: String,
}

impl LedgerConfig {
    /// Checks what serde cannot; names the bad key.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        if self.checkpoint_interval_seconds == 0 {
            return Err((
                "ledger.checkpoint_interval_seconds",
                "must be positive".into(),
            ));
        }
        if self.witness_timeout_seconds == 0 {
            return Err(("ledger.witness_timeout_seconds", "must be positive".into()));
        }
        if let Some(origin) = &self.origin
            && (origin.is_empty() || origin.len() > 256 || origin.chars().any(char::is_whitespace))
        {
            return Err((
                "ledger.origin",
                "must be one non-empty line without spaces (at most 256 bytes)".into(),
            ));
        }
        if self.policy > self.witnesses.len() {
            return Err((
                "ledger.policy",
                format!(
                    "needs {} cosignatures but only {} witnesses are configured",
                    self.policy,
                    self.witnesses.len()
                ),
            ));
        }
        for w in &self.witnesses {
            if !(w.url.starts_with("http://") || w.url.starts_with("https://")) {
                return Err((
                    "ledger.witnesses.url",
                    format!("`{}` is not an http(s) URL", w.url),
                ));
            }
            if let Err(e) = ensuresec_auditlog::note::parse_verifier_key(&w.vkey) {
                return Err(("ledger.witnesses.vkey", e.to_string()));
            }
        }
        Ok(())
    }

    /// The number of cosignatures a checkpoint needs (0 without witnesses).
    pub fn threshold(&self) -> usize {
        match self.policy {
            0 => self.witnesses.len(),
            k => k,
        }
    }
}
