//! The shared vocabulary of ensuresec: what an event, an entity, an alert and an incident are, and
//! the [`Detector`] trait that every detection module implements.
//!
//! Architecture invariant: this crate does no IO, spawns nothing and never reads the clock. Every
//! other crate depends on it, so it stays small and fast to compile.

pub mod action;
pub mod alert;
pub mod decode;
pub mod detector;
pub mod entity;
pub mod event;
#[cfg(feature = "fixtures")]
pub mod fixtures;
pub mod hash;
pub mod incident;
pub mod limits;
pub mod ocsf;
pub mod schema;
pub mod severity;

pub use action::{Action, ActionId};
pub use alert::{Alert, AlertId};
pub use decode::{DecodeError, check_time, decode_batch, decode_line, is_ndjson};
pub use detector::{AlertChain, Detector};
pub use entity::{EntityKey, EntityKind, EntityRef};
pub use event::{Event, EventData, EventType};
pub use incident::{Incident, IncidentId, IncidentStatus, Transition};
pub use limits::Limits;
pub use severity::Severity;

/// Where the wall-clock time comes from. Detection never reads it; the edges of the system (the
/// ingest path, the correlator's lifecycle records) do, through this trait, so that tests can fix
/// the time.
pub trait Clock: Send + Sync + 'static {
    /// The current time.
    fn now(&self) -> chrono::DateTime<chrono::Utc>;
}
