//! Serial claimers: many delivery claims from one account, or from one device across accounts,
//! within the configured window. Whether each single claim holds is judged by the parcel detector.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use ensuresec_model::{Alert, Detector, EntityKey, EntityKind, Event, EventData, EventType};
use serde_json::json;

use crate::finding::{DETECTOR, Rule};
use crate::rules::DeliveryRules;

#[derive(Debug, Default)]
struct Claimant {
    /// Times and parcels of the claims in the window, oldest first.
    claims: VecDeque<(i64, Box<str>)>,
    /// The window's end when the last alert fired: no second alert before it.
    quiet_until: i64,
}

/// Counts claims per account or per device.
pub struct SerialClaimDetector {
    kind: EntityKind,
    rules: Arc<DeliveryRules>,
    claimants: HashMap<Box<str>, Claimant>,
}

impl SerialClaimDetector {
    /// Counts by `kind`: [`EntityKind::Account`] or [`EntityKind::Device`].
    pub fn new(kind: EntityKind, rules: Arc<DeliveryRules>) -> SerialClaimDetector {
        SerialClaimDetector {
            kind,
            rules,
            claimants: HashMap::new(),
        }
    }
}

impl Detector for SerialClaimDetector {
    fn name(&self) -> &str {
        DETECTOR
    }

    fn group_by(&self) -> Option<EntityKind> {
        Some(self.kind)
    }

    fn accepts(&self, event_type: EventType) -> bool {
        event_type == EventType::DeliveryClaim
    }

    fn on_event(&mut self, event: &Event, out: &mut Vec<Alert>) {
        let EventData::DeliveryClaim(c) = &event.data else {
            return;
        };
        let (key, rule) = match self.kind {
            EntityKind::Device => match c.device.as_deref() {
                Some(d) => (d, Rule::SerialClaimerDevice),
                None => return,
            },
            _ => (c.account.as_str(), Rule::SerialClaimerAccount),
        };
        let rules = &self.rules.claims;
        let window = (rules.window_days * 86_400.0) as i64;
        let at = event.time.timestamp();
        if !self.claimants.contains_key(key) {
            if self.claimants.len() >= self.rules.limits.max_entities {
                // Past the ceiling, claimants whose claims all left the window go first.
                self.claimants
                    .retain(|_, v| v.claims.back().is_some_and(|(t, _)| *t > at - window));
            }
            self.claimants.insert(key.into(), Claimant::default());
        }
        let Some(who) = self.claimants.get_mut(key) else {
            return;
        };
        if who.claims.iter().any(|(_, p)| **p == *c.parcel_id) {
            return; // the same parcel claimed again is one claim
        }
        while who.claims.front().is_some_and(|(t, _)| *t <= at - window) {
            who.claims.pop_front();
        }
        who.claims.push_back((at, c.parcel_id.as_str().into()));
        let n = who.claims.len() as u32;
        while who.claims.len() > rules.serial_claims as usize {
            who.claims.pop_front();
        }
        if n >= rules.serial_claims && at >= who.quiet_until {
            who.quiet_until = at + window;
            let parcels: Vec<&str> = who.claims.iter().map(|(_, p)| &**p).collect();
            out.push(rule.alert(
                event.time,
                EntityKey::new(self.kind, key),
                format!("{n} delivery claims from {} {key} in {} days", self.kind.as_str(), rules.window_days),
                json!({"claims": n, "parcels": parcels, "window_days": rules.window_days, "accounts_seen": c.account}),
            ));
        }
    }

    fn tracked_entities(&self) -> usize {
        self.claimants.len()
    }
}
