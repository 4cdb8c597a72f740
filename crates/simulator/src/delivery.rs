//! A parcel's journey: pickup, hubs, out for delivery, delivered; cold-chain parcels carry a
//! sensor that reports temperature, position and battery at a fixed interval.

use chrono::{DateTime, Duration, Utc};
use ensuresec_model::EventData;
use ensuresec_model::event::{DeliveryScan, GeoPoint, ScanKind, SensorReading};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::actors::{Ctx, Step, event, fingerprint};

const SCANS: [ScanKind; 5] = [
    ScanKind::Pickup,
    ScanKind::HubIn,
    ScanKind::HubOut,
    ScanKind::OutForDelivery,
    ScanKind::Delivered,
];

/// One parcel on its way.
pub(crate) struct Parcel {
    id: String,
    order_id: String,
    sensor: Option<String>,
    hub: usize,
    dest: GeoPoint,
    weight: u32,
    next_scan: usize,
    scan_times: Vec<Duration>,
    elapsed: Duration,
    battery: f64,
    courier: String,
}

impl Parcel {
    pub(crate) fn new(rng: &mut ChaCha8Rng, ctx: &Ctx, order_id: &str, cold: bool) -> Parcel {
        let d = &ctx.profile.delivery;
        let transit = Duration::hours(i64::from(
            rng.random_range(d.transit_hours[0]..=d.transit_hours[1]),
        ));
        // Pickup now, then hub in/out and delivery spread over the transit time.
        let fractions = [0.0, 0.3, 0.5, 0.85, 1.0];
        let scan_times = fractions
            .iter()
            .map(|f| Duration::seconds((transit.num_seconds() as f64 * f) as i64))
            .collect();
        let (r, angle) = (
            rng.random_range(0.0..1.0f64).sqrt() * d.city.radius_km,
            rng.random_range(0.0..std::f64::consts::TAU),
        );
        let dest = GeoPoint {
            lat: d.city.lat + r / 111.0 * angle.sin(),
            lon: d.city.lon + r / (111.0 * d.city.lat.to_radians().cos()) * angle.cos(),
        };
        Parcel {
            id: format!("P{}", fingerprint(&["parcel", order_id]).to_uppercase()),
            order_id: order_id.to_string(),
            sensor: cold.then(|| format!("tt-{}", &fingerprint(&["sensor", order_id])[..10])),
            hub: rng.random_range(0..d.hubs.len()),
            dest,
            weight: rng.random_range(150..2500),
            next_scan: 0,
            scan_times,
            elapsed: Duration::zero(),
            battery: rng.random_range(80.0..100.0),
            courier: format!("courier-{:03}", rng.random_range(1..120)),
        }
    }

    fn position(&self, ctx: &Ctx) -> GeoPoint {
        let hub = &ctx.profile.delivery.hubs[self.hub];
        if self.next_scan >= 4 {
            self.dest
        } else {
            GeoPoint {
                lat: hub.lat,
                lon: hub.lon,
            }
        }
    }

    pub(crate) fn step(&mut self, now: DateTime<Utc>, rng: &mut ChaCha8Rng, ctx: &Ctx) -> Step {
        let mut events = Vec::new();
        let d = &ctx.profile.delivery;
        if self.next_scan < SCANS.len() && self.elapsed >= self.scan_times[self.next_scan] {
            let scan = SCANS[self.next_scan];
            let location = match scan {
                ScanKind::Delivered => GeoPoint {
                    lat: self.dest.lat + rng.random_range(-0.0004..0.0004),
                    lon: self.dest.lon + rng.random_range(-0.0004..0.0004),
                },
                _ => self.position(ctx),
            };
            events.push(event(
                now,
                "carrier",
                None,
                EventData::DeliveryScan(DeliveryScan {
                    parcel_id: self.id.clone(),
                    scan,
                    courier: matches!(scan, ScanKind::OutForDelivery | ScanKind::Delivered)
                        .then(|| self.courier.clone()),
                    hub: matches!(scan, ScanKind::HubIn | ScanKind::HubOut)
                        .then(|| d.hubs[self.hub].name.clone()),
                    location: Some(location),
                    weight_grams: matches!(
                        scan,
                        ScanKind::Pickup | ScanKind::HubIn | ScanKind::HubOut
                    )
                    .then_some(self.weight),
                    order_id: Some(self.order_id.clone()),
                    photo_sha256: None,
                }),
            ));
            self.next_scan += 1;
        } else if let Some(sensor) = &self.sensor {
            self.battery = (self.battery - rng.random_range(0.05..0.2)).max(0.0);
            events.push(event(
                now,
                "sensor-gateway",
                None,
                EventData::SensorReading(SensorReading {
                    sensor: sensor.clone(),
                    parcel_id: Some(self.id.clone()),
                    temperature_c: Some(
                        (5.0 + rng.random_range(-1.2..1.2f64) * 1.0).clamp(2.2, 7.8),
                    ),
                    humidity_pct: Some(rng.random_range(35.0..55.0)),
                    shock_g: Some(rng.random_range(0.0..0.8)),
                    light_lux: Some(0.0),
                    lid_open: Some(false),
                    location: Some(self.position(ctx)),
                    battery_pct: Some((self.battery * 10.0).round() / 10.0),
                    ..SensorReading::default()
                }),
            ));
        }
        if self.next_scan >= SCANS.len() {
            return Step::done(events);
        }
        let until_scan = self.scan_times[self.next_scan] - self.elapsed;
        let step = match &self.sensor {
            Some(_) => until_scan.min(Duration::seconds(i64::from(d.sensor_interval_seconds))),
            None => until_scan,
        }
        .max(Duration::seconds(1));
        self.elapsed += step;
        Step::again(events, step)
    }
}
