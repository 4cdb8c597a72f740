//! The real clock, used at the edges of the system.

use chrono::{DateTime, Utc};
use ensuresec_model::Clock;

/// The system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)] // the one sanctioned place that reads the wall clock
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}
