//! The ring graph of a process, shared by the pipeline's ring detector (which takes the
//! payments and labels) and the server (which reports on it and keeps it): the graph behind one
//! lock and, when it is kept, its file and journal ([`crate::journal::Keeper`]).

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use super::{RingGraph, RingLimits, RingStats, snapshot};
use crate::error::FileError;
use crate::journal::{Journaled as _, Keeper, Kept};

/// The shared graph and, when it is kept, its file and journal.
#[derive(Debug)]
pub struct RingService {
    graph: Arc<Mutex<RingGraph>>,
    keeper: Option<Keeper>,
    /// The graph's bounds, for a graph read back from its file to be written again.
    limits: RingLimits,
}

impl Kept for RingService {
    fn keeper(&self) -> Option<&Keeper> {
        self.keeper.as_ref()
    }

    /// Writes the graph to its file whole, owner-only, and returns the entities written. With
    /// the journal, the file is made from the last ring file and the journal files that
    /// continue it, and the graph's lock is held only to hand its last records to the journal;
    /// without one, when records were dropped from it, or with `save_by_copy`, the lock is held
    /// while the graph's bytes are made, not while they are written ([`Keeper::save_either`]). The file names the journal file started for what comes after, and
    /// the files before it are removed once it is synced. Without a file configured it is an
    /// error.
    fn save(&self) -> Result<usize, FileError> {
        let keeper = self
            .keeper
            .as_ref()
            .ok_or_else(|| FileError::new("[fraud.rings]", "the ring graph is not kept"))?;
        let write = |mut body: Vec<u8>, entities: usize, journal_from: u64| {
            snapshot::set_journal_from(&mut body, journal_from);
            snapshot::write_file(keeper.path(), body)?;
            Ok(entities)
        };
        keeper.save_either(
            |pending| self.lock().take_journal(pending),
            |path| snapshot::load(path, self.limits),
            |graph, journal_from| write(graph.snapshot_body(), graph.stats().nodes, journal_from),
            || {
                keeper.save(
                    |pending| {
                        let mut graph = self.lock();
                        let body = (graph.snapshot_body(), graph.stats().nodes);
                        let dropped = pending.map_or(0, |p| graph.take_journal(p));
                        (body, dropped)
                    },
                    |(body, entities), journal_from| write(body, entities, journal_from),
                )
            },
        )
    }

    /// Writes the payments and labels taken since the last call to the journal and syncs it;
    /// returns how many were written (0 without a journal).
    fn flush_journal(&self) -> Result<u64, FileError> {
        match &self.keeper {
            Some(keeper) => keeper.flush(|into| self.lock().take_journal(into)),
            None => Ok(0),
        }
    }
}

impl RingService {
    /// A graph kept in no file: a restart starts it empty.
    pub fn in_memory(limits: RingLimits) -> RingService {
        RingService {
            graph: Arc::new(Mutex::new(RingGraph::new(limits))),
            keeper: None,
            limits,
        }
    }

    /// The graph kept at `path`, read back when the file exists. With `journal`, the journal
    /// files that continue it are taken again (what a crash would otherwise have lost since
    /// the file was written) and every payment and label from now on is journaled, for
    /// [`Kept::flush_journal`]. A file that cannot be read or is refused is an error
    /// naming it.
    pub fn open(path: &Path, limits: RingLimits, journal: bool) -> Result<RingService, FileError> {
        let mut graph = snapshot::load(path, limits)?;
        let keeper = Keeper::open(path, journal, &mut graph)?;
        Ok(RingService {
            graph: Arc::new(Mutex::new(graph)),
            keeper: Some(keeper),
            limits,
        })
    }

    /// With `yes`, the graph is always written by making its bytes under its lock, even with
    /// the journal ([`Keeper::save_by_copy`]); for a graph kept in no file it changes nothing.
    pub fn save_by_copy(self, yes: bool) -> RingService {
        RingService {
            keeper: self.keeper.map(|k| k.save_by_copy(yes)),
            ..self
        }
    }

    /// The graph, for the detector that feeds it.
    pub fn graph(&self) -> &Arc<Mutex<RingGraph>> {
        &self.graph
    }

    /// The graph's counters.
    pub fn stats(&self) -> RingStats {
        self.lock().stats()
    }

    /// The graph. A panic while it was held leaves a count at worst half updated, which is no
    /// reason to stop linking: the poison is ignored.
    fn lock(&self) -> MutexGuard<'_, RingGraph> {
        self.graph.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
