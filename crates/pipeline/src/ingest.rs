//! The one entry for events: stamp, store durably, then detect.

use std::sync::Arc;
use std::time::Instant;

use ensuresec_model::{Clock, Event, EventType};
use ensuresec_store::{Appended, MessageMark, Resend, SeqRange, Store, StoreError};

use crate::last_seen::LastSeen;
use crate::metric as m;
use crate::pipeline::{Batch, PipelineHandle};

/// Why a batch was not ingested.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The store could not make it durable; nothing of the batch was acknowledged.
    #[error("storing the batch failed: {0}")]
    Store(#[from] StoreError),
    /// The batch is durable but the pipeline has stopped (shutdown under way).
    #[error("the batch is stored but detection has stopped")]
    PipelineStopped,
}

/// Stores batches durably and feeds them to the pipeline. Cheap to clone.
#[derive(Clone)]
pub struct Ingestor {
    store: Arc<dyn Store>,
    pipeline: PipelineHandle,
    clock: Arc<dyn Clock>,
    last_seen: Arc<LastSeen>,
}

impl Ingestor {
    /// An ingestor writing to `store` and feeding `pipeline`.
    pub fn new(store: Arc<dyn Store>, pipeline: PipelineHandle, clock: Arc<dyn Clock>) -> Self {
        Ingestor {
            store,
            pipeline,
            clock,
            last_seen: Arc::default(),
        }
    }

    /// When each source last sent an event through this ingestor (or a clone of it).
    pub fn last_seen(&self) -> &Arc<LastSeen> {
        &self.last_seen
    }

    /// Ingests one batch: when this returns `Ok`, every event of it is durable and queued for
    /// detection. On `Err`, nothing of the batch is acknowledged.
    pub async fn ingest(&self, events: Vec<Event>) -> Result<SeqRange, IngestError> {
        Ok(self
            .ingest_batch(events, None, Resend::Unknown)
            .await?
            .range())
    }

    /// Like [`ingest`](Self::ingest), keeping `raw_ndjson` — the NDJSON the events were decoded
    /// from, whose non-blank lines are exactly `events` — as the stored form.
    pub async fn ingest_ndjson(
        &self,
        events: Vec<Event>,
        raw_ndjson: &[u8],
    ) -> Result<SeqRange, IngestError> {
        Ok(self
            .ingest_batch(events, Some(raw_ndjson), Resend::Unknown)
            .await?
            .range())
    }

    /// Like [`ingest`](Self::ingest) or [`ingest_ndjson`](Self::ingest_ndjson) (with
    /// `raw_ndjson`), telling a batch sent again as `resend` says. With [`Resend::Key`], at most
    /// once per key: a batch stored under it before is answered with [`Appended::Earlier`] and is
    /// neither stored nor detected again (the first time it was, or a restart will). With
    /// [`Resend::Marks`], the marks are kept with the batch for [`is_stored`](Self::is_stored).
    pub async fn ingest_batch(
        &self,
        mut events: Vec<Event>,
        raw_ndjson: Option<&[u8]>,
        resend: Resend,
    ) -> Result<Appended, IngestError> {
        if events.is_empty() {
            return Ok(Appended::Stored(SeqRange { first: 0, len: 0 }));
        }
        let received = Instant::now();
        let now = self.clock.now();
        for e in &mut events {
            e.ingest_time = Some(now);
        }
        let range = match self.store.append_batch(&events, raw_ndjson, resend).await? {
            Appended::Stored(range) => range,
            earlier @ Appended::Earlier(_) => {
                metrics::counter!(m::BATCHES_SENT_AGAIN).increment(1);
                return Ok(earlier);
            }
        };
        self.last_seen.note(&events, now);
        // Counted per type once per batch: a metric lookup per event costs more than it tells.
        let mut per_type = [0u64; EventType::ALL.len()];
        for e in &events {
            per_type[e.event_type() as usize] += 1;
        }
        for (ty, n) in EventType::ALL.iter().zip(per_type) {
            if n > 0 {
                metrics::counter!(m::EVENTS_INGESTED, "type" => ty.as_str()).increment(n);
            }
        }
        self.pipeline
            .submit(Batch {
                events,
                first_seq: range.first,
                received,
            })
            .await
            .map_err(|_| IngestError::PipelineStopped)?;
        Ok(Appended::Stored(range))
    }

    /// Whether the message of `mark` is in a stored batch (ingested with [`Resend::Marks`]):
    /// a copy its source delivers again is then to be left out.
    pub async fn is_stored(&self, mark: &MessageMark) -> Result<bool, IngestError> {
        Ok(self.store.is_marked(mark).await?)
    }
}
