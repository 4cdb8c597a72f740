//! When each source last sent an event, for heartbeat health checks of sensors and partners
//! (crates/recovery). Kept in memory by the ingestor: one lock per batch, and bounded — past
//! [`MAX_SOURCES`] names, a new source replaces the one silent the longest.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use ensuresec_model::Event;

/// Most sources remembered.
pub const MAX_SOURCES: usize = 4096;

/// The last ingest time per source name.
#[derive(Debug)]
pub struct LastSeen {
    limit: usize,
    times: Mutex<HashMap<String, DateTime<Utc>>>,
}

impl Default for LastSeen {
    fn default() -> Self {
        LastSeen::with_limit(MAX_SOURCES)
    }
}

impl LastSeen {
    /// A tracker remembering at most `limit` sources (at least one).
    pub fn with_limit(limit: usize) -> LastSeen {
        LastSeen {
            limit: limit.max(1),
            times: Mutex::new(HashMap::new()),
        }
    }

    /// Notes that every source of `events` sent something at `at`.
    pub fn note(&self, events: &[Event], at: DateTime<Utc>) {
        let mut times = self.times.lock().unwrap_or_else(|e| e.into_inner());
        let mut previous: Option<&str> = None;
        for e in events {
            // Batches usually come from one source: skip the lookups for repeats.
            if previous == Some(e.source.as_str()) {
                continue;
            }
            previous = Some(e.source.as_str());
            if let Some(t) = times.get_mut(&e.source) {
                *t = (*t).max(at);
                continue;
            }
            if times.len() >= self.limit
                && let Some(oldest) = times
                    .iter()
                    .min_by_key(|(_, t)| **t)
                    .map(|(name, _)| name.clone())
            {
                times.remove(&oldest);
            }
            times.insert(e.source.clone(), at);
        }
    }

    /// A copy of the last time of every remembered source.
    pub fn snapshot(&self) -> HashMap<String, DateTime<Utc>> {
        self.times.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn event(source: &str) -> Event {
        let mut e = ensuresec_model::fixtures::http_get("/", "192.0.2.1", 200, t(0));
        e.source = source.into();
        e
    }

    fn t(s: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_800_000_000 + s, 0)
            .single()
            .unwrap_or_default()
    }

    #[test]
    fn keeps_the_latest_time_and_evicts_the_longest_silent_when_full() {
        let seen = LastSeen::with_limit(2);
        seen.note(&[event("a"), event("a"), event("b")], t(10));
        seen.note(&[event("a")], t(20));
        seen.note(&[event("b")], t(5)); // a late batch does not move time back
        assert_eq!(seen.snapshot()["a"], t(20));
        assert_eq!(seen.snapshot()["b"], t(10));
        seen.note(&[event("c")], t(30));
        let now = seen.snapshot();
        assert_eq!(now.len(), 2);
        assert!(!now.contains_key("b"), "b was silent the longest: {now:?}");
        assert_eq!(now["c"], t(30));
    }
}
