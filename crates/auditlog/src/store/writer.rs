//! The single writer thread: collects appends into batches (closed by size or by the linger
//! time), writes them, makes them durable with one `fdatasync`, publishes the new tree, and only
//! then acknowledges them.

use std::ops::Range;
use std::os::unix::fs::FileExt as _;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, TryRecvError};
use std::time::Instant;

use crate::hash::leaf_hash;

use super::ack::AckSender;
use super::derive::{Deriver, LevelBuf, LevelFiles};
use super::layout::Derived;
use super::nodes::Shared;
use super::record::{self, HEADER};
use super::{AppendError, LogConfig, StoreError};

/// One request to the writer.
pub(crate) enum Request {
    /// Append one entry; resolves with its index.
    One(Vec<u8>, AckSender<u64>),
    /// Append several entries contiguously; resolves with their index range.
    Many(Vec<Vec<u8>>, AckSender<Range<u64>>),
}

impl Request {
    fn entries(&self) -> usize {
        match self {
            Request::One(..) => 1,
            Request::Many(v, _) => v.len(),
        }
    }

    fn bytes(&self) -> usize {
        match self {
            Request::One(d, _) => d.len() + HEADER,
            Request::Many(v, _) => v.iter().map(|d| d.len() + HEADER).sum(),
        }
    }

    fn fail(self, err: AppendError) {
        match self {
            Request::One(_, ack) => ack.send(Err(err)),
            Request::Many(_, ack) => ack.send(Err(err)),
        }
    }
}

/// The writer thread's own state.
pub(crate) struct Writer {
    pub shared: Arc<Shared>,
    pub config: LogConfig,
    pub deriver: Deriver,
    pub files: LevelFiles,
    pub entries_end: u64,
    pub synced: Derived,
    pub buf: Vec<u8>,
    pub kept: Vec<(u8, LevelBuf)>,
}

impl Writer {
    /// Runs until every sender is gone, then syncs the derived files.
    pub(crate) fn run(mut self, rx: Receiver<Request>) {
        let mut batch: Vec<Request> = Vec::new();
        while let Ok(first) = rx.recv() {
            let deadline = Instant::now() + self.config.batch_linger;
            let (mut entries, mut bytes) = (first.entries(), first.bytes());
            batch.push(first);
            while entries < self.config.max_batch_entries && bytes < self.config.max_batch_bytes {
                let next = match rx.try_recv() {
                    Ok(r) => r,
                    Err(TryRecvError::Disconnected) => break,
                    Err(TryRecvError::Empty) => {
                        let now = Instant::now();
                        if now >= deadline {
                            break;
                        }
                        match rx.recv_timeout(deadline - now) {
                            Ok(r) => r,
                            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => {
                                break;
                            }
                        }
                    }
                };
                entries += next.entries();
                bytes += next.bytes();
                batch.push(next);
            }
            self.commit(&mut batch);
        }
        if self.shared.failure().is_none()
            && let Err(e) = self.sync_derived()
        {
            self.shared
                .fail(format!("syncing derived files at shutdown: {e}"));
        }
    }

    /// Commits one batch and resolves its acks.
    fn commit(&mut self, batch: &mut Vec<Request>) {
        if let Some(msg) = self.shared.failure() {
            for r in batch.drain(..) {
                r.fail(AppendError::Failed(msg.clone()));
            }
            return;
        }
        let first_index = self.deriver.frontier.size();
        match self.write_batch(batch) {
            Ok(()) => {}
            Err(e) => {
                let msg = e.to_string();
                self.shared.fail(msg.clone());
                for r in batch.drain(..) {
                    r.fail(AppendError::Failed(msg.clone()));
                }
                return;
            }
        }
        let mut next = first_index;
        for r in batch.drain(..) {
            match r {
                Request::One(_, ack) => {
                    ack.send(Ok(next));
                    next += 1;
                }
                Request::Many(v, ack) => {
                    let end = next + v.len() as u64;
                    ack.send(Ok(next..end));
                    next = end;
                }
            }
        }
        if self.deriver.frontier.size() - self.synced.size >= self.config.derived_sync_entries
            && let Err(e) = self.sync_derived()
        {
            self.shared.fail(format!("syncing derived files: {e}"));
        }
    }

    /// Writes, syncs and publishes one batch.
    fn write_batch(&mut self, batch: &[Request]) -> Result<(), StoreError> {
        self.buf.clear();
        let mut offset = self.entries_end;
        let mut add = |data: &[u8], buf: &mut Vec<u8>, deriver: &mut Deriver| {
            deriver.add(offset, leaf_hash(data));
            record::encode(data, buf);
            offset += (HEADER + data.len()) as u64;
        };
        for r in batch {
            match r {
                Request::One(d, _) => add(d, &mut self.buf, &mut self.deriver),
                Request::Many(v, _) => {
                    for d in v {
                        add(d, &mut self.buf, &mut self.deriver);
                    }
                }
            }
        }
        let shared = &self.shared;
        shared
            .entries
            .write_all_at(&self.buf, self.entries_end)
            .map_err(super::io("writing entries.log"))?;
        self.deriver.flush(
            &mut self.files,
            &shared.index,
            shared.memory_level,
            &mut self.kept,
        )?;
        shared
            .entries
            .sync_data()
            .map_err(super::io("syncing entries.log"))?;
        self.entries_end = offset;
        let edge = self.deriver.frontier.right_edge();
        let mut state = shared.write();
        for (level, buf) in self.kept.drain(..) {
            let k = usize::from(level - shared.memory_level);
            while state.high.len() <= k {
                state.high.push(Vec::new());
            }
            state.high[k].extend_from_slice(&buf.hashes);
        }
        state.size = self.deriver.frontier.size();
        state.entries_end = offset;
        state.edge = edge;
        Ok(())
    }

    /// Syncs the derived files and advances the watermark.
    fn sync_derived(&mut self) -> Result<(), StoreError> {
        self.shared
            .index
            .sync_data()
            .map_err(super::io("syncing index.bin"))?;
        self.files.sync()?;
        let d = Derived {
            size: self.deriver.frontier.size(),
            entries_end: self.entries_end,
        };
        d.store(&self.shared.dir)
            .map_err(super::io("writing derived.json"))?;
        self.synced = d;
        Ok(())
    }
}
