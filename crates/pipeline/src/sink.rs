//! The seam for responders: a [`Sink`] receives every batch of findings (alerts with their
//! incidents and actions) after correlation, once the store has taken it.

use std::sync::Arc;

use async_trait::async_trait;
use ensuresec_store::Findings;
use tokio::sync::broadcast;

/// Why a sink failed to take a batch.
#[derive(Debug, thiserror::Error)]
#[error("sink `{sink}`: {message}")]
pub struct SinkError {
    /// The sink.
    pub sink: String,
    /// What went wrong.
    pub message: String,
}

/// Receives findings. A slow sink slows the correlator; ingest waits for it only once the
/// pipeline's queues are full.
#[async_trait]
pub trait Sink: Send + Sync + 'static {
    /// A stable name for logs and metrics.
    fn name(&self) -> &str;

    /// Takes one batch.
    async fn deliver(&self, findings: &Findings) -> Result<(), SinkError>;
}

/// Publishes findings to live subscribers (the dashboard's live view, tests waiting for an
/// incident). Subscribers that fall behind miss batches rather than slowing the pipeline.
#[derive(Clone)]
pub struct BroadcastSink {
    tx: broadcast::Sender<Arc<Findings>>,
}

impl BroadcastSink {
    /// A broadcast sink keeping up to `capacity` batches for slow subscribers.
    pub fn new(capacity: usize) -> Self {
        BroadcastSink {
            tx: broadcast::channel(capacity.max(1)).0,
        }
    }

    /// A new subscriber that sees every batch from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Findings>> {
        self.tx.subscribe()
    }
}

#[async_trait]
impl Sink for BroadcastSink {
    fn name(&self) -> &str {
        "broadcast"
    }

    async fn deliver(&self, findings: &Findings) -> Result<(), SinkError> {
        // No subscriber is not an error.
        let _ = self.tx.send(Arc::new(findings.clone()));
        Ok(())
    }
}
