//! The seam for the tamper-evident audit log: a [`Recorder`] sees every batch of findings before
//! any [`Sink`](crate::Sink), appends it durably, and stamps each record's leaf index
//! (`ledger_index`) so that the store keeps it.

use async_trait::async_trait;
use ensuresec_store::Findings;

/// Why a recorder could not record a batch.
#[derive(Debug, thiserror::Error)]
#[error("recorder `{recorder}`: {message}")]
pub struct RecorderError {
    /// The recorder.
    pub recorder: String,
    /// What went wrong.
    pub message: String,
}

/// Records findings durably before they reach the sinks. Runs on the correlator task: a slow
/// recorder slows correlation (never ingest acknowledgement).
#[async_trait]
pub trait Recorder: Send + Sync + 'static {
    /// A stable name for logs and metrics.
    fn name(&self) -> &str;

    /// Appends the batch's alerts, incidents and actions and sets their `ledger_index`; returns
    /// only once they are durable.
    async fn record(&self, findings: &mut Findings) -> Result<(), RecorderError>;
}
