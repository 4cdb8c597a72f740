//! The event pipeline: sources → normalise → detect → correlate → sinks.
//!
//! * [`Ingestor`] is the one entry for events: it stamps the ingest time, makes the batch durable
//!   in the [`Store`](ensuresec_store::Store) and only then hands it to the pipeline, waiting when
//!   the pipeline is full (back-pressure reaches the client), and notes when each source was last
//!   heard from ([`last_seen`], for heartbeat health checks).
//! * [`Pipeline`] runs one worker thread per partition. Every worker holds its own instance of
//!   every detector and processes only the events whose grouping entity hashes to it, so detector
//!   state needs no locks.
//! * One correlator task turns alerts into incidents, stores the findings with how far
//!   detection has come (writing a refused round again until the store takes it, see
//!   [`StoreHealth`]; [`Pipeline::resume`] takes detection up from there after a restart), and
//!   then hands them to every [`Sink`].
//!
//! New sources implement [`Source`]; new detectors implement
//! [`Detector`](ensuresec_model::Detector) and are registered in [`detectors`]; new responders
//! implement [`Sink`].

mod clock;
pub mod detectors;
pub mod external;
pub mod file_change;
mod ingest;
pub mod integrity;
pub mod last_seen;
pub mod metric;
pub mod page_change;
mod pipeline;
mod recorder;
mod resume;
mod sink;
mod source;
mod store_writer;

pub use clock::SystemClock;
pub use ingest::{IngestError, Ingestor};
pub use pipeline::{Batch, LifecycleHandle, Pipeline, PipelineConfig, PipelineHandle};
pub use recorder::{Recorder, RecorderError};
pub use resume::ResumeError;
pub use sink::{BroadcastSink, Sink, SinkError};
pub use source::{Source, SourceError};
pub use store_writer::{RetryPolicy, StoreHealth};
