//! The steps by which a state kept in a file goes to disk, the same for the feature state and
//! the ring graph: its journal flushed every few milliseconds, and the state written whole now
//! and then, starting a new journal file under the state's lock so that the files before it
//! can go once the state file is synced.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use super::{Journal, Journaled, Pending, Replayed, retire};
use crate::error::FileError;

/// A state's file and, when it is journaled, its journal, with the counts operators see.
#[derive(Debug)]
pub struct Keeper {
    path: PathBuf,
    /// Taken before the state's own lock whenever both are: the journal's writes stay in the
    /// order the state made its records.
    journal: Option<Mutex<Journal>>,
    /// Held through a whole write of the state: two at once (the timer's and the journal's
    /// size's) could rename the older copy over the newer after its journal files are gone.
    /// Without a journal it also holds the number the next write names.
    saving: Mutex<u64>,
    replayed: Replayed,
    journaled: AtomicU64,
    dropped: AtomicU64,
}

impl Keeper {
    /// The keeper of `state`, just read back from `path` (or new). With `journal`, the
    /// journal files that continue it are taken again into it, a new one is started, and the
    /// state keeps a record of every change from now on, for [`Keeper::flush`].
    pub fn open<S: Journaled>(
        path: &Path,
        journal: bool,
        state: &mut S,
    ) -> Result<Keeper, FileError> {
        let (journal, replayed) = if journal {
            let (opened, replayed) = Journal::open(path, state)?;
            state.start_journal();
            (Some(Mutex::new(opened)), replayed)
        } else {
            (None, Replayed::default())
        };
        Ok(Keeper {
            path: path.to_path_buf(),
            journal,
            saving: Mutex::new(state.journal_from()),
            replayed,
            journaled: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
        })
    }

    /// The state's file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes the state whole. `copy` runs while the journal is held: it takes the state's
    /// lock only to copy the state and to move its records into the pending records it is
    /// given (with a journal), and returns the copy and how many records were dropped. The
    /// records before the copy are written to the current journal file and the next one is
    /// started; `write` then writes the copy, naming that file as the first that continues it
    /// (without a journal: a number after any journal file an earlier run left, which are
    /// removed, so that a later start with the journal takes none of them again over a state
    /// that moved on without them), and returns what it counts as written. Once it is done,
    /// the journal files before it are removed.
    pub fn save<C>(
        &self,
        copy: impl FnOnce(Option<&mut Pending>) -> (C, u64),
        write: impl FnOnce(C, u64) -> Result<usize, FileError>,
    ) -> Result<usize, FileError> {
        let mut next = lock(&self.saving);
        let mut journal = self.journal.as_ref().map(lock);
        let (copied, dropped) = copy(journal.as_deref_mut().map(Journal::pending));
        self.dropped.fetch_add(dropped, Ordering::Relaxed);
        let from = match &mut journal {
            Some(journal) => {
                // Records before the copy: needed only if this write does not complete, so a
                // failure is counted (as dropped) and the write goes on.
                let _ = self.write(journal);
                journal.rotate()?
            }
            None => retire(&self.path, *next)?,
        };
        drop(journal);
        let written = write(copied, from)?;
        *next = from;
        if let Some(journal) = &self.journal {
            lock(journal).remove_before(from)?;
        }
        Ok(written)
    }

    /// Writes the records `take` moves from the state (under its lock, returning how many it
    /// dropped) to the journal and syncs it; returns how many were written (0 without a
    /// journal). Called every few milliseconds: a crash loses what was made since.
    pub fn flush(&self, take: impl FnOnce(&mut Pending) -> u64) -> Result<u64, FileError> {
        let Some(journal) = &self.journal else {
            return Ok(0);
        };
        let mut journal = lock(journal);
        let dropped = take(journal.pending());
        self.dropped.fetch_add(dropped, Ordering::Relaxed);
        self.write(&mut journal)
    }

    /// Writes the journal's pending records, counting them as journaled or, when the write
    /// fails, as dropped.
    fn write(&self, journal: &mut Journal) -> Result<u64, FileError> {
        let pending = journal.pending().len();
        let written = journal.write_pending();
        match &written {
            Ok(n) => self.journaled.fetch_add(*n, Ordering::Relaxed),
            Err(_) => self.dropped.fetch_add(pending, Ordering::Relaxed),
        };
        written
    }

    /// Records in the journal since the state file was last written (0 without a journal):
    /// `serve` writes the state early when they pass `[fraud] journal_max_records`, so that a
    /// start after a crash never has more to take again.
    pub fn journal_records(&self) -> u64 {
        self.journal.as_ref().map_or(0, |j| lock(j).records())
    }

    /// What the start took again from the journal.
    pub fn replayed(&self) -> Replayed {
        self.replayed
    }

    /// Records written to the journal since start (synced).
    pub fn journaled(&self) -> u64 {
        self.journaled.load(Ordering::Relaxed)
    }

    /// Records not journaled (the disk did not keep up, or a write failed).
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

/// A state a [`Keeper`] may keep (the feature state's `FraudService`, the `RingService`): how
/// `serve` writes it and its journal, and what operators see of the journal, the same for each.
pub trait Kept {
    /// Its keeper, when the state is kept in a file.
    fn keeper(&self) -> Option<&Keeper>;

    /// Writes the state to its file whole, owner-only (a crash leaves the previous file
    /// whole), and returns the entities written; with the journal, through [`Keeper::save`].
    /// Without a file configured it is an error.
    fn save(&self) -> Result<usize, FileError>;

    /// Writes the records taken since the last call to the journal and syncs it; returns how
    /// many were written (0 without a journal). Called every few milliseconds: a crash loses
    /// what was taken since the last call.
    fn flush_journal(&self) -> Result<u64, FileError>;

    /// Records in the journal since the state's file was last written (0 without a journal):
    /// `serve` writes the state early when they pass `[fraud] journal_max_records`, so that a
    /// start after a crash never has more to take again.
    fn journal_records(&self) -> u64 {
        self.keeper().map_or(0, Keeper::journal_records)
    }

    /// What the start took again from the journal.
    fn replayed(&self) -> Replayed {
        self.keeper()
            .map_or_else(Replayed::default, Keeper::replayed)
    }

    /// Records written to the journal since start (synced).
    fn journaled(&self) -> u64 {
        self.keeper().map_or(0, Keeper::journaled)
    }

    /// Records not journaled (the disk did not keep up, or a write failed).
    fn journal_dropped(&self) -> u64 {
        self.keeper().map_or(0, Keeper::dropped)
    }
}

/// A lock; a panic while it was held leaves at worst a count half updated, which is no reason
/// to stop keeping the state: the poison is ignored.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
