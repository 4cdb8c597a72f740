//! The `Log` handle: opens and recovers a directory, starts the writer thread, takes appends,
//! and publishes signed checkpoints.

use std::ops::Range;
use std::path::Path;
use std::sync::mpsc::{SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use crate::checkpoint::Checkpoint;
use crate::merkle::tree_root;
use crate::note::{Note, NoteSignature, NoteSigner};

use super::ack::{self, Ack};
use super::checkpoints::CheckpointStore;
use super::nodes::{NodeView, Shared};
use super::reader::LogReader;
use super::record::HEADER;
use super::writer::Request;
use super::{AppendError, LogConfig, StoreError, recovery};

/// An open, writable log. Appends may come from many threads (`&Log` is `Sync`); one writer
/// thread commits them. Dropping the log stops the writer after the queued appends.
#[derive(Debug)]
pub struct Log {
    shared: Arc<Shared>,
    tx: Option<SyncSender<Request>>,
    writer: Option<JoinHandle<()>>,
    checkpoints: Mutex<CheckpointStore>,
    max_request_bytes: usize,
    _lock: ensuresec_durable::Lock,
}

impl Log {
    /// Opens the log in `dir` (creating it if needed), recovering from any crash: a torn tail is
    /// truncated, derived files are rebuilt past their synced watermark, and the latest stored
    /// checkpoint must match the recovered tree.
    pub fn open(dir: impl AsRef<Path>, config: LogConfig) -> Result<Self, StoreError> {
        let dir = dir.as_ref();
        let opened = recovery::open(dir, &config)?;
        let checkpoints = CheckpointStore::open(dir)?;
        if let Some((cp, _)) = checkpoints.latest() {
            let state = opened.shared.read();
            if cp.size > state.size {
                return Err(StoreError::CheckpointMismatch {
                    size: cp.size,
                    reason: format!(
                        "log has only {} entries: acknowledged entries are missing",
                        state.size
                    ),
                });
            }
            let view = NodeView::new(&opened.shared, &state);
            if tree_root(&view, cp.size)? != cp.root {
                return Err(StoreError::CheckpointMismatch {
                    size: cp.size,
                    reason: "root hash differs: stored entries were altered".into(),
                });
            }
        }
        let (tx, rx) = sync_channel(config.queue_capacity.max(1));
        let writer = opened.writer;
        let handle = std::thread::Builder::new()
            .name("auditlog-writer".into())
            .spawn(move || writer.run(rx))
            .map_err(super::io("starting the writer thread"))?;
        Ok(Self {
            shared: opened.shared,
            tx: Some(tx),
            writer: Some(handle),
            checkpoints: Mutex::new(checkpoints),
            max_request_bytes: config.max_batch_bytes,
            _lock: opened.lock,
        })
    }

    fn send(&self, req: Request) -> Result<(), AppendError> {
        if let Some(msg) = self.shared.failure() {
            return Err(AppendError::Failed(msg));
        }
        let tx = self.tx.as_ref().ok_or(AppendError::Closed)?;
        tx.send(req).map_err(|_| AppendError::Closed)
    }

    /// Queues one entry; the returned [`Ack`] resolves with its leaf index once it is durable.
    /// Blocks only when the queue is full (back-pressure).
    pub fn append(&self, entry: Vec<u8>) -> Result<Ack<u64>, AppendError> {
        if entry.len() > self.shared.max_entry_bytes {
            return Err(AppendError::TooLarge {
                len: entry.len(),
                max: self.shared.max_entry_bytes,
            });
        }
        let (tx, ack) = ack::channel();
        self.send(Request::One(entry, tx))?;
        Ok(ack)
    }

    /// Appends one entry and waits until it is durable; returns its leaf index.
    pub fn append_blocking(&self, entry: Vec<u8>) -> Result<u64, AppendError> {
        self.append(entry)?.wait()
    }

    /// Queues several entries to be stored contiguously; the ack resolves with their index range.
    /// Their total size (with framing) must fit one batch.
    pub fn append_many(&self, entries: Vec<Vec<u8>>) -> Result<Ack<Range<u64>>, AppendError> {
        let mut total = 0usize;
        for e in &entries {
            if e.len() > self.shared.max_entry_bytes {
                return Err(AppendError::TooLarge {
                    len: e.len(),
                    max: self.shared.max_entry_bytes,
                });
            }
            total += e.len() + HEADER;
        }
        if total > self.max_request_bytes {
            return Err(AppendError::TooLarge {
                len: total,
                max: self.max_request_bytes,
            });
        }
        let (tx, ack) = ack::channel();
        self.send(Request::Many(entries, tx))?;
        Ok(ack)
    }

    /// A cheap, cloneable read handle (entries, roots, proofs, tiles).
    pub fn reader(&self) -> LogReader {
        LogReader::new(self.shared.clone())
    }

    /// Signs a checkpoint of the current durable tree with the log key and stores it durably in
    /// the checkpoint history. Refuses to sign a tree smaller than the latest stored checkpoint.
    pub fn publish_checkpoint(
        &self,
        origin: &str,
        signer: &dyn NoteSigner,
    ) -> Result<Note, StoreError> {
        let mut store = self.checkpoints.lock().unwrap_or_else(|e| e.into_inner());
        let (size, root) = {
            let s = self.shared.read();
            (s.size, s.root())
        };
        if let Some((latest, _)) = store.latest()
            && (latest.size > size || (latest.size == size && latest.root != root))
        {
            return Err(StoreError::CheckpointMismatch {
                size: latest.size,
                reason: "signing a smaller or different tree would fork the log".into(),
            });
        }
        let cp = Checkpoint::new(origin, size, root);
        let note = cp.sign(&[signer])?;
        store.append(cp, note.clone())?;
        Ok(note)
    }

    /// Adds cosignatures (from witnesses) to the latest checkpoint and stores the result. The
    /// caller verifies them (see [`crate::witness::WitnessPolicy`]).
    pub fn add_cosignatures(&self, cosignatures: Vec<NoteSignature>) -> Result<Note, StoreError> {
        let mut store = self.checkpoints.lock().unwrap_or_else(|e| e.into_inner());
        let (cp, mut note) = store
            .latest()
            .cloned()
            .ok_or_else(|| StoreError::OutOfRange {
                what: "a checkpoint to cosign".into(),
                size: 0,
            })?;
        for sig in cosignatures {
            note.add_signature(sig);
        }
        store.append(cp, note.clone())?;
        Ok(note)
    }

    /// The latest stored signed checkpoint (with any cosignatures collected), if any.
    pub fn latest_checkpoint(&self) -> Option<Note> {
        let store = self.checkpoints.lock().unwrap_or_else(|e| e.into_inner());
        store.latest().map(|(_, n)| n.clone())
    }

    /// Stops the writer after the queued appends, syncs the derived files, and reports a storage
    /// failure if one happened.
    pub fn close(mut self) -> Result<(), StoreError> {
        self.stop();
        match self.shared.failure() {
            Some(msg) => Err(StoreError::Append(AppendError::Failed(msg))),
            None => Ok(()),
        }
    }

    fn stop(&mut self) {
        self.tx = None;
        if let Some(h) = self.writer.take()
            && h.join().is_err()
        {
            self.shared.fail("writer thread panicked".into());
        }
    }
}

impl Drop for Log {
    fn drop(&mut self) {
        self.stop();
    }
}
