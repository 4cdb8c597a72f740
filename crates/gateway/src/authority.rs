//! Where the gateway's orders come from and its events go. One request path enforces whatever
//! an [`Authority`] says, whichever it is:
//! - [`Remote`](crate::link::Remote): a separate `ensuresec serve`, reached over HTTP (decision
//!   stream and fail-safe switch polled, events posted in batches);
//! - [`InProcess`](crate::inprocess::InProcess): the serve the gateway runs inside, its decision
//!   book, fail-safe switch and ingestor reached directly;
//! - [`Standalone`]: nothing; the gateway only inspects and applies its local configuration.

use ensuresec_model::event::Event;
use ensuresec_respond::failsafe::Verdict;

use crate::age::AgeVerifier;
use crate::enforce::{Sanction, Subject};

/// The response module and the pipeline, as the gateway sees them.
pub trait Authority: Send + Sync {
    /// The strongest sanction in force for `who`, if any.
    fn sanction(&self, who: &Subject<'_>) -> Option<Sanction>;

    /// The platform's fail-safe verdict for a request to route group `group`; `write` for
    /// anything but GET, HEAD and OPTIONS.
    fn failsafe(&self, group: &str, write: bool) -> Verdict;

    /// Whether events are wanted at all (building them costs time on every request).
    fn reports(&self) -> bool {
        true
    }

    /// Hands one request's event to the pipeline (queued; never waits).
    fn report(&self, event: Event);

    /// The platform's identity gate, for checkouts under `[[gateway.age_gates]]`; `None` when
    /// this authority has none (such a gateway refuses to start with age gates).
    fn age_verifier(&self) -> Option<&dyn AgeVerifier> {
        None
    }
}

/// A gateway linked to no platform: no decisions, no platform fail-safe, events dropped.
#[derive(Debug, Default)]
pub struct Standalone;

impl Authority for Standalone {
    fn sanction(&self, _who: &Subject<'_>) -> Option<Sanction> {
        None
    }

    fn failsafe(&self, _group: &str, _write: bool) -> Verdict {
        Verdict::Allow
    }

    fn reports(&self) -> bool {
        false
    }

    fn report(&self, _event: Event) {}
}
