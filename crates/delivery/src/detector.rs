//! The parcel detector: routes plans, scans, tracker readings and claims to each parcel's state,
//! keeps the trackers' silence deadlines against the partition's event time, and bounds memory
//! (idle parcels are forgotten, the least recently seen evicted past the ceiling).

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use ensuresec_model::{Alert, Detector, EntityKind, Event, EventData, EventType};

use crate::finding::DETECTOR;
use crate::parcel::{Ctx, Parcel};
use crate::rules::DeliveryRules;

/// Events between sweeps of idle parcels.
const SWEEP_EVERY: u32 = 4_096;

/// Watches parcels; one instance per pipeline partition, grouped by parcel.
pub struct ParcelDetector {
    rules: Arc<DeliveryRules>,
    class_names: Vec<String>,
    parcels: HashMap<Box<str>, Parcel>,
    deadlines: BTreeSet<(i64, Box<str>)>,
    watermark: i64,
    since_sweep: u32,
    evicted: u64,
}

impl ParcelDetector {
    /// A detector with these rules.
    pub fn new(rules: Arc<DeliveryRules>) -> ParcelDetector {
        let class_names = rules.product_classes.keys().cloned().collect();
        ParcelDetector {
            rules,
            class_names,
            parcels: HashMap::new(),
            deadlines: BTreeSet::new(),
            watermark: i64::MIN,
            since_sweep: 0,
            evicted: 0,
        }
    }

    /// Parcels forgotten to stay under the ceiling (idle ones are not counted).
    pub fn evicted(&self) -> u64 {
        self.evicted
    }

    /// Bytes of parcel state: the table's entries and what each parcel holds on the heap.
    pub fn state_bytes(&self) -> usize {
        let entry = std::mem::size_of::<(Box<str>, Parcel)>() + 1;
        self.parcels.capacity() * entry
            + self
                .parcels
                .iter()
                .map(|(k, p)| k.len() + p.heap_bytes())
                .sum::<usize>()
            + self
                .deadlines
                .iter()
                .map(|(_, k)| std::mem::size_of::<(i64, Box<str>)>() + 32 + k.len())
                .sum::<usize>()
    }

    fn handle(&mut self, event: &Event, parcel_id: &str, out: &mut Vec<Alert>) {
        if !self.parcels.contains_key(parcel_id) {
            self.parcels.insert(parcel_id.into(), Parcel::default());
        }
        let Some(parcel) = self.parcels.get_mut(parcel_id) else {
            return;
        };
        let mut cx = Ctx {
            rules: &self.rules,
            class_names: &self.class_names,
            parcel_id,
            time: event.time,
            out,
        };
        match &event.data {
            EventData::DeliveryPlan(p) => parcel.on_plan(&mut cx, p),
            EventData::DeliveryScan(s) => parcel.on_scan(&mut cx, s),
            EventData::SensorReading(r) => parcel.on_reading(&mut cx, r),
            EventData::DeliveryClaim(c) => parcel.on_claim(&mut cx, c),
            _ => {}
        }
        parcel.last_seen = parcel.last_seen.max(event.time.timestamp());
        // The silence queue is lazy: a parcel is queued once, at its deadline then; a deadline
        // that moved later is found when the entry comes due and queued again, so that readings
        // (which move it every time) do not touch the queue.
        if parcel.queued.is_none()
            && let Some(d) = parcel.deadline
        {
            parcel.queued = Some(d);
            self.deadlines.insert((d, parcel_id.into()));
        }
    }

    fn expire_silent(&mut self, event: &Event, out: &mut Vec<Alert>) {
        while self
            .deadlines
            .first()
            .is_some_and(|(due, _)| *due < self.watermark)
        {
            let Some((due, id)) = self.deadlines.pop_first() else {
                break;
            };
            let Some(parcel) = self.parcels.get_mut(&id) else {
                continue;
            };
            if parcel.queued != Some(due) {
                continue; // a stale entry
            }
            parcel.queued = None;
            match parcel.deadline {
                Some(d) if d >= self.watermark => {
                    parcel.queued = Some(d);
                    self.deadlines.insert((d, id));
                }
                Some(_) => {
                    let mut cx = Ctx {
                        rules: &self.rules,
                        class_names: &self.class_names,
                        parcel_id: &id,
                        time: event.time,
                        out,
                    };
                    parcel.on_silence(&mut cx);
                }
                None => {}
            }
        }
    }

    fn bound(&mut self) {
        self.since_sweep += 1;
        let limits = self.rules.limits;
        if self.since_sweep >= SWEEP_EVERY {
            self.since_sweep = 0;
            let oldest = self.watermark - (limits.idle_days * 86_400.0) as i64;
            self.forget(|p| p.last_seen < oldest);
        }
        if self.parcels.len() > limits.max_entities {
            // Evict the least recently seen sixteenth at once, so that eviction is amortised.
            let mut seen: Vec<i64> = self.parcels.values().map(|p| p.last_seen).collect();
            let k = (limits.max_entities / 16).max(1).min(seen.len() - 1);
            let (_, cut, _) = seen.select_nth_unstable(k);
            let cut = *cut;
            let before = self.parcels.len();
            self.forget(|p| p.last_seen < cut);
            if self.parcels.len() == before {
                self.forget(|p| p.last_seen <= cut);
            }
            self.evicted += (before - self.parcels.len()) as u64;
        }
    }

    fn forget(&mut self, gone: impl Fn(&Parcel) -> bool) {
        let deadlines = &mut self.deadlines;
        self.parcels.retain(|id, p| {
            let drop = gone(p);
            if drop && let Some(d) = p.queued {
                deadlines.remove(&(d, id.clone()));
            }
            !drop
        });
    }
}

impl Detector for ParcelDetector {
    fn name(&self) -> &str {
        DETECTOR
    }

    fn group_by(&self) -> Option<EntityKind> {
        Some(EntityKind::Parcel)
    }

    fn accepts(&self, event_type: EventType) -> bool {
        matches!(
            event_type,
            EventType::DeliveryPlan
                | EventType::DeliveryScan
                | EventType::SensorReading
                | EventType::DeliveryClaim
        )
    }

    fn on_event(&mut self, event: &Event, out: &mut Vec<Alert>) {
        let parcel_id = match &event.data {
            EventData::DeliveryPlan(p) => p.parcel_id.as_str(),
            EventData::DeliveryScan(s) => s.parcel_id.as_str(),
            EventData::DeliveryClaim(c) => c.parcel_id.as_str(),
            EventData::SensorReading(r) => match r.parcel_id.as_deref() {
                Some(id) => id,
                None => return,
            },
            _ => return,
        };
        self.watermark = self.watermark.max(event.time.timestamp());
        self.handle(event, parcel_id, out);
        self.expire_silent(event, out);
        self.bound();
    }

    fn tracked_entities(&self) -> usize {
        self.parcels.len()
    }
}
