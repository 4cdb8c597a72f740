//! The seam where detection modules plug into the pipeline.

use std::sync::Arc;

use crate::alert::Alert;
use crate::entity::EntityKind;
use crate::event::{Event, EventType};

/// A detector turns events into alerts.
///
/// The pipeline runs one instance per partition and sends each instance only the events whose
/// [`group_by`](Detector::group_by) entity hashes to its partition, so an instance owns its state
/// outright: no locks. Detectors are pure: they never read the clock (event time is in the event)
/// and do no IO, so replaying the same events gives the same alerts.
pub trait Detector: Send + 'static {
    /// A stable name, used in alerts, metrics and logs.
    fn name(&self) -> &str;

    /// The entity kind whose values route events to this detector's partitions; `None` for
    /// stateless detectors, which may see any event on any partition.
    fn group_by(&self) -> Option<EntityKind>;

    /// Whether this detector wants events of this type (lets the pipeline skip it cheaply).
    fn accepts(&self, event_type: EventType) -> bool;

    /// Looks at one event and appends any alerts to `out`.
    fn on_event(&mut self, event: &Event, out: &mut Vec<Alert>);

    /// How many entities it currently keeps state for (reported as a metric).
    fn tracked_entities(&self) -> usize {
        0
    }
}

/// Makes a fresh detector instance for one partition.
pub type DetectorFactory = Arc<dyn Fn() -> Box<dyn Detector> + Send + Sync>;

/// A chain turns other detectors' alerts into new alerts: a pattern that spans modules (an
/// account taken over on the web, then its parcel redirected on the road) shows only once the
/// alerts of both are side by side.
///
/// The pipeline runs one instance, in the correlator task, over every alert before correlation;
/// the alerts it derives are correlated with the rest but not fed back into chains. Pure, like
/// detectors: alert time is event time, no clock, no IO.
pub trait AlertChain: Send + 'static {
    /// A stable name, for logs.
    fn name(&self) -> &str;

    /// Looks at one alert and appends any derived alerts to `out`.
    fn on_alert(&mut self, alert: &Alert, out: &mut Vec<Alert>);
}
