//! The seam for event sources: anything that produces events (an HTTP endpoint, a log tail, a
//! broker subscription, the simulator) and hands them to an [`Ingestor`].

use async_trait::async_trait;

use crate::Ingestor;

/// Why a source stopped.
#[derive(Debug, thiserror::Error)]
#[error("source `{source_name}`: {message}")]
pub struct SourceError {
    /// The source.
    pub source_name: String,
    /// What went wrong.
    pub message: String,
}

/// Produces events until it is done or the ingestor refuses.
#[async_trait]
pub trait Source: Send + 'static {
    /// A stable name for logs and metrics.
    fn name(&self) -> &str;

    /// Runs the source to its end.
    async fn run(self: Box<Self>, ingestor: Ingestor) -> Result<(), SourceError>;
}
