//! Every request becomes an `http_request` event, queued and handed on in batches — posted as
//! NDJSON to a remote serve's `POST /v1/events` (sent again for a few seconds while the serve
//! does not take it, see [`crate::events_client`]), or given to the serve's own ingestor
//! in-process (see [`Deliver`]). The queue is bounded: when the pipeline is slower than the
//! traffic, events are dropped and counted (a warning names the count), never held in memory
//! without bound.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use ensuresec_model::event::Event;
use tokio::sync::mpsc;

/// Bytes of a request body kept in an event (an event line is at most 64 KiB).
pub const MAX_EVENT_BODY: usize = 4096;
/// Bytes of any header value kept in an event.
pub const MAX_EVENT_HEADER: usize = 1024;

/// The sending side, cloned into every request.
#[derive(Debug, Clone)]
pub struct EventSink {
    tx: mpsc::Sender<Event>,
    dropped: Arc<AtomicU64>,
}

/// `s` cut to at most `max` bytes on a character boundary.
pub fn bounded(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

impl EventSink {
    /// Queues `event`; drops and counts it when the queue is full.
    pub fn send(&self, event: Event) {
        if self.tx.try_send(event).is_err() {
            let n = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            if n.is_power_of_two() {
                tracing::warn!(dropped = n, "event queue full: events dropped");
            }
        }
    }
}

/// Where a batch goes.
pub trait Deliver: Send + Sync + 'static {
    /// Hands on `batch`; an error is a sentence naming why it was not accepted.
    fn deliver(&self, batch: Vec<Event>) -> impl Future<Output = Result<(), String>> + Send;
}

/// Starts the sender task; returns the sink. A batch leaves when it holds `max_batch` events or
/// its first event has waited `flush`.
pub fn start(deliver: impl Deliver, max_batch: usize, flush: Duration) -> EventSink {
    let (tx, rx) = mpsc::channel(max_batch.saturating_mul(2).max(1));
    let dropped = Arc::new(AtomicU64::new(0));
    tokio::spawn(run(rx, deliver, max_batch, flush, Arc::clone(&dropped)));
    EventSink { tx, dropped }
}

async fn run(
    mut rx: mpsc::Receiver<Event>,
    deliver: impl Deliver,
    max_batch: usize,
    flush: Duration,
    dropped: Arc<AtomicU64>,
) {
    loop {
        let Some(first) = rx.recv().await else {
            return;
        };
        let mut batch: Vec<Event> = Vec::with_capacity(max_batch);
        batch.push(first);
        let deadline = tokio::time::Instant::now() + flush;
        while batch.len() < max_batch {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(e)) => batch.push(e),
                Ok(None) | Err(_) => break,
            }
        }
        let n = batch.len() as u64;
        if let Err(e) = deliver.deliver(batch).await {
            let total = dropped.fetch_add(n, Ordering::Relaxed) + n;
            tracing::warn!(error = %e, events = n, dropped_total = total, "events not accepted by the pipeline");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_cuts_on_a_character_boundary() {
        assert_eq!(bounded("héllo", 2), "h");
        assert_eq!(bounded("abc", 10), "abc");
    }
}
