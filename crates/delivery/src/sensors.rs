//! Sensor health, per sensor: readings that cannot be real (a temperature stuck at one value, or
//! changing faster than a parcel or a fridge can), a battery about to die, and fixed sensors
//! (lockers, fridges, rooms) that fall silent. Parcel trackers' silence is judged by the parcel
//! detector, which knows when a parcel was delivered and its tracker may stop.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use ensuresec_model::{Alert, Detector, EntityKey, EntityKind, Event, EventData, EventType};
use serde_json::json;

use crate::finding::{DETECTOR, Rule};
use crate::rules::DeliveryRules;

#[derive(Debug, Default)]
struct Sensor {
    last: Option<(i64, f32)>,
    same: u32,
    deadline: Option<i64>,
    fired: u8,
    last_seen: i64,
}

const FLATLINE: u8 = 1;
const IMPOSSIBLE: u8 = 2;
const BATTERY: u8 = 4;

/// Watches every sensor's readings; grouped by the sensor (the device entity).
pub struct SensorHealthDetector {
    rules: Arc<DeliveryRules>,
    sensors: HashMap<Box<str>, Sensor>,
    deadlines: BTreeSet<(i64, Box<str>)>,
    watermark: i64,
}

impl SensorHealthDetector {
    /// A detector with these rules.
    pub fn new(rules: Arc<DeliveryRules>) -> SensorHealthDetector {
        SensorHealthDetector {
            rules,
            sensors: HashMap::new(),
            deadlines: BTreeSet::new(),
            watermark: i64::MIN,
        }
    }

    fn bound(&mut self) {
        let limits = self.rules.limits;
        if self.sensors.len() <= limits.max_entities {
            return;
        }
        // Past the ceiling, sensors idle for the configured time go first, then the oldest half.
        let idle = self.watermark - (limits.idle_days * 86_400.0) as i64;
        let mut seen: Vec<i64> = self.sensors.values().map(|s| s.last_seen).collect();
        let half = seen.len() / 2;
        let (_, median, _) = seen.select_nth_unstable(half);
        let cut = idle.max(*median);
        let deadlines = &mut self.deadlines;
        self.sensors.retain(|id, s| {
            let keep = s.last_seen > cut;
            if !keep && let Some(d) = s.deadline {
                deadlines.remove(&(d, id.clone()));
            }
            keep
        });
    }
}

impl Detector for SensorHealthDetector {
    fn name(&self) -> &str {
        DETECTOR
    }

    fn group_by(&self) -> Option<EntityKind> {
        Some(EntityKind::Device)
    }

    fn accepts(&self, event_type: EventType) -> bool {
        event_type == EventType::SensorReading
    }

    fn on_event(&mut self, event: &Event, out: &mut Vec<Alert>) {
        let EventData::SensorReading(r) = &event.data else {
            return;
        };
        let at = event.time.timestamp();
        self.watermark = self.watermark.max(at);
        let rules = &self.rules.sensors;
        if !self.sensors.contains_key(r.sensor.as_str()) {
            self.sensors
                .insert(r.sensor.as_str().into(), Sensor::default());
        }
        let Some(s) = self.sensors.get_mut(r.sensor.as_str()) else {
            return;
        };
        s.last_seen = s.last_seen.max(at);
        let entity = || EntityKey::new(EntityKind::Device, &r.sensor);
        let mut raise = |s: &mut Sensor, flag: u8, rule: Rule, title: String, evidence| {
            if s.fired & flag == 0 {
                s.fired |= flag;
                out.push(rule.alert(event.time, entity(), title, evidence));
            }
        };
        if let Some(b) = r.battery_pct
            && b < rules.low_battery_pct
        {
            raise(
                s,
                BATTERY,
                Rule::SensorLowBattery,
                format!("Sensor {}'s battery is at {b:.0} %", r.sensor),
                json!({"battery_pct": b, "parcel_id": r.parcel_id, "asset": r.asset}),
            );
        }
        if let Some(t) = r.temperature_c {
            match s.last {
                Some((prev_at, _)) if at <= prev_at => {} // late or duplicate
                Some((prev_at, prev)) => {
                    let per_min = (t - f64::from(prev)).abs() / ((at - prev_at) as f64 / 60.0);
                    if per_min > rules.max_change_c_per_min {
                        raise(
                            s,
                            IMPOSSIBLE,
                            Rule::SensorImpossibleChange,
                            format!(
                                "Sensor {}'s temperature changed {per_min:.1} °C per minute",
                                r.sensor
                            ),
                            json!({"from_c": prev, "to_c": t, "seconds": at - prev_at, "parcel_id": r.parcel_id, "asset": r.asset}),
                        );
                    }
                    s.same = if t as f32 == prev { s.same + 1 } else { 1 };
                    if s.same >= rules.flatline_readings {
                        raise(
                            s,
                            FLATLINE,
                            Rule::SensorFlatline,
                            format!(
                                "Sensor {} reported {t} °C {} times in a row",
                                r.sensor, s.same
                            ),
                            json!({"temperature_c": t, "readings": s.same, "parcel_id": r.parcel_id, "asset": r.asset}),
                        );
                    }
                    s.last = Some((at, t as f32));
                }
                None => {
                    s.same = 1;
                    s.last = Some((at, t as f32));
                }
            }
        }
        if r.parcel_id.is_none() && r.asset.is_some() {
            let deadline = at + (rules.heartbeat_seconds * rules.silence_intervals) as i64;
            if s.deadline.is_none_or(|d| deadline > d) {
                if let Some(d) = s.deadline {
                    self.deadlines.remove(&(d, r.sensor.as_str().into()));
                }
                s.deadline = Some(deadline);
                self.deadlines.insert((deadline, r.sensor.as_str().into()));
            }
        }
        while let Some((deadline, id)) = self.deadlines.first().cloned() {
            if deadline >= self.watermark {
                break;
            }
            self.deadlines.pop_first();
            if let Some(s) = self.sensors.get_mut(&id) {
                s.deadline = None;
                let last = s.last.map(|(t, _)| t);
                out.push(Rule::SensorSilent.alert(
                    event.time,
                    EntityKey::new(EntityKind::Device, &id),
                    format!("Fixed sensor {id} went silent"),
                    json!({"last_reading_unix": last, "silent_after_s": rules.heartbeat_seconds * rules.silence_intervals}),
                ));
            }
        }
        self.bound();
    }

    fn tracked_entities(&self) -> usize {
        self.sensors.len()
    }
}
