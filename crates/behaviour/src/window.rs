//! Per-entity sliding windows over event time, bounded by the rule's threshold so that an
//! attacker cannot grow one entity's state without limit.

use std::collections::{HashMap, VecDeque};

/// What a window knows about one entity for one rule.
#[derive(Debug, Default)]
pub(crate) struct Window {
    /// Event times (ms) in the window, oldest first; at most `threshold` kept for plain counts.
    times: VecDeque<i64>,
    /// Distinct values (by hash) and when each was last seen (ms).
    distinct: HashMap<u64, i64>,
    /// A few sample distinct values, for evidence.
    pub samples: Vec<String>,
    /// Latest event time seen (ms).
    pub latest_ms: i64,
    /// Event time of the last alert (ms), to raise at most one per window.
    last_alert_ms: Option<i64>,
    /// Events counted since the last alert.
    pub total_since_alert: u64,
}

/// How many sample values evidence carries.
const SAMPLES: usize = 5;

impl Window {
    /// Adds an event; returns the current count (or distinct count) if the threshold is reached
    /// and no alert was raised in the last window.
    pub(crate) fn observe(
        &mut self,
        time_ms: i64,
        distinct: Option<(u64, &str)>,
        window_ms: i64,
        threshold: u32,
    ) -> Option<u64> {
        // Out-of-order events count at the latest time seen, so the window never moves back.
        self.latest_ms = self.latest_ms.max(time_ms);
        let start = self.latest_ms - window_ms;
        self.total_since_alert += 1;
        let count = match distinct {
            None => {
                self.times.push_back(time_ms.max(start));
                while self.times.front().is_some_and(|t| *t <= start) {
                    self.times.pop_front();
                }
                while self.times.len() > threshold as usize {
                    self.times.pop_front();
                }
                self.times.len() as u64
            }
            Some((hash, text)) => {
                if self.distinct.insert(hash, self.latest_ms).is_none()
                    && self.samples.len() < SAMPLES
                {
                    self.samples.push(text.to_string());
                }
                if self.distinct.len() >= threshold as usize {
                    self.distinct.retain(|_, seen| *seen > start);
                }
                // Bound: twice the threshold is enough to know it is reached.
                if self.distinct.len() > 2 * threshold as usize {
                    let mut oldest: Vec<(u64, i64)> =
                        self.distinct.iter().map(|(k, v)| (*k, *v)).collect();
                    oldest.sort_by_key(|(_, seen)| *seen);
                    for (k, _) in oldest
                        .iter()
                        .take(self.distinct.len() - 2 * threshold as usize)
                    {
                        self.distinct.remove(k);
                    }
                }
                self.distinct.len() as u64
            }
        };
        let quiet = self
            .last_alert_ms
            .is_none_or(|t| self.latest_ms - t >= window_ms);
        if count >= u64::from(threshold) && quiet {
            self.last_alert_ms = Some(self.latest_ms);
            return Some(count);
        }
        None
    }

    /// Resets the per-alert counters once an alert is out.
    pub(crate) fn alerted(&mut self) {
        self.total_since_alert = 0;
        self.samples.clear();
    }

    /// Whether nothing happened within the window before `now_ms`.
    pub(crate) fn idle(&self, now_ms: i64, window_ms: i64) -> bool {
        now_ms - self.latest_ms > window_ms
    }
}
