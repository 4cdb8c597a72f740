//! The delivery day: deterministic, labelled apart from the events, every attack of the scenario
//! injected, journeys physically plausible except where an attack says otherwise.

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use ensuresec_model::event::{GeoPoint, ScanKind};
use ensuresec_model::{EntityKind, EventData};
use ensuresec_simulator::day::{DEFAULT_DAY, DayRun, DayScenario, simulate_day};

fn day() -> DateTime<Utc> {
    "2026-11-16T00:00:00Z".parse().unwrap()
}

fn run(seed: u64) -> DayRun {
    let s = DayScenario::from_yaml("delivery.yaml", DEFAULT_DAY).unwrap();
    simulate_day(&s, seed, day())
}

fn km(a: GeoPoint, b: GeoPoint) -> f64 {
    let k = a.lat.to_radians().cos();
    let dx = (b.lon - a.lon) * 111.32 * k;
    let dy = (b.lat - a.lat) * 111.32;
    (dx * dx + dy * dy).sqrt()
}

#[test]
fn the_same_seed_gives_the_same_day_and_another_seed_another() {
    let (a, b, c) = (run(7), run(7), run(8));
    assert_eq!(a.events, b.events);
    assert_eq!(a.truth, b.truth);
    assert_ne!(a.events, c.events);
}

#[test]
fn labels_are_kept_apart_from_the_events() {
    let day = run(1);
    assert!(!day.truth.is_empty());
    for e in &day.events {
        assert!(e.labels.is_empty(), "{e:?}");
        let text = serde_json::to_string(e).unwrap();
        assert!(!text.contains("truth"), "{text}");
    }
    // The ground truth serialises on its own, one label a line.
    let line = serde_json::to_string(&day.truth[0]).unwrap();
    assert!(
        line.contains("\"kind\"") && line.contains("\"onset\""),
        "{line}"
    );
}

#[test]
fn every_attack_of_the_scenario_is_injected_and_names_something_in_the_events() {
    let s = DayScenario::from_yaml("delivery.yaml", DEFAULT_DAY).unwrap();
    let day = simulate_day(&s, 3, day());
    let kinds: BTreeSet<&str> = day.truth.iter().map(|t| t.kind.as_str()).collect();
    let wanted: BTreeSet<&str> = s
        .attacks
        .iter()
        .filter(|(_, a)| a.count > 0)
        .map(|(k, _)| k.as_str())
        .collect();
    assert_eq!(kinds, wanted);
    let per_kind = |k: &str| day.truth.iter().filter(|t| t.kind == k).count();
    for k in [
        "badge_after_hours",
        "takeover_redirect",
        "parcel_opened",
        "tracker_silence",
    ] {
        assert_eq!(per_kind(k), s.attacks[k].count as usize, "{k}");
    }
    let mut parcels = BTreeSet::new();
    let mut sensors = BTreeSet::new();
    let mut accounts = BTreeSet::new();
    let mut devices = BTreeSet::new();
    for e in &day.events {
        match &e.data {
            EventData::DeliveryPlan(p) => {
                parcels.insert(p.parcel_id.clone());
                accounts.extend(p.account.clone());
                accounts.extend(p.courier.clone());
            }
            EventData::SensorReading(r) => {
                sensors.insert(r.sensor.clone());
            }
            EventData::BadgeAccess(b) => {
                accounts.insert(b.badge.clone());
            }
            EventData::DeliveryClaim(c) => {
                accounts.insert(c.account.clone());
                devices.extend(c.device.clone());
            }
            _ => {}
        }
    }
    for t in &day.truth {
        let known = match t.entity.kind {
            EntityKind::Parcel => parcels.contains(&t.entity.value),
            EntityKind::Account => accounts.contains(&t.entity.value),
            EntityKind::Device => {
                sensors.contains(&t.entity.value) || devices.contains(&t.entity.value)
            }
            _ => false,
        };
        assert!(known, "{t:?}");
        assert!(!t.detected_by.is_empty(), "{t:?}");
        if let Some(p) = &t.parcel {
            assert!(parcels.contains(p), "{t:?}");
        }
    }
}

#[test]
fn events_arrive_in_time_order_except_late_tracker_uploads() {
    let s = DayScenario::from_yaml("delivery.yaml", DEFAULT_DAY).unwrap();
    let day = simulate_day(&s, 2, day());
    let every = i64::from(s.sensors.interval_seconds);
    let mut latest = i64::MIN;
    let mut late = 0;
    for e in &day.events {
        let t = e.time.timestamp();
        if t < latest {
            assert!(
                matches!(e.data, EventData::SensorReading(_)),
                "only readings come late: {e:?}"
            );
            assert!(latest - t <= 3 * every + 1, "{e:?}");
            late += 1;
        }
        latest = latest.max(t);
    }
    assert!(late > 0, "some readings are uploaded late");
}

#[test]
fn trackers_move_like_vans_except_where_a_jump_is_injected() {
    let day = run(4);
    let jumped: BTreeSet<&str> = day
        .truth
        .iter()
        .filter(|t| t.kind == "impossible_jump")
        .map(|t| t.entity.value.as_str())
        .collect();
    let mut tracks: HashMap<&str, BTreeMap<i64, GeoPoint>> = HashMap::new();
    for e in &day.events {
        if let EventData::SensorReading(r) = &e.data
            && let (Some(p), Some(at)) = (r.parcel_id.as_deref(), r.location)
        {
            tracks.entry(p).or_default().insert(e.time.timestamp(), at);
        }
    }
    assert!(tracks.len() > 100);
    let mut fastest_plain = 0.0f64;
    for (parcel, track) in &tracks {
        let points: Vec<_> = track.iter().collect();
        let fastest = points
            .windows(2)
            .map(|w| km(*w[0].1, *w[1].1) / ((w[1].0 - w[0].0) as f64 / 3600.0))
            .fold(0.0, f64::max);
        if jumped.contains(parcel) {
            assert!(fastest > 300.0, "{parcel}: {fastest}");
        } else {
            fastest_plain = fastest_plain.max(fastest);
        }
    }
    assert!(fastest_plain < 100.0, "{fastest_plain} km/h");
}

#[test]
fn parcels_are_scanned_in_journey_order_unless_an_attack_says_otherwise() {
    let day = run(5);
    let out_of_order: BTreeSet<&str> = day
        .truth
        .iter()
        .filter(|t| t.kind == "scan_out_of_order")
        .map(|t| t.entity.value.as_str())
        .collect();
    let mut scans: HashMap<&str, Vec<ScanKind>> = HashMap::new();
    for e in &day.events {
        if let EventData::DeliveryScan(s) = &e.data {
            scans.entry(&s.parcel_id).or_default().push(s.scan);
        }
    }
    use ScanKind::*;
    for (parcel, list) in &scans {
        let ok = list.starts_with(&[Pickup, HubIn, HubOut, OutForDelivery])
            && matches!(
                &list[4..],
                [Delivered]
                    | [FailedAttempt, Returned]
                    | [FailedAttempt, OutForDelivery, Delivered]
            );
        assert_eq!(!ok, out_of_order.contains(parcel), "{parcel}: {list:?}");
    }
}

#[test]
fn a_bad_scenario_is_refused_naming_the_key() {
    let err = |text: String| {
        DayScenario::from_yaml("d.yaml", &text)
            .unwrap_err()
            .to_string()
    };
    let e = err(DEFAULT_DAY.replace("photo_share: 0.7", "photo_share: 7"));
    assert!(e.contains("couriers.photo_share"), "{e}");
    let e = err(DEFAULT_DAY.replace("route_deviation:", "route_detour:"));
    assert!(e.contains("attacks.route_detour: unknown attack"), "{e}");
    let e = err(DEFAULT_DAY.replace("detour_km:", "detour_miles:"));
    assert!(
        e.contains("attacks.route_deviation.params.detour_km: missing"),
        "{e}"
    );
    let e = err(DEFAULT_DAY.replace("gps_noise_m:", "gps_noize_m:"));
    assert!(e.contains("gps_noize_m"), "{e}");
}
