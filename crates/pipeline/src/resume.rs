//! Taking detection up again after a restart. An event is acknowledged once it is stored, but
//! detected later; the correlator keeps, with the findings, the first sequence number each
//! partition has not taken ([`DetectionProgress`]). At start the stored events from the lowest
//! of them on are fed through the detectors again, skipping those the partition that owned
//! them in the last run had taken. So an acknowledged event is detected even when the process
//! died before its turn, and an event whose findings were stored is not detected twice, also
//! when the partition count has changed.

use std::time::Instant;

use ensuresec_model::Event;
use ensuresec_store::{DetectionProgress, Store, StoreError};

use crate::metric as m;
use crate::pipeline::{Batch, PipelineHandle, PipelineStopped};

/// Why detection could not be resumed at start.
#[derive(Debug, thiserror::Error)]
pub enum ResumeError {
    /// The store could not be read (at start: ids, open incidents, the progress, the events).
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// The pipeline stopped before the stored events were all submitted.
    #[error("the pipeline stopped while resuming detection")]
    Stopped(#[from] PipelineStopped),
}

/// Events read from the store per page while resuming.
const PAGE_EVENTS: usize = 4096;

/// What the partitions of the last run had taken, from its stored progress: the events each
/// partition then owned, up to where it had come. An event is routed by a fixed hash (and a
/// stateless detector's by its sequence number), so the partition that owned it then can be
/// worked out with the partition count of then, whatever the count is now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Taken {
    /// Per partition of the last run, the first sequence number it had not taken.
    next_seq: Vec<u64>,
    /// Every partition had taken the events before this one.
    lowest: u64,
    /// No partition had taken this event or any after it.
    highest: u64,
}

impl Taken {
    /// What `stored` says was taken.
    pub(crate) fn new(stored: &DetectionProgress) -> Taken {
        let next_seq = if stored.next_seq.is_empty() {
            vec![1]
        } else {
            stored.next_seq.clone()
        };
        let lowest = next_seq.iter().copied().min().unwrap_or(1);
        let highest = next_seq.iter().copied().max().unwrap_or(1);
        Taken {
            next_seq,
            lowest,
            highest,
        }
    }

    /// The first sequence number some partition had not taken: where the replay starts.
    pub(crate) fn replay_from(&self) -> u64 {
        self.lowest
    }

    /// Whether the event at `seq` had been taken, for one group of detectors: `owner_then`
    /// gives the partition that owned it among the last run's count (`None`: no partition
    /// of that group owned it).
    pub(crate) fn had(&self, seq: u64, owner_then: impl FnOnce(usize) -> Option<usize>) -> bool {
        if seq >= self.highest {
            return false;
        }
        if seq < self.lowest {
            return true;
        }
        owner_then(self.next_seq.len()).is_some_and(|p| seq < self.next_seq[p])
    }

    /// The progress `partitions` partitions start from: the stored one when the count is the
    /// same; otherwise every partition at the lowest, since a partition's own position under
    /// the new routing is not known until it has passed the replay.
    pub(crate) fn progress_for(&self, partitions: usize) -> DetectionProgress {
        let next_seq = if self.next_seq.len() == partitions {
            self.next_seq.clone()
        } else {
            vec![self.lowest; partitions]
        };
        DetectionProgress { next_seq }
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

    /// The owner of a stateless detector's event: by sequence number.
    fn by_seq(seq: u64) -> impl FnOnce(usize) -> Option<usize> {
        move |partitions| Some((seq % partitions as u64) as usize)
    }

    #[test]
    fn an_event_was_taken_if_the_partition_that_owned_it_had_passed_it() {
        let taken = Taken::new(&progress(&[40, 35, 52]));
        assert_eq!(taken.replay_from(), 35);
        assert!(taken.had(34, by_seq(34)), "every partition had passed 34");
        assert!(!taken.had(52, by_seq(52)), "no partition had reached 52");
        // 39 belonged to partition 0 (39 % 3), which had come to 40; 38 to partition 2, at 52;
        // 37 to partition 1, which stopped at 35.
        assert!(taken.had(39, by_seq(39)));
        assert!(taken.had(38, by_seq(38)));
        assert!(!taken.had(37, by_seq(37)));
        assert!(
            !taken.had(36, |_| None),
            "owned by no partition then: not taken"
        );
    }

    #[test]
    fn another_partition_count_starts_every_partition_at_the_lowest() {
        let taken = Taken::new(&progress(&[40, 35, 52]));
        assert_eq!(taken.progress_for(3).next_seq, vec![40, 35, 52]);
        assert_eq!(taken.progress_for(2).next_seq, vec![35, 35]);
        let upgraded = Taken::new(&progress(&[]));
        assert_eq!(upgraded.progress_for(2).next_seq, vec![1, 1]);
        assert!(!upgraded.had(1, by_seq(1)));
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
