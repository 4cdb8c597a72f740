//! Journals of the states `serve` keeps in files (the feature state, the ring graph). A state
//! file is written every `save_state_secs`; in between, every change to the state is appended
//! to its journal and synced every few milliseconds, so that a crash (a `kill -9`, a power
//! cut) loses those milliseconds, not everything since the last state file: a card-testing
//! burst split around a crash is still seen, a ring half built before it is still whole.
//!
//! - [`Journaled`]: what a state says of its journal (its files' first bytes, how its records
//!   are framed) and how it takes a record again;
//! - [`Pending`]: the records a state made since they were last taken, bounded in memory;
//! - `file.rs`: the journal files on disk ([`Journal`], [`replay_file`]);
//! - `keeper.rs`: the steps every kept state goes through to be saved and flushed
//!   ([`Keeper`]).

mod file;
mod keeper;

pub use file::{FileReplay, Journal, Replayed, is_journal, replay_file, replay_files, retire};
pub use keeper::{Keeper, Kept};

use std::path::Path;

use crate::error::FileError;

/// The state kept at `path`, read by `read` (given the file's name, for its errors), or
/// `new()` when there is no file yet (the first start); a file that cannot be opened is an
/// error naming it. How every kept state is read back, at start and for a write made from
/// its last file and its journal ([`Keeper::save_either`]).
pub(crate) fn read_or_new<S>(
    path: &Path,
    read: impl FnOnce(&str, std::fs::File) -> Result<S, FileError>,
    new: impl FnOnce() -> S,
) -> Result<S, FileError> {
    let name = path.display().to_string();
    match std::fs::File::open(path) {
        Ok(file) => read(&name, file),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(new()),
        Err(e) => Err(FileError::new(name, e.to_string())),
    }
}

/// Most bytes of records waiting to be written (about 880,000 payments of the feature state,
/// seconds of the highest scoring rate): past it, while the disk does not keep up, new records
/// are dropped and counted rather than letting memory grow without bound.
pub const MAX_PENDING_BYTES: usize = 64 << 20;

/// Most bytes of one record of a journal whose records vary in length: a longer one is dropped
/// and counted when it is made, and refused when it is read.
pub const MAX_RECORD_BYTES: usize = 1 << 16;

/// How a journal's records are laid out on disk; each is followed by an 8-byte check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frame {
    /// Every record has this many bytes.
    Fixed(usize),
    /// Every record is preceded by its length (4 bytes, at most [`MAX_RECORD_BYTES`]).
    Prefixed,
}

/// A state that keeps a journal: the journal files' first bytes and framing, the first file
/// that continues the state as it was read from its file, and how one record is taken again.
pub trait Journaled {
    /// First bytes of every journal file of this state (which also tell the states apart).
    const MAGIC: &'static [u8; 24];
    /// How its records are framed.
    const FRAME: Frame;
    /// The number of the first journal file that continues this state (0 for a new one).
    fn journal_from(&self) -> u64;
    /// Takes one record again (a replay after a crash) as it was taken when it was made; a
    /// record the state never makes is refused, naming what is wrong.
    fn replay(&mut self, record: &[u8]) -> Result<(), String>;
    /// Where the state keeps its records until they are taken: `None` while it keeps none.
    fn journal_pending(&mut self) -> &mut Option<Pending>;

    /// Starts keeping a record of every change from now on, for [`Journaled::take_journal`].
    fn start_journal(&mut self) {
        self.journal_pending().get_or_insert_with(Pending::default);
    }

    /// Moves the records made since the last call to the end of `into`; returns how many were
    /// dropped meanwhile because too many were waiting ([`MAX_PENDING_BYTES`]) or one was
    /// too long.
    fn take_journal(&mut self, into: &mut Pending) -> u64 {
        self.journal_pending()
            .as_mut()
            .map_or(0, |pending| pending.take_into(into))
    }
}

/// The records a state made since the journal writer last took them, each preceded by its
/// length, and how many were dropped because too many were waiting.
#[derive(Debug, Clone, Default)]
pub struct Pending {
    bytes: Vec<u8>,
    records: u64,
    dropped: u64,
}

impl Pending {
    /// Keeps `record`, or drops and counts it when it is longer than [`MAX_RECORD_BYTES`] or
    /// would take the records waiting past [`MAX_PENDING_BYTES`].
    pub fn push(&mut self, record: &[u8]) {
        if record.len() > MAX_RECORD_BYTES
            || self.bytes.len() + 4 + record.len() > MAX_PENDING_BYTES
        {
            self.dropped += 1;
            return;
        }
        self.bytes
            .extend_from_slice(&(record.len() as u32).to_le_bytes());
        self.bytes.extend_from_slice(record);
        self.records += 1;
    }

    /// Moves the records of `self` to the end of `into`; returns how many were dropped since
    /// the last call.
    pub fn take_into(&mut self, into: &mut Pending) -> u64 {
        if into.bytes.is_empty() {
            // The common case: hand over the buffer and keep the caller's (empty) one.
            std::mem::swap(&mut into.bytes, &mut self.bytes);
        } else {
            into.bytes.append(&mut self.bytes);
        }
        into.records += std::mem::take(&mut self.records);
        std::mem::take(&mut self.dropped)
    }

    /// Records waiting.
    pub fn len(&self) -> u64 {
        self.records
    }

    /// Whether none is waiting.
    pub fn is_empty(&self) -> bool {
        self.records == 0
    }

    /// The records, oldest first.
    pub fn records(&self) -> impl Iterator<Item = &[u8]> {
        let mut rest = self.bytes.as_slice();
        std::iter::from_fn(move || {
            let (len, tail) = rest.split_first_chunk::<4>()?;
            let (record, after) = tail.split_at(u32::from_le_bytes(*len) as usize);
            rest = after;
            Some(record)
        })
    }

    /// Forgets the records waiting (written, or lost with a failed write).
    fn clear(&mut self) {
        self.bytes.clear();
        self.records = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_come_back_in_order_and_whole() {
        let mut made = Pending::default();
        made.push(b"first");
        made.push(b"");
        made.push(&[7; 300]);
        let mut taken = Pending::default();
        taken.push(b"earlier");
        assert_eq!(made.take_into(&mut taken), 0);
        let back: Vec<&[u8]> = taken.records().collect();
        assert_eq!(back, [&b"earlier"[..], b"first", b"", &[7; 300]]);
        assert_eq!((taken.len(), made.len()), (4, 0));
        assert!(made.records().next().is_none());
    }

    #[test]
    fn records_past_the_ceilings_are_dropped_and_counted() {
        let mut pending = Pending::default();
        pending.push(&vec![0; MAX_RECORD_BYTES + 1]);
        let record = [1u8; 1020];
        let fit = MAX_PENDING_BYTES / (4 + record.len());
        for _ in 0..fit + 3 {
            pending.push(&record);
        }
        assert_eq!(pending.len(), fit as u64);
        let mut into = Pending::default();
        assert_eq!(
            pending.take_into(&mut into),
            4,
            "the long one and three late ones"
        );
        assert_eq!(pending.take_into(&mut into), 0, "counted once");
    }
}
