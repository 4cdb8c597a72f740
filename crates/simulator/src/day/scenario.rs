//! The delivery day's scenario: every parameter of the city, the couriers, the parcels, the
//! sensors, the staff and the injected attacks, loaded from YAML and validated with the key named.

use std::collections::BTreeMap;

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::Deserialize;

use crate::SimError;

/// The scenario shipped with ensuresec: a pharmacy's day of deliveries in Berlin.
pub const DEFAULT_DAY: &str = include_str!("../../profiles/delivery.yaml");

/// A position in degrees.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LatLon {
    /// Latitude.
    pub lat: f64,
    /// Longitude.
    pub lon: f64,
}

/// A named place (a depot).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Place {
    /// Its name, used as the hub in scans.
    pub name: String,
    /// Latitude.
    pub lat: f64,
    /// Longitude.
    pub lon: f64,
}

/// A closed range `[low, high]` drawn from uniformly.
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct Range(pub [f64; 2]);

impl Range {
    /// A uniform draw.
    pub fn draw(self, rng: &mut ChaCha8Rng) -> f64 {
        let [lo, hi] = self.0;
        if hi > lo {
            rng.random_range(lo..=hi)
        } else {
            lo
        }
    }

    fn check(self, key: &str) -> Result<(), String> {
        let [lo, hi] = self.0;
        if lo.is_finite() && hi.is_finite() && lo <= hi {
            Ok(())
        } else {
            Err(format!("{key}: must be [low, high] with low ≤ high"))
        }
    }
}

/// The city: where routes run.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct City {
    /// Its centre.
    pub center: LatLon,
    /// Customers live within this distance of the centre, km.
    pub radius_km: f64,
    /// Street grid spacing, m.
    pub block_m: f64,
    /// The grid's rotation against north, degrees.
    pub grid_bearing_deg: f64,
    /// Where parcels are picked up.
    pub pharmacy: LatLon,
    /// The carrier's depots (hubs).
    pub depots: Vec<Place>,
}

/// The couriers and their tours.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Couriers {
    /// How many.
    pub count: u32,
    /// Parcels per courier.
    pub parcels: Range,
    /// The planned shift, UTC hours.
    pub shift_hours: Range,
    /// Departure from the depot, UTC hours.
    pub depart_hour: Range,
    /// Speed per leg, km/h.
    pub speed_kmh: Range,
    /// Length of a traffic stop, s.
    pub traffic_stop_seconds: Range,
    /// Time at each delivery, min.
    pub dwell_minutes: Range,
    /// Share of delivered scans with a photo.
    pub photo_share: f64,
    /// Share of failed attempts.
    pub failed_share: f64,
    /// Share of couriers (of vans no attack strikes) who take their break in the van, parked
    /// away from any stop: benign, and not in the plan.
    pub break_share: f64,
    /// Length of that break, min.
    pub break_minutes: f64,
}

/// The parcels.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Parcels {
    /// Share of refrigerated parcels.
    pub cold_share: f64,
    /// Packed weight, g.
    pub weight_grams: Range,
    /// Pickup at the pharmacy, UTC hours.
    pub pickup_hour: Range,
    /// Hub out, UTC hours.
    pub hub_out_hour: Range,
    /// The order was paid this long before pickup, hours.
    pub order_hours_before: Range,
}

/// Trackers and fixed sensors.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sensors {
    /// Reporting interval, s.
    pub interval_seconds: u32,
    /// GPS noise, m.
    pub gps_noise_m: f64,
    /// A cold parcel's set point, °C.
    pub cold_setpoint_c: Range,
    /// An ambient parcel's temperature, °C.
    pub ambient_c: Range,
    /// Noise of temperature readings, °C.
    pub noise_c: f64,
    /// Warming of a cold parcel while the van door is open, °C.
    pub door_bump_c: f64,
    /// Initial battery, %.
    pub battery_pct: Range,
    /// Battery drain, % per hour.
    pub battery_drain_pct_per_hour: Range,
    /// Share of readings uploaded late.
    pub late_upload_share: f64,
    /// Share of readings sent twice.
    pub duplicate_share: f64,
    /// Fixed sensors (fridges, rooms, lockers).
    pub fixed: u32,
    /// Their temperature, °C.
    pub fixed_c: Range,
}

/// Warehouse staff with badges.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Staff {
    /// How many badges.
    pub badges: u32,
    /// The zone their doors lead into.
    pub zone: String,
    /// Entries per person and day.
    pub entries_per_day: Range,
    /// When they enter, UTC hours.
    pub hours: Range,
}

/// What ordinary customers do that looks a little like an attack.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Customers {
    /// Share who change the delivery address (and the carrier re-plans).
    pub address_change_share: f64,
    /// Share who reset their password from their usual device.
    pub password_reset_share: f64,
    /// Share who log in from a new device.
    pub new_device_share: f64,
}

/// A parameter of an attack: one number or a range.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(untagged)]
pub enum Param {
    /// One number.
    One(f64),
    /// A range drawn from.
    Range(Range),
}

/// One kind of attack to inject.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttackSpec {
    /// How many per day.
    pub count: u32,
    /// The rules that catch it (copied into the ground truth).
    pub detected_by: Vec<String>,
    /// Its parameters (see [`ATTACK_KINDS`]).
    #[serde(default)]
    pub params: BTreeMap<String, Param>,
}

impl AttackSpec {
    /// A draw of the parameter `name` (validated to exist at load).
    pub fn draw(&self, name: &str, rng: &mut ChaCha8Rng) -> f64 {
        match self.params.get(name) {
            Some(Param::One(v)) => *v,
            Some(Param::Range(r)) => r.draw(rng),
            None => 0.0,
        }
    }
}

/// Every attack kind the day can inject, with the parameters it takes.
pub const ATTACK_KINDS: [(&str, &[&str]); 19] = [
    (
        "cold_chain_break",
        &["failure_target_c", "freeze_share", "time_constant_minutes"],
    ),
    ("route_deviation", &["detour_km"]),
    ("unscheduled_stop", &["minutes"]),
    ("impossible_jump", &["jump_km"]),
    ("parcel_opened", &["lux"]),
    ("parcel_lightened", &["grams"]),
    ("scan_out_of_order", &[]),
    ("delivered_far", &["km"]),
    ("delivered_outside_shift", &["hour"]),
    ("false_claim", &[]),
    ("genuine_claim", &[]),
    ("serial_claimer_account", &["claims"]),
    ("serial_claimer_device", &["claims"]),
    ("tracker_silence", &[]),
    ("sensor_silence", &[]),
    ("sensor_flatline", &[]),
    ("sensor_impossible", &["jump_c"]),
    ("badge_after_hours", &["hours"]),
    ("takeover_redirect", &["redirect_km"]),
];

/// Every parameter of a delivery day.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DayScenario {
    /// The city.
    pub city: City,
    /// The couriers.
    pub couriers: Couriers,
    /// The parcels.
    pub parcels: Parcels,
    /// The sensors.
    pub sensors: Sensors,
    /// The staff.
    pub staff: Staff,
    /// The customers.
    pub customers: Customers,
    /// The attacks, by kind.
    pub attacks: BTreeMap<String, AttackSpec>,
}

impl DayScenario {
    /// Parses and validates `text`, read from `file` (named in errors).
    pub fn from_yaml(file: &str, text: &str) -> Result<DayScenario, SimError> {
        let s: DayScenario = serde_yaml_ng::from_str(text).map_err(|e| SimError::Profile {
            file: file.into(),
            message: e.to_string(),
        })?;
        s.validate().map_err(|message| SimError::Profile {
            file: file.into(),
            message,
        })?;
        Ok(s)
    }

    /// The attack `kind`, if injected.
    pub fn attack(&self, kind: &str) -> Option<&AttackSpec> {
        self.attacks.get(kind).filter(|a| a.count > 0)
    }

    fn validate(&self) -> Result<(), String> {
        let c = &self.couriers;
        for (key, r) in [
            ("couriers.parcels", c.parcels),
            ("couriers.shift_hours", c.shift_hours),
            ("couriers.depart_hour", c.depart_hour),
            ("couriers.speed_kmh", c.speed_kmh),
            ("couriers.traffic_stop_seconds", c.traffic_stop_seconds),
            ("couriers.dwell_minutes", c.dwell_minutes),
            ("parcels.weight_grams", self.parcels.weight_grams),
            ("parcels.pickup_hour", self.parcels.pickup_hour),
            ("parcels.hub_out_hour", self.parcels.hub_out_hour),
            (
                "parcels.order_hours_before",
                self.parcels.order_hours_before,
            ),
            ("sensors.cold_setpoint_c", self.sensors.cold_setpoint_c),
            ("sensors.ambient_c", self.sensors.ambient_c),
            ("sensors.battery_pct", self.sensors.battery_pct),
            (
                "sensors.battery_drain_pct_per_hour",
                self.sensors.battery_drain_pct_per_hour,
            ),
            ("sensors.fixed_c", self.sensors.fixed_c),
            ("staff.entries_per_day", self.staff.entries_per_day),
            ("staff.hours", self.staff.hours),
        ] {
            r.check(key)?;
        }
        for (key, v) in [
            ("couriers.photo_share", c.photo_share),
            ("couriers.failed_share", c.failed_share),
            ("couriers.break_share", c.break_share),
            ("parcels.cold_share", self.parcels.cold_share),
            ("sensors.late_upload_share", self.sensors.late_upload_share),
            ("sensors.duplicate_share", self.sensors.duplicate_share),
            (
                "customers.address_change_share",
                self.customers.address_change_share,
            ),
            (
                "customers.password_reset_share",
                self.customers.password_reset_share,
            ),
            (
                "customers.new_device_share",
                self.customers.new_device_share,
            ),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return Err(format!("{key}: must be a share between 0 and 1"));
            }
        }
        for (key, v) in [
            ("city.radius_km", self.city.radius_km),
            ("city.block_m", self.city.block_m),
            ("couriers.break_minutes", c.break_minutes),
            ("couriers.speed_kmh", c.speed_kmh.0[0]),
            ("parcels.weight_grams", self.parcels.weight_grams.0[0]),
        ] {
            if !(v.is_finite() && v > 0.0) {
                return Err(format!("{key}: must be positive"));
            }
        }
        if self.city.depots.is_empty() {
            return Err("city.depots: must not be empty".into());
        }
        if c.count == 0 || c.parcels.0[0] < 1.0 {
            return Err("couriers: needs at least one courier with one parcel".into());
        }
        if self.sensors.interval_seconds == 0 {
            return Err("sensors.interval_seconds: must be positive".into());
        }
        if self.staff.badges == 0 {
            return Err("staff.badges: must be positive".into());
        }
        for (kind, spec) in &self.attacks {
            let Some((_, params)) = ATTACK_KINDS.iter().find(|(k, _)| k == kind) else {
                let known: Vec<&str> = ATTACK_KINDS.iter().map(|(k, _)| *k).collect();
                return Err(format!(
                    "attacks.{kind}: unknown attack; known: {}",
                    known.join(", ")
                ));
            };
            for p in params.iter() {
                if !spec.params.contains_key(*p) {
                    return Err(format!("attacks.{kind}.params.{p}: missing"));
                }
            }
            for (p, v) in &spec.params {
                if !params.contains(&p.as_str()) {
                    return Err(format!(
                        "attacks.{kind}.params.{p}: unknown; expected {}",
                        params.join(", ")
                    ));
                }
                if let Param::Range(r) = v {
                    r.check(&format!("attacks.{kind}.params.{p}"))?;
                }
            }
            if spec.count > 0 && spec.detected_by.is_empty() {
                return Err(format!("attacks.{kind}.detected_by: must name a rule"));
            }
        }
        Ok(())
    }
}
