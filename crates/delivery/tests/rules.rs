//! Each delivery rule on its own journey: what fires, what stays quiet, and the edge cases
//! (late and duplicate readings, time zones, units of the parameters).

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use ensuresec_delivery::{
    BadgeDetector, DeliveryRules, ParcelDetector, SensorHealthDetector, SerialClaimDetector,
};
use ensuresec_model::event::{
    BadgeAccess, BadgeDirection, ClaimKind, DeliveryClaim, DeliveryPlan, DeliveryScan, GeoPoint,
    ScanKind, SensorReading,
};
use ensuresec_model::fixtures::t0;
use ensuresec_model::{Alert, Detector, EntityKind, Event, EventData};

const DEPOT: GeoPoint = GeoPoint {
    lat: 52.50,
    lon: 13.30,
};
const HOME: GeoPoint = GeoPoint {
    lat: 52.52,
    lon: 13.40,
};

fn rules() -> Arc<DeliveryRules> {
    Arc::new(DeliveryRules::builtin().unwrap())
}

fn event(at: DateTime<Utc>, data: EventData) -> Event {
    Event {
        time: at,
        ingest_time: None,
        source: "test".into(),
        labels: Default::default(),
        data,
    }
}

fn minutes(m: i64) -> DateTime<Utc> {
    t0() + Duration::minutes(m)
}

fn plan(class: Option<&str>) -> Event {
    event(
        minutes(0),
        EventData::DeliveryPlan(DeliveryPlan {
            parcel_id: "P1".into(),
            order_id: Some("O1".into()),
            account: Some("alice".into()),
            product_class: class.map(Into::into),
            destination: HOME,
            route: vec![
                DEPOT,
                GeoPoint {
                    lat: 52.50,
                    lon: 13.40,
                },
                HOME,
            ],
            courier: Some("courier-7".into()),
            shift_start: Some(minutes(0)),
            shift_end: Some(minutes(8 * 60)),
            weight_grams: Some(1_000),
        }),
    )
}

fn scan(m: i64, kind: ScanKind, location: Option<GeoPoint>, weight: Option<u32>) -> Event {
    event(
        minutes(m),
        EventData::DeliveryScan(DeliveryScan {
            parcel_id: "P1".into(),
            scan: kind,
            courier: Some("courier-7".into()),
            hub: None,
            location,
            weight_grams: weight,
            order_id: None,
            photo_sha256: None,
        }),
    )
}

fn reading(m: i64, f: impl FnOnce(&mut SensorReading)) -> Event {
    let mut r = SensorReading {
        sensor: "tt-1".into(),
        parcel_id: Some("P1".into()),
        ..Default::default()
    };
    f(&mut r);
    event(minutes(m), EventData::SensorReading(r))
}

fn claim(m: i64, parcel: &str, account: &str, kind: ClaimKind, device: Option<&str>) -> Event {
    event(
        minutes(m),
        EventData::DeliveryClaim(DeliveryClaim {
            parcel_id: parcel.into(),
            account: account.into(),
            claim: kind,
            address: None,
            device: device.map(Into::into),
        }),
    )
}

fn run(d: &mut dyn Detector, events: &[Event]) -> Vec<Alert> {
    let mut out = Vec::new();
    for e in events {
        assert!(d.accepts(e.event_type()));
        d.on_event(e, &mut out);
    }
    out
}

fn rule_ids(alerts: &[Alert]) -> Vec<&str> {
    alerts.iter().map(|a| a.rule_id.as_str()).collect()
}

/// A clean journey: planned, picked up, through a hub, out for delivery along the route, delivered
/// at the door within the shift, the tracker at 5 °C.
fn clean_journey() -> Vec<Event> {
    let mut events = vec![
        plan(Some("cold-2-8")),
        scan(0, ScanKind::Pickup, Some(DEPOT), Some(1_000)),
        scan(60, ScanKind::HubIn, None, Some(1_000)),
        scan(90, ScanKind::HubOut, None, Some(995)),
        scan(120, ScanKind::OutForDelivery, Some(DEPOT), None),
    ];
    for i in 0..=10 {
        // Along the route, depot → (52.50, 13.40) → home, every 5 minutes.
        let f = f64::from(i) / 10.0;
        let at = if f <= 0.5 {
            GeoPoint {
                lat: 52.50,
                lon: 13.30 + 0.2 * f,
            }
        } else {
            GeoPoint {
                lat: 52.50 + 0.04 * (f - 0.5),
                lon: 13.40,
            }
        };
        events.push(reading(120 + 5 * i64::from(i), |r| {
            r.location = Some(at);
            r.temperature_c = Some(5.0);
            r.light_lux = Some(0.0);
            r.shock_g = Some(1.0);
        }));
    }
    let mut delivered = scan(175, ScanKind::Delivered, Some(HOME), None);
    if let EventData::DeliveryScan(s) = &mut delivered.data {
        s.photo_sha256 = Some("ab".repeat(32));
    }
    events.push(delivered);
    events
}

#[test]
fn a_clean_journey_raises_nothing() {
    let mut d = ParcelDetector::new(rules());
    let alerts = run(&mut d, &clean_journey());
    assert!(alerts.is_empty(), "{:?}", rule_ids(&alerts));
    assert_eq!(d.tracked_entities(), 1);
}

#[test]
fn freezing_fires_at_the_reading_and_once() {
    let mut d = ParcelDetector::new(rules());
    let mut events = clean_journey();
    for (i, e) in events.iter_mut().enumerate() {
        if let EventData::SensorReading(r) = &mut e.data
            && (7..9).contains(&i)
        {
            r.temperature_c = Some(-0.5);
        }
    }
    let alerts = run(&mut d, &events);
    assert_eq!(rule_ids(&alerts), ["cold-chain-frozen"]);
    assert_eq!(alerts[0].time, minutes(130));
    assert_eq!(alerts[0].evidence["product_class"], "cold-2-8");
    assert!(alerts[0].evidence["track"].as_array().unwrap().len() >= 2);
}

#[test]
fn a_warm_van_spends_the_excursion_budget_and_raises_the_mkt_at_delivery() {
    let mut d = ParcelDetector::new(rules());
    let mut events = clean_journey();
    for e in &mut events {
        if let EventData::SensorReading(r) = &mut e.data {
            r.temperature_c = Some(14.0);
        }
    }
    let alerts = run(&mut d, &events);
    let ids = rule_ids(&alerts);
    assert_eq!(ids, ["cold-chain-excursion", "cold-chain-mkt"], "{ids:?}");
    // 30 min budget: charged from minute 120, spent at the reading of minute 155.
    assert_eq!(alerts[0].time, minutes(155));
    // The MKT is judged at delivery (only 50 minutes of data, less than mkt_min_minutes).
    assert_eq!(alerts[1].time, minutes(175));
}

#[test]
fn an_unknown_product_class_has_no_cold_chain() {
    let mut d = ParcelDetector::new(rules());
    let mut events = clean_journey();
    events[0] = plan(Some("no-such-class"));
    for e in &mut events {
        if let EventData::SensorReading(r) = &mut e.data {
            r.temperature_c = Some(-10.0);
        }
    }
    let alerts = run(&mut d, &events);
    assert!(
        !rule_ids(&alerts)
            .iter()
            .any(|id| id.starts_with("cold-chain"))
    );
}

#[test]
fn a_detour_and_a_long_unscheduled_stop_are_seen_on_the_way() {
    let mut d = ParcelDetector::new(rules());
    let mut events = clean_journey();
    let far = GeoPoint {
        lat: 52.56,
        lon: 13.34,
    }; // ~6.7 km north of the first leg
    events.truncate(11); // on the route until minute 145
    for m in [150, 155, 160, 165, 170, 175] {
        events.push(reading(m, |r| {
            r.location = Some(far);
            r.temperature_c = Some(5.0);
        }));
    }
    let alerts = run(&mut d, &events);
    let ids = rule_ids(&alerts);
    assert!(ids.contains(&"route-deviation"), "{ids:?}");
    assert!(ids.contains(&"route-unscheduled-stop"), "{ids:?}");
    // A jump of ~6.7 km in 5 minutes is 80 km/h: plausible, not an impossible jump.
    assert!(!ids.contains(&"route-impossible-jump"), "{ids:?}");
    let stop = alerts
        .iter()
        .find(|a| a.rule_id == "route-unscheduled-stop")
        .unwrap();
    assert_eq!(
        stop.time,
        minutes(175),
        "20 minutes standing is not yet over the limit"
    );
}

#[test]
fn a_tracker_teleporting_is_an_impossible_jump() {
    let mut d = ParcelDetector::new(rules());
    let mut events = clean_journey();
    events.insert(
        8,
        reading(137, |r| {
            r.location = Some(GeoPoint {
                lat: 48.14,
                lon: 11.58,
            })
        }),
    );
    let ids: Vec<String> = run(&mut d, &events)
        .into_iter()
        .map(|a| a.rule_id)
        .collect();
    assert!(
        ids.contains(&"route-impossible-jump".to_string()),
        "{ids:?}"
    );
}

#[test]
fn light_in_transit_is_an_opening_but_at_the_door_it_is_not() {
    let mut d = ParcelDetector::new(rules());
    let mut events = clean_journey();
    events.push(reading(180, |r| {
        r.location = Some(HOME);
        r.light_lux = Some(500.0);
    }));
    assert!(
        run(&mut d, &events).is_empty(),
        "opened at home after delivery"
    );

    let mut d = ParcelDetector::new(rules());
    let mut events = clean_journey();
    if let EventData::SensorReading(r) = &mut events[7].data {
        r.light_lux = Some(300.0);
    }
    let alerts = run(&mut d, &events);
    assert_eq!(rule_ids(&alerts), ["parcel-opened-in-transit"]);
}

#[test]
fn weight_lost_between_hub_scans_is_theft_but_scale_noise_is_not() {
    let mut d = ParcelDetector::new(rules());
    let mut events = clean_journey();
    events[3] = scan(90, ScanKind::HubOut, None, Some(760));
    let alerts = run(&mut d, &events);
    assert_eq!(rule_ids(&alerts), ["parcel-weight-loss"]);
    assert_eq!(alerts[0].evidence["before_grams"], 1_000);
    assert_eq!(alerts[0].evidence["after_grams"], 760);
    // 5 g less in the clean journey (995 g) is under both thresholds: nothing.
}

#[test]
fn scans_in_an_impossible_order_fire_but_late_and_duplicate_scans_do_not() {
    let mut d = ParcelDetector::new(rules());
    let mut events = clean_journey();
    let hub_in = events[2].clone();
    events.insert(3, hub_in.clone()); // a duplicate
    let late = scan(30, ScanKind::Pickup, Some(DEPOT), None);
    events.insert(5, late); // arrives late, earlier in time
    assert!(run(&mut d, &events).is_empty());

    let mut d = ParcelDetector::new(rules());
    let events = vec![
        plan(None),
        scan(0, ScanKind::Pickup, None, None),
        scan(10, ScanKind::Delivered, Some(HOME), None),
    ];
    let alerts = run(&mut d, &events);
    assert_eq!(rule_ids(&alerts), ["scan-out-of-order"]);
    assert_eq!(alerts[0].evidence["after"], "pickup");
}

#[test]
fn a_courier_scanning_delivered_away_from_the_door_and_after_the_shift_is_named() {
    let mut d = ParcelDetector::new(rules());
    let mut events = clean_journey();
    let n = events.len();
    events[n - 1] = scan(10 * 60, ScanKind::Delivered, Some(DEPOT), None);
    let alerts = run(&mut d, &events);
    let ids = rule_ids(&alerts);
    assert!(ids.contains(&"delivered-far-from-address"), "{ids:?}");
    assert!(ids.contains(&"delivered-outside-shift"), "{ids:?}");
    for a in &alerts {
        if a.rule_id.starts_with("delivered-") {
            assert_eq!(a.entity.kind, EntityKind::Account);
            assert_eq!(a.entity.value, "courier-7");
        }
    }
}

#[test]
fn a_tracker_silent_before_delivery_is_reported_when_other_parcels_move_on() {
    let mut d = ParcelDetector::new(rules());
    let mut events = clean_journey();
    events.truncate(8); // the tracker's last reading at minute 130, no delivery
    let alerts = run(&mut d, &events);
    assert!(alerts.is_empty());
    // Another parcel's event 16 minutes later: 3 intervals of 5 minutes have passed.
    let mut other = scan(146, ScanKind::Pickup, None, None);
    if let EventData::DeliveryScan(s) = &mut other.data {
        s.parcel_id = "P2".into();
    }
    let alerts = run(&mut d, &[other]);
    assert_eq!(rule_ids(&alerts), ["tracker-silent"]);
    assert_eq!(alerts[0].entity.value, "P1");

    // Delivered parcels' trackers may stop: no alert.
    let mut d = ParcelDetector::new(rules());
    let mut events = clean_journey();
    let mut later = scan(600, ScanKind::Pickup, None, None);
    if let EventData::DeliveryScan(s) = &mut later.data {
        s.parcel_id = "P2".into();
    }
    events.push(later);
    assert!(run(&mut d, &events).is_empty());
}

#[test]
fn a_non_receipt_claim_against_a_photographed_doorstep_delivery_is_contradicted() {
    let mut d = ParcelDetector::new(rules());
    let mut events = clean_journey();
    events.push(claim(24 * 60, "P1", "alice", ClaimKind::NotReceived, None));
    let alerts = run(&mut d, &events);
    assert_eq!(rule_ids(&alerts), ["claim-contradicted"]);
    assert_eq!(alerts[0].entity.value, "alice");
    let against: Vec<&str> = alerts[0].evidence["against"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(
        against,
        ["delivered scan at the address", "proof-of-delivery photo"]
    );
    // What a claims handler needs: the scans, the track, the readings.
    let e = &alerts[0].evidence;
    let scans: Vec<&str> = e["scans"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["scan"].as_str().unwrap())
        .collect();
    assert_eq!(
        scans,
        [
            "pickup",
            "hub_in",
            "hub_out",
            "out_for_delivery",
            "delivered"
        ]
    );
    assert_eq!(e["track"].as_array().unwrap().len(), 8);
    assert_eq!(e["track"][7]["temperature_c"], 5.0);
    assert_eq!(e["readings"]["max_shock_g"], 1.0);
    assert_eq!(e["readings"]["last_weight_grams"], 995);
    assert_eq!(e["readings"]["delivered_photo"], true);
}

#[test]
fn a_non_receipt_claim_without_a_delivered_scan_is_corroborated() {
    let mut d = ParcelDetector::new(rules());
    let mut events = clean_journey();
    events.pop();
    events.push(claim(24 * 60, "P1", "alice", ClaimKind::NotReceived, None));
    let alerts = run(&mut d, &events);
    let ids = rule_ids(&alerts);
    assert!(ids.contains(&"claim-corroborated"), "{ids:?}");
    let c = alerts
        .iter()
        .find(|a| a.rule_id == "claim-corroborated")
        .unwrap();
    assert_eq!(c.evidence["supports"][0], "no delivered scan");
}

#[test]
fn a_damage_claim_is_corroborated_by_a_recorded_shock() {
    let mut d = ParcelDetector::new(rules());
    let mut events = clean_journey();
    if let EventData::SensorReading(r) = &mut events[9].data {
        r.shock_g = Some(12.0);
    }
    events.push(claim(24 * 60, "P1", "alice", ClaimKind::Damaged, None));
    let alerts = run(&mut d, &events);
    assert_eq!(rule_ids(&alerts), ["claim-corroborated"]);
}

#[test]
fn serial_claimers_are_caught_per_account_and_per_device_across_accounts() {
    let mut by_account = SerialClaimDetector::new(EntityKind::Account, rules());
    let mut by_device = SerialClaimDetector::new(EntityKind::Device, rules());
    let claims = [
        claim(0, "A", "mallory", ClaimKind::NotReceived, Some("phone-1")),
        claim(60, "A", "mallory", ClaimKind::NotReceived, Some("phone-1")), // same parcel again
        claim(
            10 * 24 * 60,
            "B",
            "mallory2",
            ClaimKind::NotReceived,
            Some("phone-1"),
        ),
        claim(
            20 * 24 * 60,
            "C",
            "mallory",
            ClaimKind::Damaged,
            Some("phone-1"),
        ),
        claim(
            30 * 24 * 60,
            "D",
            "mallory",
            ClaimKind::NotReceived,
            Some("phone-2"),
        ),
    ];
    let a = run(&mut by_account, &claims);
    assert_eq!(rule_ids(&a), ["serial-claimer-account"]);
    assert_eq!(
        a[0].time,
        minutes(30 * 24 * 60),
        "A, C, D: the third distinct parcel"
    );
    let d = run(&mut by_device, &claims);
    assert_eq!(rule_ids(&d), ["serial-claimer-device"]);
    assert_eq!(d[0].entity.value, "phone-1");
    assert_eq!(d[0].time, minutes(20 * 24 * 60));

    // Claims spread wider than the 90-day window are not serial.
    let mut fresh = SerialClaimDetector::new(EntityKind::Account, rules());
    let spread: Vec<Event> = (0..3)
        .map(|i| {
            claim(
                i * 50 * 24 * 60,
                &format!("S{i}"),
                "bob",
                ClaimKind::NotReceived,
                None,
            )
        })
        .collect();
    assert!(run(&mut fresh, &spread).is_empty());
}

fn badge(at: DateTime<Utc>, direction: BadgeDirection) -> Event {
    event(
        at,
        EventData::BadgeAccess(BadgeAccess {
            badge: "emp-4".into(),
            zone: "controlled-medicines".into(),
            direction,
            granted: true,
            door: Some("north".into()),
        }),
    )
}

#[test]
fn badge_hours_are_judged_in_the_zone_s_time_zone_across_daylight_saving() {
    let mut d = BadgeDetector::new(rules());
    // Berlin is UTC+1 in winter: 06:30 UTC is 07:30 local (open); 05:30 UTC is 06:30 (closed).
    let winter_open = Utc.with_ymd_and_hms(2026, 11, 20, 6, 30, 0).unwrap();
    let winter_early = Utc.with_ymd_and_hms(2026, 11, 20, 5, 30, 0).unwrap();
    // UTC+2 in summer: 05:30 UTC is 07:30 local (open).
    let summer_open = Utc.with_ymd_and_hms(2026, 7, 10, 5, 30, 0).unwrap();
    // A Sunday is closed all day; leaving is never an alert.
    let sunday = Utc.with_ymd_and_hms(2026, 11, 22, 10, 0, 0).unwrap();
    let alerts = run(
        &mut d,
        &[
            badge(winter_open, BadgeDirection::In),
            badge(winter_early, BadgeDirection::In),
            badge(summer_open, BadgeDirection::In),
            badge(sunday, BadgeDirection::In),
            badge(sunday, BadgeDirection::Out),
        ],
    );
    let times: Vec<DateTime<Utc>> = alerts.iter().map(|a| a.time).collect();
    assert_eq!(times, [winter_early, sunday]);
    assert!(
        alerts[0].evidence["local_time"]
            .as_str()
            .unwrap()
            .starts_with("2026-11-20T06:30:00+01:00")
    );
}

#[test]
fn stuck_impossible_and_dying_sensors_and_a_silent_locker() {
    let mut d = SensorHealthDetector::new(rules());
    let mut events: Vec<Event> = (0..30)
        .map(|i| reading(i * 5, |r| r.temperature_c = Some(4.0)))
        .collect();
    events.push(reading(151, |r| {
        r.temperature_c = Some(30.0);
        r.battery_pct = Some(4.0);
    }));
    let alerts = run(&mut d, &events);
    assert_eq!(
        rule_ids(&alerts),
        [
            "sensor-flatline",
            "sensor-low-battery",
            "sensor-impossible-change"
        ]
    );
    assert_eq!(
        alerts[0].time,
        minutes(23 * 5),
        "the 24th identical reading"
    );

    let mut d = SensorHealthDetector::new(rules());
    let locker = |m: i64, id: &str| {
        event(
            minutes(m),
            EventData::SensorReading(SensorReading {
                sensor: id.into(),
                asset: Some("locker-12".into()),
                lid_open: Some(false),
                ..Default::default()
            }),
        )
    };
    let alerts = run(
        &mut d,
        &[locker(0, "lk-1"), locker(10, "lk-2"), locker(14, "lk-2")],
    );
    assert!(alerts.is_empty(), "lk-1 silent 14 min: under 3 × 5 min");
    let alerts = run(&mut d, &[locker(16, "lk-2")]);
    assert_eq!(rule_ids(&alerts), ["sensor-silent"]);
    assert_eq!(alerts[0].entity.value, "lk-1");
}

#[test]
fn a_tracker_that_keeps_reporting_is_not_silent_and_is_reported_once_it_stops() {
    let mut d = ParcelDetector::new(rules());
    let mut events = vec![
        plan(None),
        scan(0, ScanKind::Pickup, None, None),
        scan(1, ScanKind::OutForDelivery, None, None),
    ];
    let other = |m: i64| {
        let mut e = scan(m, ScanKind::Pickup, None, None);
        if let EventData::DeliveryScan(s) = &mut e.data {
            s.parcel_id = format!("Q{m}");
        }
        e
    };
    // Two hours of readings every 5 minutes, other parcels' events in between moving time on.
    for m in (5..=120).step_by(5) {
        events.push(reading(m, |r| r.temperature_c = Some(5.0)));
        events.push(other(m + 2));
    }
    assert!(run(&mut d, &events).is_empty());
    // Silent from minute 120: three intervals later, at the next event after minute 135.
    let alerts = run(&mut d, &[other(130), other(135), other(137), other(150)]);
    assert_eq!(rule_ids(&alerts), ["tracker-silent"]);
    assert_eq!(alerts[0].time, minutes(137));
    assert_eq!(alerts[0].entity.value, "P1");
}
