//! Couriers' tours and their parcels' journeys: planned, driven through the street grid, and
//! reported as plans, carrier scans and tracker readings.

use std::net::{IpAddr, Ipv4Addr};

use ensuresec_model::EventData;
use ensuresec_model::event::{DeliveryPlan, DeliveryScan, GeoPoint, ScanKind, SensorReading};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::city::{Map, Trajectory, Xy};
use super::scenario::{DayScenario, Range};
use super::{Output, time};
use crate::actors::fingerprint;

/// A cooler that fails: from `onset` the parcel drifts to `target_c` with time constant `tau_s`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Failure {
    pub onset: i64,
    pub target_c: f64,
    pub tau_s: f64,
}

/// One parcel: who it is for, where it goes, what is done to it, and what happened.
#[derive(Debug, Clone)]
pub(crate) struct Parcel {
    pub id: String,
    pub order: String,
    pub account: String,
    pub device: String,
    pub ip: IpAddr,
    pub cold: bool,
    pub weight: u32,
    pub tracker: String,
    pub van: usize,
    pub dest: Xy,
    /// Set when the delivery was redirected: the first plan's destination.
    pub first_dest: Option<Xy>,
    /// The planned route, depot first (filled when the tours are driven).
    pub route: Vec<Xy>,
    pub first_route: Vec<Xy>,
    pub setpoint_c: f64,
    pub battery: f64,
    pub drain: f64,
    pub phase: i64,
    pub photo: bool,
    // What is done to it.
    pub attacked: bool,
    pub failure: Option<Failure>,
    pub opened_lux: Option<f64>,
    pub theft_grams: Option<u32>,
    pub jump_km: Option<f64>,
    pub silent_from: Option<i64>,
    pub skip_ofd: bool,
    pub extra_hub_in: bool,
    pub far: bool,
    pub late_hour: Option<f64>,
    pub failed: bool,
    /// Redirected by someone who took the customer's account over.
    pub hijacked: bool,
    // What happened.
    pub pickup: i64,
    pub hub_in: i64,
    pub hub_out: i64,
    pub ofd: i64,
    pub delivered: Option<(i64, Xy)>,
    pub failed_at: Option<(i64, Xy)>,
    pub evening_ofd: Option<i64>,
    pub returned: Option<i64>,
    pub hub_in_again: Option<i64>,
    pub opened_at: Option<i64>,
    pub jump_at: Option<i64>,
}

impl Parcel {
    /// When its tracker stops: delivered, returned, or midnight.
    pub(crate) fn end(&self, midnight: i64) -> i64 {
        self.delivered
            .map(|d| d.0)
            .or(self.returned)
            .unwrap_or(midnight + 86_399)
    }

    /// Delivered at its address, untouched: a fair target for false claims.
    pub(crate) fn delivered_clean(&self) -> bool {
        !self.attacked && self.delivered.is_some() && !self.failed
    }
}

/// A courier's van and tour.
#[derive(Debug, Clone)]
pub(crate) struct Van {
    pub courier: String,
    pub depot: usize,
    pub shift: (i64, i64),
    pub stops: Vec<usize>,
    pub traj: Trajectory,
    pub pickup: i64,
    pub hub_out: i64,
    pub depart: i64,
    pub detour_km: Option<f64>,
    pub stop_minutes: Option<f64>,
    /// A benign break: the courier's statutory break, taken in the van away from any stop.
    pub break_minutes: Option<f64>,
    pub attacked: bool,
}

/// Everything on the road that day.
pub(crate) struct World {
    pub map: Map,
    pub midnight: i64,
    pub pharmacy: Xy,
    pub depots: Vec<(String, Xy)>,
    pub vans: Vec<Van>,
    pub parcels: Vec<Parcel>,
}

fn hour(midnight: i64, h: f64) -> i64 {
    midnight + (h * 3600.0) as i64
}

/// A customer's address in a residential range.
pub(crate) fn customer_ip(rng: &mut ChaCha8Rng) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(
        [86, 92, 78, 31][rng.random_range(0..4)],
        rng.random_range(0..=255),
        rng.random_range(0..=255),
        rng.random_range(1..=254),
    ))
}

impl World {
    /// Couriers, their parcels and destinations, in delivery order.
    pub(crate) fn plan(s: &DayScenario, midnight: i64, rng: &mut ChaCha8Rng) -> World {
        let map = Map::new(&s.city);
        let pharmacy = map.xy(s.city.pharmacy.lat, s.city.pharmacy.lon);
        let depots: Vec<(String, Xy)> = s
            .city
            .depots
            .iter()
            .map(|d| (d.name.clone(), map.xy(d.lat, d.lon)))
            .collect();
        let radius = s.city.radius_km * 1000.0;
        let (mut vans, mut parcels) = (Vec::new(), Vec::new());
        let day = time(midnight).format("%y%m%d").to_string();
        for c in 0..s.couriers.count as usize {
            let depot = c % depots.len();
            // A courier serves an area: a centre in the city, customers within 2.5 km of it.
            let area = Xy {
                x: rng.random_range(-0.6..0.6) * radius,
                y: rng.random_range(-0.6..0.6) * radius,
            };
            let n = s.couriers.parcels.draw(rng).round().max(1.0) as usize;
            let mut dests: Vec<Xy> = (0..n)
                .map(|_| {
                    let r = rng.random_range(0.0..1.0f64).sqrt() * 2_500.0;
                    map.away(area, r, rng)
                })
                .collect();
            // Nearest neighbour from the depot: the tour's order.
            let mut here = depots[depot].1;
            let mut order = Vec::with_capacity(n);
            while !dests.is_empty() {
                let (i, _) = dests
                    .iter()
                    .enumerate()
                    .fold((0, f64::MAX), |best, (i, d)| {
                        let dist = d.dist(here);
                        if dist < best.1 { (i, dist) } else { best }
                    });
                here = dests.swap_remove(i);
                order.push(here);
            }
            let van = vans.len();
            let mut stops = Vec::with_capacity(n);
            for dest in order {
                let k = parcels.len();
                stops.push(k);
                let order_id = format!("O{day}-{k:05}");
                let account = format!("cust-{}", &fingerprint(&["account", &order_id])[..12]);
                let device = format!("dev-{}", &fingerprint(&["device", &account])[..12]);
                let cold = rng.random_bool(s.parcels.cold_share);
                parcels.push(Parcel {
                    id: format!("PD{day}-{k:05}"),
                    order: order_id,
                    device,
                    account,
                    ip: customer_ip(rng),
                    cold,
                    weight: s.parcels.weight_grams.draw(rng) as u32,
                    tracker: format!("trk-{day}-{k:05}"),
                    van,
                    dest,
                    first_dest: None,
                    route: Vec::new(),
                    first_route: Vec::new(),
                    setpoint_c: if cold {
                        s.sensors.cold_setpoint_c.draw(rng)
                    } else {
                        s.sensors.ambient_c.draw(rng)
                    },
                    battery: s.sensors.battery_pct.draw(rng),
                    drain: s.sensors.battery_drain_pct_per_hour.draw(rng),
                    phase: rng.random_range(0..i64::from(s.sensors.interval_seconds)),
                    photo: rng.random_bool(s.couriers.photo_share),
                    attacked: false,
                    failure: None,
                    opened_lux: None,
                    theft_grams: None,
                    jump_km: None,
                    silent_from: None,
                    skip_ofd: false,
                    extra_hub_in: false,
                    far: false,
                    late_hour: None,
                    failed: rng.random_bool(s.couriers.failed_share),
                    hijacked: false,
                    pickup: 0,
                    hub_in: 0,
                    hub_out: 0,
                    ofd: 0,
                    delivered: None,
                    failed_at: None,
                    evening_ofd: None,
                    returned: None,
                    hub_in_again: None,
                    opened_at: None,
                    jump_at: None,
                });
            }
            let [shift_start, shift_end] = s.couriers.shift_hours.0;
            vans.push(Van {
                courier: format!("courier-{c:03}"),
                depot,
                shift: (hour(midnight, shift_start), hour(midnight, shift_end)),
                stops,
                traj: Trajectory::default(),
                pickup: hour(midnight, s.parcels.pickup_hour.draw(rng)),
                hub_out: hour(midnight, s.parcels.hub_out_hour.draw(rng)),
                depart: hour(midnight, s.couriers.depart_hour.draw(rng)),
                detour_km: None,
                stop_minutes: None,
                break_minutes: None,
                attacked: false,
            });
        }
        World {
            map,
            midnight,
            pharmacy,
            depots,
            vans,
            parcels,
        }
    }

    /// Drives every van: the line haul to the depot, the tour (with any detour or unscheduled
    /// stop injected), the way back, and the evening runs of parcels kept back.
    pub(crate) fn drive(&mut self, s: &DayScenario, rng: &mut ChaCha8Rng, out: &mut Output) {
        let c = &s.couriers;
        for v in 0..self.vans.len() {
            let depot = self.depots[self.vans[v].depot].1;
            let van = &mut self.vans[v];
            let mut traj = Trajectory::start(van.pickup - 600, self.pharmacy);
            traj.wait_until(van.pickup);
            let haul = self.map.street_path(self.pharmacy, depot, rng);
            traj.drive(&haul, 40.0, Range([20.0, 60.0]), rng);
            let hub_in = traj.end().0;
            traj.wait_until(van.hub_out.max(hub_in + 600));
            let hub_out = traj.end().0;
            traj.wait_until(van.depart.max(hub_out + 300));
            let depart = traj.end().0;
            // The planned tour: one street path per leg.
            let mut here = depot;
            let mut legs = Vec::with_capacity(van.stops.len());
            for &k in &van.stops {
                legs.push(self.map.street_path(here, self.parcels[k].dest, rng));
                here = self.parcels[k].dest;
            }
            let mut route = vec![depot];
            for (j, &k) in van.stops.iter().enumerate() {
                route.extend(legs[j].iter().skip(1));
                let p = &mut self.parcels[k];
                p.route = route.clone();
                if let Some(first) = p.first_dest {
                    p.first_route = self.map.street_path(depot, first, rng);
                }
                p.pickup = van.pickup + 5 * j as i64;
                p.hub_in = hub_in + 10 * j as i64;
                p.hub_out = hub_out + 10 * j as i64;
                p.ofd = depart - 60 + 3 * j as i64;
            }
            // The leg an injected detour or stop (or a break) happens on: the longest in the
            // middle third.
            let n = legs.len();
            let attacked_leg = (n / 3..(2 * n / 3).max(n / 3 + 1).min(n))
                .max_by(|&a, &b| length(&legs[a]).total_cmp(&length(&legs[b])));
            for (j, leg) in legs.iter().enumerate() {
                let kmh = c.speed_kmh.draw(rng);
                let stop = c.traffic_stop_seconds;
                if Some(j) == attacked_leg
                    && (van.detour_km.is_some()
                        || van.stop_minutes.is_some()
                        || van.break_minutes.is_some())
                {
                    let m = leg.len() / 2;
                    traj.drive(&leg[..=m], kmh, stop, rng);
                    let (onset, at) = traj.end();
                    if let Some(km) = van.detour_km {
                        let away = self.map.away(at, km * 1000.0, rng);
                        let there = self.map.street_path(at, away, rng);
                        traj.drive(&there, kmh, stop, rng);
                        let back = self.map.street_path(away, at, rng);
                        traj.drive(&back, kmh, stop, rng);
                        label_on_board(
                            out,
                            "route_deviation",
                            s,
                            &self.parcels,
                            &van.stops[j..],
                            onset,
                        );
                    }
                    if let Some(minutes) = van.stop_minutes {
                        traj.wait_until(onset + (minutes * 60.0) as i64);
                        label_on_board(
                            out,
                            "unscheduled_stop",
                            s,
                            &self.parcels,
                            &van.stops[j..],
                            onset,
                        );
                    }
                    if let Some(minutes) = van.break_minutes {
                        traj.wait_until(onset + (minutes * 60.0) as i64);
                    }
                    traj.drive(&leg[m..], kmh, stop, rng);
                } else {
                    traj.drive(leg, kmh, stop, rng);
                }
                let (arrive, at) = traj.end();
                let dwell = (c.dwell_minutes.draw(rng) * 60.0) as i64;
                let scan = arrive + dwell / 2;
                let k = van.stops[j];
                let p = &mut self.parcels[k];
                if p.failed || p.late_hour.is_some() {
                    p.failed_at = Some((scan, at));
                } else if !p.far {
                    p.delivered = Some((scan, at));
                }
                // A courier who fakes the delivery of the next parcel scans it here.
                if let Some(&next) = van.stops.get(j + 1)
                    && self.parcels[next].far
                {
                    self.parcels[next].delivered = Some((scan + 30, at));
                }
                traj.wait_until(arrive + dwell);
            }
            if let Some(&first) = van.stops.first()
                && self.parcels[first].far
            {
                self.parcels[first].delivered = Some((depart + 30, depot));
            }
            let back = self.map.street_path(traj.end().1, depot, rng);
            let kmh = c.speed_kmh.draw(rng);
            traj.drive(&back, kmh, c.traffic_stop_seconds, rng);
            let home = traj.end().0;
            for &k in &van.stops {
                let p = &mut self.parcels[k];
                if p.failed {
                    p.returned = Some(home + 120);
                }
                if p.extra_hub_in {
                    p.hub_in_again = Some(home + 180);
                }
            }
            // Parcels kept back are driven out in the evening, along their planned route.
            for &k in &van.stops {
                let Some(h) = self.parcels[k].late_hour else {
                    continue;
                };
                let route = self.parcels[k].route.clone();
                let drive_s = (length(&route) / (35.0 / 3.6)) as i64;
                traj.wait_until((hour(self.midnight, h) - drive_s).max(home + 600));
                let start = traj.end().0;
                traj.drive(&route, 35.0, Range([30.0, 30.0]), rng);
                let (at, place) = traj.end();
                let p = &mut self.parcels[k];
                p.evening_ofd = Some(start);
                p.delivered = Some((at, place));
                out.label(super::Truth {
                    kind: "delivered_outside_shift".into(),
                    entity: ensuresec_model::EntityKey::new(
                        ensuresec_model::EntityKind::Account,
                        &van.courier,
                    ),
                    parcel: Some(p.id.clone()),
                    sensor: None,
                    onset: time(at),
                    detected_by: detected_by(s, "delivered_outside_shift"),
                });
                traj.wait_until(at + 120);
                let back = self.map.street_path(place, depot, rng);
                traj.drive(&back, 35.0, Range([30.0, 30.0]), rng);
            }
            van.traj = traj;
        }
    }

    /// Plans, scans and tracker readings of every parcel.
    pub(crate) fn emit(&mut self, s: &DayScenario, rng: &mut ChaCha8Rng, out: &mut Output) {
        for k in 0..self.parcels.len() {
            self.emit_plan_and_scans(k, s, rng, out);
            self.emit_readings(k, s, rng, out);
        }
    }

    fn geo(&self, p: Xy) -> GeoPoint {
        let g = self.map.geo(p);
        GeoPoint {
            lat: (g.lat * 1e6).round() / 1e6,
            lon: (g.lon * 1e6).round() / 1e6,
        }
    }

    fn noisy(&self, p: Xy, metres: f64, rng: &mut ChaCha8Rng) -> GeoPoint {
        let r = rng.random_range(0.0..1.0f64) * metres;
        self.geo(self.map.away(p, r, rng))
    }

    pub(crate) fn plan_event(&self, k: usize, first: bool) -> DeliveryPlan {
        let p = &self.parcels[k];
        let van = &self.vans[p.van];
        let (dest, route) = match (first, p.first_dest) {
            (true, Some(d)) => (d, &p.first_route),
            _ => (p.dest, &p.route),
        };
        DeliveryPlan {
            parcel_id: p.id.clone(),
            order_id: Some(p.order.clone()),
            account: Some(p.account.clone()),
            product_class: Some(if p.cold { "cold-2-8" } else { "ambient-15-25" }.into()),
            destination: self.geo(dest),
            route: route.iter().map(|&q| self.geo(q)).collect(),
            courier: Some(van.courier.clone()),
            shift_start: Some(time(van.shift.0)),
            shift_end: Some(time(van.shift.1)),
            weight_grams: Some(p.weight),
        }
    }

    fn emit_plan_and_scans(
        &self,
        k: usize,
        s: &DayScenario,
        rng: &mut ChaCha8Rng,
        out: &mut Output,
    ) {
        let p = &self.parcels[k];
        let van = &self.vans[p.van];
        let (hub_name, depot) = &self.depots[van.depot];
        out.now(
            p.pickup - 900,
            "shop",
            EventData::DeliveryPlan(self.plan_event(k, true)),
        );
        let noise = |rng: &mut ChaCha8Rng, g: i64| {
            (i64::from(p.weight) + rng.random_range(-g..=g)).max(1) as u32
        };
        let mut scans: Vec<(i64, ScanKind, Xy, Option<u32>, bool)> = vec![
            (
                p.pickup,
                ScanKind::Pickup,
                self.pharmacy,
                Some(noise(rng, 3)),
                false,
            ),
            (p.hub_in, ScanKind::HubIn, *depot, Some(noise(rng, 5)), true),
            (
                p.hub_out,
                ScanKind::HubOut,
                *depot,
                Some(noise(rng, 5).saturating_sub(p.theft_grams.unwrap_or(0))),
                true,
            ),
        ];
        if !p.skip_ofd {
            scans.push((p.ofd, ScanKind::OutForDelivery, *depot, None, false));
        }
        if let Some((t, at)) = p.failed_at {
            scans.push((t, ScanKind::FailedAttempt, at, None, false));
        }
        if let Some(t) = p.returned {
            scans.push((t, ScanKind::Returned, *depot, None, false));
        }
        if let Some(t) = p.evening_ofd {
            scans.push((t, ScanKind::OutForDelivery, *depot, None, false));
        }
        if let Some((t, at)) = p.delivered {
            scans.push((t, ScanKind::Delivered, at, None, false));
        }
        if let Some(t) = p.hub_in_again {
            scans.push((t, ScanKind::HubIn, *depot, Some(noise(rng, 5)), true));
        }
        for (t, scan, at, weight, hub) in scans {
            let delivered = scan == ScanKind::Delivered;
            let courier = matches!(
                scan,
                ScanKind::OutForDelivery | ScanKind::Delivered | ScanKind::FailedAttempt
            );
            out.now(
                t,
                "carrier",
                EventData::DeliveryScan(DeliveryScan {
                    parcel_id: p.id.clone(),
                    scan,
                    courier: courier.then(|| van.courier.clone()),
                    hub: hub.then(|| hub_name.clone()),
                    location: Some(self.noisy(at, s.sensors.gps_noise_m, rng)),
                    weight_grams: weight,
                    order_id: Some(p.order.clone()),
                    photo_sha256: (delivered && p.photo && !p.far)
                        .then(|| fingerprint(&["photo", &p.id]).repeat(3)[..64].to_string()),
                }),
            );
        }
    }

    fn emit_readings(&self, k: usize, s: &DayScenario, rng: &mut ChaCha8Rng, out: &mut Output) {
        let p = &self.parcels[k];
        let van = &self.vans[p.van];
        let sn = &s.sensors;
        let every = i64::from(sn.interval_seconds);
        let (start, end) = (p.pickup + p.phase, p.end(self.midnight));
        let mut t = start;
        while t < end.min(p.silent_from.unwrap_or(i64::MAX)) {
            let here = van.traj.at(t);
            let still = van.traj.still(t);
            let location = match (p.jump_at, p.jump_km) {
                (Some(j), Some(km)) if j == t => {
                    self.noisy(self.map.away(here, km * 1000.0, rng), 0.0, rng)
                }
                _ => self.noisy(here, sn.gps_noise_m, rng),
            };
            let mut temp = p.setpoint_c;
            if p.cold && still && t > p.ofd && t < end {
                temp += sn.door_bump_c * rng.random_range(0.0..1.0);
            }
            if let Some(f) = p.failure
                && t >= f.onset
            {
                let w = (-((t - f.onset) as f64) / f.tau_s).exp();
                temp = f.target_c + (temp - f.target_c) * w;
            }
            temp += gauss(rng) * sn.noise_c;
            let opened = p.opened_at == Some(t);
            let battery = (p.battery - p.drain * (t - p.pickup) as f64 / 3600.0).max(0.0);
            let reading = SensorReading {
                sensor: p.tracker.clone(),
                parcel_id: Some(p.id.clone()),
                temperature_c: Some((temp * 10.0).round() / 10.0),
                humidity_pct: Some(rng.random_range(35.0..55.0f64).round()),
                shock_g: Some(if still {
                    rng.random_range(0.0..0.4f64)
                } else if rng.random_bool(0.02) {
                    rng.random_range(2.5..5.0f64)
                } else {
                    rng.random_range(0.2..2.0f64)
                }),
                light_lux: Some(if opened {
                    p.opened_lux.unwrap_or(0.0)
                } else {
                    0.0
                }),
                lid_open: Some(opened),
                location: Some(location),
                battery_pct: Some((battery * 10.0).round() / 10.0),
                ..SensorReading::default()
            };
            let late = rng.random_bool(sn.late_upload_share);
            let arrival = if late {
                t + every * rng.random_range(1..=3)
            } else {
                t
            };
            if rng.random_bool(sn.duplicate_share) {
                out.push(
                    t,
                    arrival + 1,
                    "tracker-gateway",
                    EventData::SensorReading(reading.clone()),
                );
            }
            out.push(
                t,
                arrival,
                "tracker-gateway",
                EventData::SensorReading(reading),
            );
            t += every;
        }
    }

    /// The reading times of parcel `k`'s tracker within `[from, to)`.
    pub(crate) fn reading_times(&self, k: usize, s: &DayScenario, from: i64, to: i64) -> Vec<i64> {
        let p = &self.parcels[k];
        let every = i64::from(s.sensors.interval_seconds);
        let first = p.pickup + p.phase;
        let skip = ((from - first).max(0) + every - 1) / every;
        (skip..)
            .map(|i| first + i * every)
            .take_while(|t| *t < to)
            .collect()
    }
}

/// Labels an attack on a van's tour for every parcel still on board.
fn label_on_board(
    out: &mut Output,
    kind: &str,
    s: &DayScenario,
    parcels: &[Parcel],
    on_board: &[usize],
    onset: i64,
) {
    for &k in on_board {
        let p = &parcels[k];
        if p.skip_ofd || p.delivered.is_some_and(|(t, _)| t <= onset) {
            continue; // not out for delivery (never scanned so, or already "delivered")
        }
        out.label(super::Truth {
            kind: kind.into(),
            entity: ensuresec_model::EntityKey::new(ensuresec_model::EntityKind::Parcel, &p.id),
            parcel: None,
            sensor: Some(p.tracker.clone()),
            onset: time(onset),
            detected_by: detected_by(s, kind),
        });
    }
}

/// The rules the scenario says catch `kind`.
pub(crate) fn detected_by(s: &DayScenario, kind: &str) -> Vec<String> {
    s.attacks
        .get(kind)
        .map(|a| a.detected_by.clone())
        .unwrap_or_default()
}

fn length(path: &[Xy]) -> f64 {
    path.windows(2).map(|w| w[0].dist(w[1])).sum()
}

/// A standard normal draw (Box–Muller).
pub(crate) fn gauss(rng: &mut ChaCha8Rng) -> f64 {
    let u: f64 = rng.random_range(f64::EPSILON..1.0);
    let v: f64 = rng.random_range(0.0..1.0);
    (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
}
