//! Stores each round of findings, with the detection progress it covers, and tries again when
//! the store refuses it. A refused round that was skipped would be lost for good: the next
//! round's progress, once stored, says that its events were detected, so no start would
//! detect them again. Detection waits instead (its queues fill and ingest waits for them), and
//! the wait shows in [`StoreHealth`], the logs and the metrics.

use std::sync::Arc;
use std::time::Duration;

use ensuresec_store::{Findings, Store, StoreError};
use tokio::sync::watch;

use crate::metric as m;

/// How the pipeline's writes of findings to the store are going, for readiness checks: while
/// the store refuses a round, no finding after it is stored or delivered.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum StoreHealth {
    /// The last round was stored (or none was written yet).
    #[default]
    Writing,
    /// The store refused the current round; detection waits and the write is tried again.
    Retrying {
        /// Attempts refused so far.
        attempts: u32,
        /// The store's last refusal.
        error: String,
    },
    /// The pipeline stopped (or the store closed) while a round was refused: that round and
    /// every later one of this run are not stored, and the next start detects their events
    /// again.
    GaveUp {
        /// The store's last refusal.
        error: String,
    },
}

/// How long to wait between attempts: `first`, doubling, at most `most`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The wait after the first refusal.
    pub first: Duration,
    /// The longest wait.
    pub most: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            first: Duration::from_millis(50),
            most: Duration::from_secs(5),
        }
    }
}

impl RetryPolicy {
    /// The wait after `attempts` refusals (at least 1).
    fn delay(&self, attempts: u32) -> Duration {
        let doublings = attempts.saturating_sub(1).min(31);
        self.first.saturating_mul(1u32 << doublings).min(self.most)
    }
}

/// The correlator's one writer of findings to the store.
pub(crate) struct StoreWriter {
    store: Arc<dyn Store>,
    policy: RetryPolicy,
    health: watch::Sender<StoreHealth>,
    stopping: watch::Receiver<bool>,
    stop_seen: bool,
    given_up: bool,
}

impl StoreWriter {
    /// A writer that gives up on a refused round once `stopping` turns true (or its sender is
    /// dropped), and reports how it goes on `health`.
    pub(crate) fn new(
        store: Arc<dyn Store>,
        policy: RetryPolicy,
        health: watch::Sender<StoreHealth>,
        stopping: watch::Receiver<bool>,
    ) -> Self {
        // The series exists from the start, so that an alert rule on it has something to read.
        metrics::gauge!(m::FINDINGS_WAITING).set(0.0);
        StoreWriter {
            store,
            policy,
            health,
            stopping,
            stop_seen: false,
            given_up: false,
        }
    }

    /// Stores `findings`, trying again until the store takes them; answers whether they were
    /// stored. They are not when the pipeline is stopping or the store has closed: then
    /// nothing more is stored in this run, so that no later progress passes over them.
    pub(crate) async fn write(&mut self, findings: &Findings) -> bool {
        if self.given_up {
            tracing::warn!(
                alerts = findings.alerts.len(),
                "findings not stored after an earlier refused round; the next start detects their events again"
            );
            return false;
        }
        let mut attempts = 0u32;
        loop {
            let error = match self.store.record(findings.clone()).await {
                Ok(()) => {
                    if attempts > 0 {
                        tracing::info!(attempts, "the store took the findings it had refused");
                        metrics::gauge!(m::FINDINGS_WAITING).set(0.0);
                        self.health.send_replace(StoreHealth::Writing);
                    }
                    return true;
                }
                Err(e) => e,
            };
            attempts = attempts.saturating_add(1);
            metrics::counter!(m::STORE_WRITE_RETRIES).increment(1);
            let closed = matches!(error, StoreError::Closed);
            if closed || self.stopping() {
                tracing::error!(
                    error = %error,
                    attempts,
                    "giving up storing findings: nothing more is stored in this run, and the next start detects these events again"
                );
                metrics::gauge!(m::FINDINGS_WAITING).set(0.0);
                self.given_up = true;
                self.health.send_replace(StoreHealth::GaveUp {
                    error: error.to_string(),
                });
                return false;
            }
            let wait = self.policy.delay(attempts);
            if attempts == 1 {
                tracing::error!(error = %error, ?wait, "the store refused findings; detection waits and tries again");
            } else {
                tracing::warn!(error = %error, attempts, ?wait, "the store refused findings again");
            }
            metrics::gauge!(m::FINDINGS_WAITING).set(1.0);
            self.health.send_replace(StoreHealth::Retrying {
                attempts,
                error: error.to_string(),
            });
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                _ = self.stopping.wait_for(|stop| *stop) => self.stop_seen = true,
            }
        }
    }

    /// Whether the pipeline is stopping (a dropped sender counts as stopping).
    fn stopping(&self) -> bool {
        self.stop_seen || *self.stopping.borrow() || self.stopping.has_changed().is_err()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_from_the_first_up_to_the_longest() {
        let policy = RetryPolicy {
            first: Duration::from_millis(50),
            most: Duration::from_millis(300),
        };
        let waits: Vec<u128> = (1..=6).map(|a| policy.delay(a).as_millis()).collect();
        assert_eq!(waits, vec![50, 100, 200, 300, 300, 300]);
        assert_eq!(policy.delay(u32::MAX), Duration::from_millis(300));
    }

    #[test]
    fn a_longest_wait_below_the_first_is_the_wait() {
        let policy = RetryPolicy {
            first: Duration::from_secs(1),
            most: Duration::from_millis(10),
        };
        assert_eq!(policy.delay(1), Duration::from_millis(10));
        assert_eq!(policy.delay(9), Duration::from_millis(10));
    }
}
