//! The gateway inside `ensuresec serve` ([`InProcess`]): events go straight to the serve's
//! ingestor (stored durably, then detected on), decisions come straight from the response
//! module's decision book and the fail-safe position from its switch, ages from its identity
//! gate. No HTTP, no token: the serve's own modules are the authority.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ensuresec_model::Clock;
use ensuresec_model::event::Event;
use ensuresec_pipeline::{Ingestor, SystemClock};
use ensuresec_respond::Responder;
use ensuresec_respond::decision::DecisionScope;
use ensuresec_respond::failsafe::Verdict;

use crate::age::AgeVerifier;
use crate::authority::Authority;
use crate::enforce::{Decisions, Sanction, Subject};
use crate::events::{self, Deliver, EventSink};

/// Longest an event waits before its batch is ingested.
pub const FLUSH: Duration = Duration::from_millis(100);
/// Most events per ingested batch (one durable commit each).
pub const MAX_BATCH: usize = 1000;

/// No version seen yet: the first request builds the index.
const NEVER: u64 = u64::MAX;

/// The serve's modules, reached directly.
pub struct InProcess {
    responder: Option<Arc<Responder>>,
    decisions: Decisions,
    /// The book's version the index was built from.
    seen: AtomicU64,
    /// Held by the one request that rebuilds the index; the others use the previous one.
    rebuilding: Mutex<()>,
    events: EventSink,
    ages: Option<Arc<dyn AgeVerifier>>,
}

impl std::fmt::Debug for InProcess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InProcess")
            .field("responder", &self.responder.is_some())
            .finish_non_exhaustive()
    }
}

impl InProcess {
    /// Links to the serve's `ingestor` and `responder` (none when the response module is
    /// disabled: nothing is enforced but the gateway's own configuration). Must run inside a
    /// tokio runtime: the event batcher starts here.
    pub fn start(ingestor: Ingestor, responder: Option<Arc<Responder>>) -> InProcess {
        if responder.is_none() {
            tracing::warn!("the response module is disabled: the gateway enforces no decisions");
        }
        InProcess {
            responder,
            decisions: Decisions::default(),
            seen: AtomicU64::new(NEVER),
            rebuilding: Mutex::new(()),
            events: events::start(ToIngestor(ingestor), MAX_BATCH, FLUSH),
            ages: None,
        }
    }

    /// Checks proofs of age at the gateway's `[[gateway.age_gates]]` with the serve's identity
    /// gate (`ages`).
    #[must_use]
    pub fn with_age_verifier(mut self, ages: Arc<dyn AgeVerifier>) -> InProcess {
        self.ages = Some(ages);
        self
    }

    /// Rebuilds the index when the book changed since it was built. One atomic load when it has
    /// not; a change is seen by the very next request.
    fn refresh(&self, responder: &Responder) {
        let book = responder.book();
        let version = book.version();
        if version == self.seen.load(Ordering::Acquire) {
            return;
        }
        let Ok(_guard) = self.rebuilding.try_lock() else {
            return;
        };
        if version == self.seen.load(Ordering::Acquire) {
            return;
        }
        let active = book.active(SystemClock.now(), usize::MAX, |d| {
            d.scope != DecisionScope::Card
        });
        self.decisions
            .replace(active.iter().map(|d| (d.kind, d.scope, d.value.as_str())));
        self.seen.store(version, Ordering::Release);
    }
}

impl Authority for InProcess {
    fn sanction(&self, who: &Subject<'_>) -> Option<Sanction> {
        let responder = self.responder.as_deref()?;
        self.refresh(responder);
        self.decisions.lookup(who)
    }

    fn failsafe(&self, group: &str, write: bool) -> Verdict {
        match &self.responder {
            Some(r) => r.failsafe().verdict(group, write),
            None => Verdict::Allow,
        }
    }

    fn report(&self, event: Event) {
        self.events.send(event);
    }

    fn age_verifier(&self) -> Option<&dyn AgeVerifier> {
        self.ages.as_deref()
    }
}

/// Batches given to the serve's ingestor: durable, then detected on, like any other source's.
struct ToIngestor(Ingestor);

impl Deliver for ToIngestor {
    async fn deliver(&self, batch: Vec<Event>) -> Result<(), String> {
        self.0
            .ingest(batch)
            .await
            .map(drop)
            .map_err(|e| e.to_string())
    }
}
