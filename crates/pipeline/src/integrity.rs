//! The integrity detector: what the file-integrity monitor (`file_change`), the payment-page
//! monitor (`page_change`) and browsers' CSP reports (`csp_violation`) tell becomes one alert
//! each. The monitors only emit what is worth telling, so the detector is stateless and runs on
//! whichever partition the event lands on; the alerts themselves are built in
//! [`crate::file_change`] and [`crate::page_change`].

use ensuresec_model::{Alert, Detector, EntityKind, Event, EventData, EventType};

use crate::file_change::alert_of;
use crate::page_change::{csp_alert, page_alert};

/// One alert per `file_change`, `page_change` or `csp_violation` event.
#[derive(Debug, Default)]
pub struct IntegrityDetector;

impl Detector for IntegrityDetector {
    fn name(&self) -> &str {
        "integrity"
    }

    fn group_by(&self) -> Option<EntityKind> {
        None
    }

    fn accepts(&self, event_type: EventType) -> bool {
        matches!(
            event_type,
            EventType::FileChange | EventType::PageChange | EventType::CspViolation
        )
    }

    fn on_event(&mut self, event: &Event, out: &mut Vec<Alert>) {
        match &event.data {
            EventData::FileChange(f) => out.push(alert_of(event, f)),
            EventData::PageChange(p) => out.push(page_alert(event, p)),
            EventData::CspViolation(v) => out.push(csp_alert(event, v)),
            _ => {}
        }
    }
}
