//! Taking detection up again after a restart. An event is acknowledged once it is stored, but
//! detected later; the correlator keeps, with the findings, the first sequence number each
//! partition has not taken ([`DetectionProgress`]). At start the stored events from the lowest
//! of them on are fed through the detectors again, and each partition skips the ones it had
//! taken. So an acknowledged event is detected even when the process died before its turn, and
//! an event whose findings were stored is not detected twice.

use std::time::Instant;

use ensuresec_model::Event;
use ensuresec_store::{DetectionProgress, Store, StoreError};

use crate::metric as m;
use crate::pipeline::{Batch, PipelineHandle, PipelineStopped};

/// Why detection could not be resumed at start.
#[derive(Debug, thiserror::Error)]
pub enum ResumeError {
    /// The stored events or the stored progress could not be read.
    #[error("reading what to detect again: {0}")]
    Store(#[from] StoreError),
    /// The pipeline stopped before the stored events were all submitted.
    #[error("the pipeline stopped while resuming detection")]
    Stopped(#[from] PipelineStopped),
}

/// Events read from the store per page while resuming.
const PAGE_EVENTS: usize = 4096;

/// Where each partition takes events up again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ResumePoint {
    /// Per partition, the first sequence number it takes.
    pub(crate) next_seq: Vec<u64>,
}

impl ResumePoint {
    /// The resume point of `partitions` partitions after the run that stored `stored`. With
    /// the same number of partitions, each takes up where it stopped (an event goes to the
    /// same partition in every run). With another number, an event may now belong to a
    /// partition that had not reached it, so every partition starts at the lowest stored
    /// position: events some partition had taken are detected again, rather than events none
    /// had taken being skipped.
    pub(crate) fn new(stored: &DetectionProgress, partitions: usize) -> ResumePoint {
        let lowest = stored.next_seq.iter().copied().min().unwrap_or(1);
        let next_seq = if stored.next_seq.len() == partitions {
            stored.next_seq.clone()
        } else {
            vec![lowest; partitions]
        };
        ResumePoint { next_seq }
    }

    /// The first sequence number any partition takes: where the replay starts.
    pub(crate) fn replay_from(&self) -> u64 {
        self.next_seq.iter().copied().min().unwrap_or(1)
    }
}

/// Submits every stored event from sequence number `from` on, in order, in batches of
/// consecutive sequence numbers (events purged by retention leave gaps); returns how many.
pub(crate) async fn replay(
    store: &dyn Store,
    pipeline: &PipelineHandle,
    from: u64,
) -> Result<u64, ResumeError> {
    let mut next = from;
    let mut replayed = 0u64;
    loop {
        let page = store.events_from(next, PAGE_EVENTS).await?;
        // An empty page is the end. Retention purges the oldest batches only, so a gap is a
        // purged prefix; the events not yet detected are the newest (the queues in between
        // are bounded), far younger than any retention.
        let Some(&(last, _)) = page.last() else {
            break;
        };
        replayed += page.len() as u64;
        for batch in consecutive_runs(page) {
            pipeline.submit(batch).await?;
        }
        next = last + 1;
    }
    if replayed > 0 {
        metrics::counter!(m::EVENTS_RESUMED).increment(replayed);
        tracing::info!(
            from,
            events = replayed,
            "detection resumed over events stored but not detected before the restart"
        );
    }
    Ok(replayed)
}

/// Splits `(sequence number, event)` pairs, in order, into batches of consecutive numbers.
fn consecutive_runs(page: Vec<(u64, Event)>) -> Vec<Batch> {
    let received = Instant::now();
    let mut batches: Vec<Batch> = Vec::new();
    for (seq, event) in page {
        match batches.last_mut() {
            Some(b) if b.first_seq + b.events.len() as u64 == seq => b.events.push(event),
            _ => batches.push(Batch {
                events: vec![event],
                first_seq: seq,
                received,
            }),
        }
    }
    batches
}

#[cfg(test)]
mod tests {
    use ensuresec_model::fixtures::{self, t0};

    use super::*;

    fn progress(next_seq: &[u64]) -> DetectionProgress {
        DetectionProgress {
            next_seq: next_seq.to_vec(),
        }
    }

    #[test]
    fn the_same_partitions_take_up_where_each_stopped() {
        let point = ResumePoint::new(&progress(&[40, 35, 52]), 3);
        assert_eq!(point.next_seq, vec![40, 35, 52]);
        assert_eq!(point.replay_from(), 35);
    }

    #[test]
    fn other_partitions_all_start_where_the_slowest_stopped() {
        let point = ResumePoint::new(&progress(&[40, 35, 52]), 2);
        assert_eq!(point.next_seq, vec![35, 35]);
        let grown = ResumePoint::new(&progress(&[40, 35]), 4);
        assert_eq!(grown.next_seq, vec![35; 4]);
        assert_eq!(ResumePoint::new(&progress(&[]), 2).next_seq, vec![1, 1]);
    }

    #[test]
    fn a_gap_left_by_retention_splits_the_batches() {
        let event = || fixtures::failed_login("a", "192.0.2.1", t0());
        let page = [7, 8, 9, 20, 21]
            .into_iter()
            .map(|seq| (seq, event()))
            .collect();
        let runs: Vec<(u64, usize)> = consecutive_runs(page)
            .iter()
            .map(|b| (b.first_seq, b.events.len()))
            .collect();
        assert_eq!(runs, vec![(7, 3), (20, 2)]);
    }
}
