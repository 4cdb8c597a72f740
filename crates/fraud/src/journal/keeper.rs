//! The steps by which a state kept in a file goes to disk, the same for the feature state and
//! the ring graph: its journal flushed every few milliseconds, and the state written whole now
//! and then, starting a new journal file under the state's lock so that the files before it
//! can go once the state file is synced.
//!
//! While the journal holds every change since the state file was written, the next state file
//! is made from the files alone ([`Keeper::save_either`]): the last state file read back
//! and its journal taken again into it, as a start after a crash would, on the saving thread.
//! The live state's lock is then held only to hand over its last records, not to copy it
//! (0.15 s at ten million entities, while every payment waited). When records were dropped,
//! or there is no journal, the state is copied under its lock instead ([`Keeper::save`]).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use super::{Journal, Journaled, Pending, Replayed, replay_files, retire};
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
    saving: Mutex<Saved>,
    replayed: Replayed,
    journaled: AtomicU64,
    dropped: AtomicU64,
    /// Writes of the state made from its last file and journal, not from a copy.
    from_journal: AtomicU64,
    /// Always write the state by a copy under its lock, even with a journal
    /// ([`Keeper::save_by_copy`]).
    by_copy: bool,
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
            saving: Mutex::new(Saved {
                journal_from: state.journal_from(),
                dropped: 0,
            }),
            replayed,
            journaled: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            from_journal: AtomicU64::new(0),
            by_copy: false,
        })
    }

    /// With `yes`, [`Keeper::save_either`] always writes the state by a copy under its lock
    /// ([`Keeper::save`]), even with a journal: a single pause of the state's users
    /// instead of a longer write that slows them (figures in bench/RESULTS.md).
    pub fn save_by_copy(self, yes: bool) -> Keeper {
        Keeper {
            by_copy: yes,
            ..self
        }
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
        let mut saved = lock(&self.saving);
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
            None => retire(&self.path, saved.journal_from)?,
        };
        let dropped = self.dropped();
        drop(journal);
        let written = write(copied, from)?;
        self.saved(&mut saved, from, dropped)?;
        Ok(written)
    }

    /// Writes the state whole: from its last file and journal (`Keeper::save_from_journal`)
    /// when the journal can stand for it, and otherwise, or when that fails (logged, naming
    /// the file), by `copy`, which saves through [`Keeper::save`]: a closure, so that a state
    /// makes room for its copy (0.6 GB at ten million entities) only when it is copied. What
    /// `serve` calls for every kept state, so that each holds its lock only to hand over its
    /// last records when it can.
    pub fn save_either<S: Journaled>(
        &self,
        take: impl FnOnce(&mut Pending) -> u64,
        read: impl FnOnce(&Path) -> Result<S, FileError>,
        write: impl FnOnce(S, u64) -> Result<usize, FileError>,
        copy: impl FnOnce() -> Result<usize, FileError>,
    ) -> Result<usize, FileError> {
        match self.save_from_journal(take, read, write) {
            Ok(Some(written)) => Ok(written),
            Ok(None) => copy(),
            Err(error) => {
                tracing::warn!(
                    file = %self.path.display(), %error,
                    "state not made from its journal; copying it instead"
                );
                copy()
            }
        }
    }

    /// Writes the state whole without copying it: hands the state's records over (`take`
    /// runs under the state's lock and returns how many it dropped), writes them to the
    /// current journal file and starts the next one; then, with no lock of the state held,
    /// `read` reads the state file as it was last written (or makes a new state when there is
    /// none), the journal files that continue it are taken again into it in order, through
    /// the same code as at a start after a crash, and `write` writes the result, naming the
    /// file just started (as in [`Keeper::save`]). The file written then holds what the state
    /// held when the new journal file was started, except which entities a full table chose
    /// to forget: the same as a start after a crash would hold.
    ///
    /// Returns `Ok(None)`, having written nothing, when the journal cannot stand for the state:
    /// there is none, or records were dropped (not journaled) since the state file was
    /// written, so that they are in memory only; and when the keeper writes by copy
    /// ([`Keeper::save_by_copy`]). The caller then saves by [`Keeper::save`]
    /// ([`Keeper::save_either`] does both).
    /// An error after the new journal file was started leaves the state file as it was and
    /// the journal whole; the caller may save by [`Keeper::save`] then too.
    fn save_from_journal<S: Journaled>(
        &self,
        take: impl FnOnce(&mut Pending) -> u64,
        read: impl FnOnce(&Path) -> Result<S, FileError>,
        write: impl FnOnce(S, u64) -> Result<usize, FileError>,
    ) -> Result<Option<usize>, FileError> {
        let Some(journal) = self.journal.as_ref().filter(|_| !self.by_copy) else {
            return Ok(None);
        };
        let mut saved = lock(&self.saving);
        let mut journal = lock(journal);
        let dropped = take(journal.pending());
        self.dropped.fetch_add(dropped, Ordering::Relaxed);
        // Every record since the state file was written must be on disk: a failed write of
        // the last ones is counted as dropped like any other.
        let _ = self.write(&mut journal);
        let dropped = self.dropped();
        if dropped != saved.dropped {
            return Ok(None);
        }
        let from = journal.rotate()?;
        drop(journal);
        let mut state = read(&self.path)?;
        replay_files(&self.path, state.journal_from(), from, &mut state)?;
        let written = write(state, from)?;
        self.saved(&mut saved, from, dropped)?;
        self.from_journal.fetch_add(1, Ordering::Relaxed);
        Ok(Some(written))
    }

    /// After the state file naming `from` is synced: remembers it and the records dropped
    /// until then, and removes the journal files before it.
    fn saved(&self, saved: &mut Saved, from: u64, dropped: u64) -> Result<(), FileError> {
        *saved = Saved {
            journal_from: from,
            dropped,
        };
        if let Some(journal) = &self.journal {
            lock(journal).remove_before(from)?;
        }
        Ok(())
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

    /// Writes of the state made from its last file and journal since start
    /// (`Keeper::save_from_journal`).
    pub fn saves_from_journal(&self) -> u64 {
        self.from_journal.load(Ordering::Relaxed)
    }
}

/// What the last write of the state left: the first journal file that continues it (without a
/// journal, the number the next write names) and the records dropped, in all, until it.
#[derive(Debug, Clone, Copy)]
struct Saved {
    journal_from: u64,
    dropped: u64,
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

    /// Writes of the state made from its last file and journal since start, without holding
    /// the state's lock for a copy; the others copied it.
    fn saves_from_journal(&self) -> u64 {
        self.keeper().map_or(0, Keeper::saves_from_journal)
    }
}

/// A lock; a panic while it was held leaves at worst a count half updated, which is no reason
/// to stop keeping the state: the poison is ignored.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::file::file_numbers;
    use crate::journal::{Frame, MAX_RECORD_BYTES};

    /// A state of one number, the total length of the records it took; its file holds the
    /// total and the first journal file that continues it.
    #[derive(Debug, Default)]
    struct Total {
        total: u64,
        from: u64,
        journal: Option<Pending>,
    }

    impl Total {
        fn take(&mut self, record: &[u8]) {
            self.total += record.len() as u64;
            if let Some(pending) = &mut self.journal {
                pending.push(record);
            }
        }
    }

    impl Journaled for Total {
        const MAGIC: &'static [u8; 24] = b"ensuresec test journal\n\n";
        const FRAME: Frame = Frame::Prefixed;
        fn journal_from(&self) -> u64 {
            self.from
        }
        fn replay(&mut self, record: &[u8]) -> Result<(), String> {
            self.total += record.len() as u64;
            Ok(())
        }
        fn journal_pending(&mut self) -> &mut Option<Pending> {
            &mut self.journal
        }
    }

    /// The total and journal number in the file at `path` (a new state when there is none).
    fn read(path: &Path) -> Result<Total, FileError> {
        match std::fs::read(path) {
            Ok(bytes) => {
                let number = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap());
                Ok(Total {
                    total: number(0),
                    from: number(8),
                    journal: None,
                })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Total::default()),
            Err(e) => Err(FileError::new(path.display().to_string(), e.to_string())),
        }
    }

    fn write(path: &Path, total: u64, from: u64) -> Result<usize, FileError> {
        let bytes = [total.to_le_bytes(), from.to_le_bytes()].concat();
        std::fs::write(path, bytes)
            .map_err(|e| FileError::new(path.display().to_string(), e.to_string()))?;
        Ok(1)
    }

    /// A state kept at `dir/total.bin`, with its journal when `journal`.
    fn kept(dir: &Path, journal: bool) -> (PathBuf, Keeper, Mutex<Total>) {
        let path = dir.join("total.bin");
        let mut state = read(&path).unwrap();
        let keeper = Keeper::open(&path, journal, &mut state).unwrap();
        (path, keeper, Mutex::new(state))
    }

    fn from_journal(path: &Path, keeper: &Keeper, state: &Mutex<Total>) -> Option<usize> {
        keeper
            .save_from_journal(
                |pending| lock(state).take_journal(pending),
                read,
                |s, from| write(path, s.total, from),
            )
            .unwrap()
    }

    fn copied(path: &Path, keeper: &Keeper, state: &Mutex<Total>) {
        keeper
            .save(
                |pending| {
                    let mut s = lock(state);
                    let dropped = pending.map_or(0, |p| s.take_journal(p));
                    (s.total, dropped)
                },
                |total, from| write(path, total, from),
            )
            .unwrap();
    }

    #[test]
    fn a_state_is_written_from_its_last_file_and_its_journal_not_from_memory() {
        let dir = tempfile::tempdir().unwrap();
        let (path, keeper, state) = kept(dir.path(), true);
        lock(&state).take(&[1; 3]);
        lock(&state).take(&[1; 5]);
        keeper
            .flush(|into| lock(&state).take_journal(into))
            .unwrap();
        assert_eq!(from_journal(&path, &keeper, &state), Some(1));
        let first = read(&path).unwrap();
        assert_eq!((first.total, first.from), (8, 1));
        // Not flushed: the write hands these over itself.
        lock(&state).take(&[1; 7]);
        // What only memory holds, and no record says, is not in a file made from the journal.
        lock(&state).total += 1_000;
        assert_eq!(from_journal(&path, &keeper, &state), Some(1));
        let second = read(&path).unwrap();
        assert_eq!((second.total, second.from), (15, 2));
        assert_eq!(file_numbers(&path).unwrap(), [2], "the journal files left");
        assert_eq!(keeper.saves_from_journal(), 2);
    }

    #[test]
    fn a_record_dropped_since_the_last_write_makes_the_next_one_a_copy() {
        let dir = tempfile::tempdir().unwrap();
        let (path, keeper, state) = kept(dir.path(), true);
        lock(&state).take(&[1; 4]);
        // Too long to journal: counted by the state, dropped from the journal.
        lock(&state).take(&vec![1; MAX_RECORD_BYTES + 1]);
        assert_eq!(from_journal(&path, &keeper, &state), None);
        assert!(!path.exists(), "nothing written");
        assert_eq!(keeper.dropped(), 1);
        copied(&path, &keeper, &state);
        let whole = 4 + MAX_RECORD_BYTES as u64 + 1;
        assert_eq!(read(&path).unwrap().total, whole);
        // The copy holds the dropped record: the journal stands for the state again.
        lock(&state).take(&[1; 2]);
        assert_eq!(from_journal(&path, &keeper, &state), Some(1));
        assert_eq!(read(&path).unwrap().total, whole + 2);
        assert_eq!(keeper.saves_from_journal(), 1);
    }

    #[test]
    fn a_keeper_that_saves_by_copy_makes_nothing_from_the_journal() {
        let dir = tempfile::tempdir().unwrap();
        let (path, keeper, state) = kept(dir.path(), true);
        let keeper = keeper.save_by_copy(true);
        lock(&state).take(&[1; 4]);
        assert_eq!(from_journal(&path, &keeper, &state), None);
        assert!(!path.exists());
        copied(&path, &keeper, &state);
        assert_eq!(read(&path).unwrap().total, 4);
        assert_eq!(keeper.saves_from_journal(), 0);
    }

    #[test]
    fn without_a_journal_nothing_is_made_from_it() {
        let dir = tempfile::tempdir().unwrap();
        let (path, keeper, state) = kept(dir.path(), false);
        lock(&state).take(&[1; 4]);
        assert_eq!(from_journal(&path, &keeper, &state), None);
        assert!(!path.exists());
    }

    #[test]
    fn a_start_after_a_crash_takes_again_what_a_write_from_the_journal_left() {
        let dir = tempfile::tempdir().unwrap();
        {
            let (path, keeper, state) = kept(dir.path(), true);
            lock(&state).take(&[1; 6]);
            assert_eq!(from_journal(&path, &keeper, &state), Some(1));
            lock(&state).take(&[1; 9]);
            keeper
                .flush(|into| lock(&state).take_journal(into))
                .unwrap();
            // The crash: dropped without a write.
        }
        let (_, keeper, state) = kept(dir.path(), true);
        assert_eq!(lock(&state).total, 15);
        assert_eq!(keeper.replayed().records, 1);
    }
}
