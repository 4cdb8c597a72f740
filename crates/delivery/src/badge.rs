//! Badge use after hours in zones holding controlled medicines, judged in each zone's own time
//! zone (so that daylight-saving changes move the hours with the clock on the wall).

use std::sync::Arc;

use chrono::Datelike;
use ensuresec_model::event::BadgeDirection;
use ensuresec_model::{Alert, Detector, EntityKey, EntityKind, Event, EventData, EventType};
use serde_json::json;

use crate::finding::{DETECTOR, Rule};
use crate::rules::{DeliveryRules, ZoneHours};

/// Stateless: every granted entry into a listed zone is checked against its hours.
pub struct BadgeDetector {
    rules: Arc<DeliveryRules>,
}

impl BadgeDetector {
    /// A detector with these rules.
    pub fn new(rules: Arc<DeliveryRules>) -> BadgeDetector {
        BadgeDetector { rules }
    }
}

/// Whether the zone is open at `at` (its opening hours may run past midnight).
pub fn is_open(hours: &ZoneHours, at: chrono::DateTime<chrono::Utc>) -> bool {
    let local = at.with_timezone(&hours.timezone);
    let t = local.time();
    let (day, in_hours) = if hours.open < hours.close {
        (local.weekday(), t >= hours.open && t < hours.close)
    } else if t >= hours.open {
        (local.weekday(), true)
    } else {
        // Past midnight of a shift that began the day before.
        (local.weekday().pred(), t < hours.close)
    };
    in_hours && hours.days.contains(&day)
}

impl Detector for BadgeDetector {
    fn name(&self) -> &str {
        DETECTOR
    }

    fn group_by(&self) -> Option<EntityKind> {
        None
    }

    fn accepts(&self, event_type: EventType) -> bool {
        event_type == EventType::BadgeAccess
    }

    fn on_event(&mut self, event: &Event, out: &mut Vec<Alert>) {
        let EventData::BadgeAccess(b) = &event.data else {
            return;
        };
        if b.direction != BadgeDirection::In || !b.granted {
            return;
        }
        let Some(hours) = self.rules.badges.get(&b.zone) else {
            return;
        };
        if is_open(hours, event.time) {
            return;
        }
        let local = event.time.with_timezone(&hours.timezone);
        out.push(Rule::BadgeAfterHours.alert(
            event.time,
            EntityKey::new(EntityKind::Account, &b.badge),
            format!("Badge {} entered {} after hours ({})", b.badge, b.zone, local.format("%a %H:%M %Z")),
            json!({"zone": b.zone, "door": b.door, "local_time": local.to_rfc3339(),
                   "open": hours.open.format("%H:%M").to_string(), "close": hours.close.format("%H:%M").to_string()}),
        ));
    }
}
