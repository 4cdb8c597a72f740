//! The audit log wired into the platform: opening `DATA_DIR/ledger/` with its keys, appending
//! records (the pipeline's [`LedgerRecorder`], the inbox of CLI records, the configuration at
//! start), publishing signed checkpoints and collecting witness cosignatures, and building
//! receipts. The log itself is `ensuresec-auditlog`; this module knows nothing about HTTP.

mod config;
pub mod inbox;
pub mod keys;
pub mod record;
pub mod witness_http;
mod witnesses;

use schemars::JsonSchema;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use ensuresec_auditlog::checkpoint::Checkpoint;
use ensuresec_auditlog::note::{Ed25519Signer, Note, VerifierSet, parse_verifier_key};
use ensuresec_auditlog::receipt::{Receipt, ReceiptError};
use ensuresec_auditlog::witness::WitnessPolicy;
use ensuresec_auditlog::{AppendError, Log, LogConfig, LogReader, StoreError};
use ensuresec_model::Clock;

pub use config::{LedgerConfig, WitnessEndpoint};
pub use record::{LedgerRecorder, RecordKind};
pub use witnesses::WitnessOutcome;

/// Why the audit log failed.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// A file operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The failure.
        source: std::io::Error,
    },
    /// A key, the origin or an inbox record could not be written whole.
    #[error(transparent)]
    Write(#[from] ensuresec_durable::WriteError),
    /// A key or origin is unusable.
    #[error("ledger key: {0}")]
    Key(String),
    /// The log store failed.
    #[error("ledger: {0}")]
    Store(#[from] StoreError),
    /// An append was not acknowledged.
    #[error("ledger append: {0}")]
    Append(#[from] AppendError),
    /// A receipt could not be built.
    #[error("ledger receipt: {0}")]
    Receipt(#[from] ReceiptError),
    /// Something asked for is not in the log (yet).
    #[error("{0}")]
    NotFound(String),
    /// A blocking task failed.
    #[error("ledger task: {0}")]
    Task(String),
}

/// What one publication did.
#[derive(Debug, Clone, serde::Serialize, JsonSchema)]
pub struct Publication {
    /// The checkpoint's tree size.
    pub size: u64,
    /// Whether a new checkpoint was signed (false when the tree had not grown).
    pub new: bool,
    /// The latest checkpoint, with the cosignatures collected.
    pub checkpoint: String,
    /// Whether it meets the witness policy (true without witnesses).
    pub counts: bool,
    /// Each witness's answer.
    pub witnesses: Vec<WitnessOutcome>,
}

/// The running audit log.
pub struct Ledger {
    log: Log,
    reader: LogReader,
    signer: Ed25519Signer,
    origin: String,
    vkeys: Vec<String>,
    log_keys: VerifierSet,
    witnesses: witnesses::Witnesses,
    policy: Option<WitnessPolicy>,
    cosigned: Mutex<Option<Note>>,
    publishing: tokio::sync::Mutex<()>,
    clock: Arc<dyn Clock>,
    data_dir: PathBuf,
    max_entry_bytes: usize,
}

impl std::fmt::Debug for Ledger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ledger")
            .field("origin", &self.origin)
            .field("size", &self.reader.size())
            .finish_non_exhaustive()
    }
}

impl Ledger {
    /// Opens (or creates) the log in `DATA_DIR/ledger/`, recovering from any crash, with its
    /// keys (generated on first start).
    pub fn open(
        data_dir: &Path,
        config: &LedgerConfig,
        clock: Arc<dyn Clock>,
    ) -> Result<Ledger, LedgerError> {
        let dir = keys::ledger_dir(data_dir);
        std::fs::create_dir_all(&dir).map_err(|source| LedgerError::Io {
            context: format!("creating {}", dir.display()),
            source,
        })?;
        let origin = keys::origin(&dir, config)?;
        let keys = keys::load_or_create(&dir, config)?;
        let log_config = LogConfig::default();
        let max_entry_bytes = log_config.max_entry_bytes;
        let log = Log::open(&dir, log_config)?;
        let mut log_keys = VerifierSet::new(Vec::new());
        for v in &keys.vkeys {
            log_keys.push(parse_verifier_key(v).map_err(|e| LedgerError::Key(e.to_string()))?);
        }
        let witnesses = witnesses::Witnesses::new(config)?;
        let policy = if witnesses.is_empty() {
            None
        } else {
            Some(
                WitnessPolicy::new(witnesses.verifiers(), config.threshold())
                    .map_err(|e| LedgerError::Key(e.to_string()))?,
            )
        };
        let latest = log.latest_checkpoint();
        let cosigned = match (&policy, latest) {
            (Some(p), Some(n)) if p.check(&n).is_ok() => Some(n),
            (None, Some(n)) => Some(n),
            _ => None,
        };
        Ok(Ledger {
            reader: log.reader(),
            log,
            signer: keys.signer,
            origin,
            vkeys: keys.vkeys,
            log_keys,
            witnesses,
            policy,
            cosigned: Mutex::new(cosigned),
            publishing: tokio::sync::Mutex::new(()),
            clock,
            data_dir: data_dir.to_owned(),
            max_entry_bytes,
        })
    }

    /// The log's origin line.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Every verifier key of the log, current last.
    pub fn vkeys(&self) -> &[String] {
        &self.vkeys
    }

    /// The current verifier key.
    pub fn vkey(&self) -> String {
        self.signer.vkey()
    }

    /// Read access: entries, proofs, tiles.
    pub fn reader(&self) -> &LogReader {
        &self.reader
    }

    /// Largest entry accepted.
    pub fn max_entry_bytes(&self) -> usize {
        self.max_entry_bytes
    }

    /// Wall time, from the platform's clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Appends entries and waits until they are durable; returns their leaf indexes. Entries go
    /// in one `append_many` (split only when they exceed one batch's byte limit).
    pub async fn append(&self, entries: Vec<Vec<u8>>) -> Result<Vec<u64>, LedgerError> {
        const CHUNK_BYTES: usize = 4 << 20;
        let mut out = Vec::with_capacity(entries.len());
        let mut chunk = Vec::new();
        let mut bytes = 0;
        let mut acks = Vec::new();
        for e in entries {
            if bytes + e.len() + 16 > CHUNK_BYTES && !chunk.is_empty() {
                acks.push(self.log.append_many(std::mem::take(&mut chunk))?);
                bytes = 0;
            }
            bytes += e.len() + 16;
            chunk.push(e);
        }
        if !chunk.is_empty() {
            acks.push(self.log.append_many(chunk)?);
        }
        for ack in acks {
            let range: Range<u64> = ack.await?;
            out.extend(range);
        }
        Ok(out)
    }

    /// Appends one record and waits until it is durable; returns its leaf index.
    pub async fn record(
        &self,
        kind: RecordKind,
        value: &impl serde::Serialize,
    ) -> Result<u64, LedgerError> {
        let v = self.append(vec![self.entry(kind, value)?]).await?;
        v.first()
            .copied()
            .ok_or_else(|| LedgerError::Task("append returned no index".into()))
    }

    /// Queues one record without waiting for it to be durable: it takes its place in the log
    /// now and becomes durable at the writer's next group commit (an `fdatasync`, which costs
    /// milliseconds on some disks); a failure then is logged. For answers whose latency matters more than
    /// that window — opt-in only (`[identity] audit_wait = false`).
    pub fn record_queued(
        &self,
        kind: RecordKind,
        value: &impl serde::Serialize,
    ) -> Result<(), LedgerError> {
        let ack = self.log.append(self.entry(kind, value)?)?;
        tokio::spawn(async move {
            if let Err(e) = ack.await {
                tracing::error!(error = %e, record = kind.as_str(), "queued audit record was not stored");
            }
        });
        Ok(())
    }

    /// Appends one record from synchronous code (a recovery run's audit sink) and waits until
    /// it is durable; returns its leaf index.
    pub fn record_blocking(
        &self,
        kind: RecordKind,
        value: &impl serde::Serialize,
    ) -> Result<u64, LedgerError> {
        Ok(self.log.append_blocking(self.entry(kind, value)?)?)
    }

    /// One record as a log entry, stamped now.
    fn entry(
        &self,
        kind: RecordKind,
        value: &impl serde::Serialize,
    ) -> Result<Vec<u8>, LedgerError> {
        record::entry(kind, self.now(), value, self.max_entry_bytes)
            .map_err(|e| LedgerError::Key(e.to_string()))
    }

    /// The latest signed checkpoint, with whatever cosignatures were collected.
    pub fn latest_checkpoint(&self) -> Option<Note> {
        self.log.latest_checkpoint()
    }

    /// The latest checkpoint that meets the witness policy (the latest one without witnesses).
    pub fn cosigned_checkpoint(&self) -> Option<Note> {
        self.cosigned
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Appends pending inbox records, then signs a checkpoint if the tree grew since the last
    /// one, sends it to the witnesses and keeps their cosignatures.
    pub async fn publish(self: &Arc<Self>) -> Result<Publication, LedgerError> {
        let _one_at_a_time = self.publishing.lock().await;
        inbox::drain(self, &self.data_dir).await?;
        let size = self.reader.size();
        let latest = self.latest_checkpoint();
        let latest_size = latest
            .as_ref()
            .and_then(|n| Checkpoint::parse(&n.text).ok())
            .map(|c| c.size);
        let grew = latest_size != Some(size);
        let note = if grew {
            let me = self.clone();
            tokio::task::spawn_blocking(move || me.log.publish_checkpoint(&me.origin, &me.signer))
                .await
                .map_err(|e| LedgerError::Task(e.to_string()))??
        } else {
            latest.ok_or_else(|| LedgerError::NotFound("no checkpoint".into()))?
        };
        let mut outcomes = Vec::new();
        let mut note = note;
        let already = self.policy.as_ref().is_none_or(|p| p.check(&note).is_ok());
        if !self.witnesses.is_empty() && !already {
            // Witnesses see the log's own signature only.
            let mut bare = note.clone();
            bare.signatures
                .retain(|s| self.log_keys.find(&s.name, s.key_id).is_some());
            let (sigs, o) = self.witnesses.collect(&self.reader, &bare).await;
            outcomes = o;
            if !sigs.is_empty() {
                let me = self.clone();
                note = tokio::task::spawn_blocking(move || me.log.add_cosignatures(sigs))
                    .await
                    .map_err(|e| LedgerError::Task(e.to_string()))??;
            }
        }
        // Appends go on while publishing: the signed size can exceed the one read above.
        let size = Checkpoint::parse(&note.text).map_or(size, |c| c.size);
        let counts = self.policy.as_ref().is_none_or(|p| p.check(&note).is_ok());
        if counts {
            *self.cosigned.lock().unwrap_or_else(|e| e.into_inner()) = Some(note.clone());
        }
        if grew {
            tracing::info!(size, counts, "published audit log checkpoint");
        }
        Ok(Publication {
            size,
            new: grew,
            checkpoint: note.to_string(),
            counts,
            witnesses: outcomes,
        })
    }

    /// The receipt of entry `index`: against the latest counting (cosigned) checkpoint that
    /// covers it, else the latest signed one, publishing one first if none covers it yet.
    pub async fn receipt(self: &Arc<Self>, index: u64) -> Result<Receipt, LedgerError> {
        if index >= self.reader.size() {
            return Err(LedgerError::NotFound(format!("ledger entry {index}")));
        }
        let covers = |n: &Note| Checkpoint::parse(&n.text).is_ok_and(|c| c.size > index);
        let note = match self.cosigned_checkpoint().filter(covers) {
            Some(n) => n,
            None => match self.latest_checkpoint().filter(covers) {
                Some(n) => n,
                None => {
                    self.publish().await?;
                    self.latest_checkpoint().filter(covers).ok_or_else(|| {
                        LedgerError::NotFound(format!("checkpoint covering {index}"))
                    })?
                }
            },
        };
        Ok(Receipt::build(&self.reader, index, &note)?)
    }

    /// Publishes a checkpoint every `interval` while the process runs; errors are logged.
    pub async fn run_publisher(self: Arc<Self>, interval: std::time::Duration) {
        let mut every = tokio::time::interval(interval);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            if let Err(e) = self.publish().await {
                tracing::error!(error = %e, "audit log checkpoint failed");
            }
        }
    }
}
