//! Redirects, the route ahead of a tour, and the takeover → redirect chain over alerts.

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use ensuresec_delivery::{DeliveryRules, ParcelDetector, TakeoverRedirectChain};
use ensuresec_model::event::{DeliveryPlan, DeliveryScan, GeoPoint, ScanKind, SensorReading};
use ensuresec_model::fixtures::t0;
use ensuresec_model::{
    Alert, AlertChain, Detector, EntityKey, EntityKind, Event, EventData, Severity,
};
use serde_json::json;

fn rules() -> Arc<DeliveryRules> {
    Arc::new(DeliveryRules::builtin().unwrap())
}

fn minutes(m: i64) -> DateTime<Utc> {
    t0() + Duration::minutes(m)
}

fn event(m: i64, data: EventData) -> Event {
    Event {
        time: minutes(m),
        ingest_time: None,
        source: "test".into(),
        labels: Default::default(),
        data,
    }
}

fn at(lat: f64, lon: f64) -> GeoPoint {
    GeoPoint { lat, lon }
}

fn plan(m: i64, destination: GeoPoint, route: Vec<GeoPoint>) -> Event {
    event(
        m,
        EventData::DeliveryPlan(DeliveryPlan {
            parcel_id: "P1".into(),
            order_id: Some("O1".into()),
            account: Some("alice".into()),
            product_class: None,
            destination,
            route,
            courier: Some("courier-7".into()),
            shift_start: None,
            shift_end: None,
            weight_grams: None,
        }),
    )
}

fn scan(m: i64, kind: ScanKind) -> Event {
    event(
        m,
        EventData::DeliveryScan(DeliveryScan {
            parcel_id: "P1".into(),
            scan: kind,
            courier: Some("courier-7".into()),
            hub: None,
            location: None,
            weight_grams: None,
            order_id: None,
            photo_sha256: None,
        }),
    )
}

fn fix(m: i64, p: GeoPoint) -> Event {
    event(
        m,
        EventData::SensorReading(SensorReading {
            sensor: "tt-1".into(),
            parcel_id: Some("P1".into()),
            location: Some(p),
            ..Default::default()
        }),
    )
}

fn run(events: &[Event]) -> Vec<Alert> {
    let mut d = ParcelDetector::new(rules());
    let mut out = Vec::new();
    for e in events {
        d.on_event(e, &mut out);
    }
    out
}

fn ids(alerts: &[Alert]) -> Vec<&str> {
    alerts.iter().map(|a| a.rule_id.as_str()).collect()
}

const HOME: GeoPoint = GeoPoint {
    lat: 52.52,
    lon: 13.40,
};

#[test]
fn a_new_plan_that_moves_the_destination_is_a_redirect_on_the_account() {
    let moved = at(52.53, 13.42); // ~1.8 km away
    let alerts = run(&[
        plan(0, HOME, vec![]),
        plan(5, at(52.5201, 13.4001), vec![]), // 13 m: a corrected address, not a redirect
        plan(10, moved, vec![]),
        plan(20, HOME, vec![]), // once per parcel
    ]);
    assert_eq!(ids(&alerts), ["parcel-redirected"]);
    let a = &alerts[0];
    assert_eq!(a.entity, EntityKey::new(EntityKind::Account, "alice"));
    assert_eq!(a.time, minutes(10));
    assert_eq!(a.evidence["parcel_id"], "P1");
    assert_eq!(a.evidence["order_id"], "O1");
    let d = a.evidence["distance_m"].as_f64().unwrap();
    assert!((1_500.0..2_200.0).contains(&d), "{d}");
}

/// A tour that goes east 7 km, then north 4 km, then back west 7 km (in three segments): its
/// way back runs 4 km north of its way out.
fn loop_route() -> Vec<GeoPoint> {
    vec![
        at(52.50, 13.30),
        at(52.50, 13.40),
        at(52.536, 13.40),
        at(52.536, 13.37),
        at(52.536, 13.33),
        at(52.536, 13.30),
    ]
}

#[test]
fn deviation_is_judged_against_the_route_ahead() {
    let dest = at(52.536, 13.30);
    let mut events = vec![
        plan(0, dest, loop_route()),
        scan(1, ScanKind::Pickup),
        scan(2, ScanKind::OutForDelivery),
    ];
    // Along the first two legs, then onto the last leg.
    let path = [
        (13.30, 52.50),
        (13.35, 52.50),
        (13.40, 52.50),
        (13.40, 52.52),
        (13.40, 52.536),
        (13.37, 52.536),
        (13.33, 52.536),
    ];
    for (i, (lon, lat)) in path.iter().enumerate() {
        events.push(fix(5 + 5 * i as i64, at(*lat, *lon)));
    }
    assert!(run(&events).is_empty(), "{:?}", ids(&run(&events)));
    // Then back onto the way out, 2.7 km and more from the route still ahead: off the route,
    // although on a part of the tour already driven.
    events.push(fix(45, at(52.50, 13.36)));
    let alerts = run(&events);
    assert_eq!(ids(&alerts), ["route-deviation"]);
    assert!(alerts[0].evidence["off_route_m"].as_f64().unwrap() > 2_500.0);
}

#[test]
fn a_second_run_out_of_the_depot_starts_at_the_beginning_of_the_route() {
    let dest = at(52.536, 13.30);
    let mut events = vec![
        plan(0, dest, loop_route()),
        scan(1, ScanKind::Pickup),
        scan(2, ScanKind::OutForDelivery),
        fix(5, at(52.50, 13.30)),
        fix(15, at(52.50, 13.40)),
        fix(25, at(52.536, 13.40)),
        fix(35, at(52.536, 13.32)),
        scan(36, ScanKind::FailedAttempt),
    ];
    // Back at the depot until the evening, the tracker reporting.
    for m in (40..300).step_by(10) {
        events.push(fix(m, at(52.50, 13.30)));
    }
    events.push(scan(300, ScanKind::OutForDelivery));
    // The evening run drives the route again from the depot.
    for (i, lon) in [13.30, 13.33, 13.36, 13.39].iter().enumerate() {
        events.push(fix(305 + 5 * i as i64, at(52.50, *lon)));
    }
    let alerts = run(&events);
    assert!(alerts.is_empty(), "{:?}", ids(&alerts));
}

fn alert(rule: &str, account: &str, m: i64, evidence: serde_json::Value) -> Alert {
    Alert {
        id: 0,
        time: minutes(m),
        detector: "test".into(),
        rule_id: rule.into(),
        title: format!("{rule} on {account}"),
        severity: Severity::High,
        confidence: 0.8,
        entity: EntityKey::new(EntityKind::Account, account),
        evidence,
        tags: vec![],
        incident_id: None,
        ledger_index: None,
    }
}

fn chain(alerts: &[Alert]) -> Vec<Alert> {
    let mut c = TakeoverRedirectChain::new(rules());
    let mut out = Vec::new();
    for a in alerts {
        c.on_alert(a, &mut out);
    }
    out
}

fn redirect(account: &str, parcel: &str, m: i64) -> Alert {
    alert(
        "parcel-redirected",
        account,
        m,
        json!({"parcel_id": parcel, "distance_m": 4000.0, "scans": [{"scan": "hub_in"}], "track": []}),
    )
}

fn takeover(account: &str, m: i64) -> Alert {
    alert(
        "account-takeover-address-change",
        account,
        m,
        json!({"measures": []}),
    )
}

#[test]
fn a_takeover_and_a_redirect_of_the_same_account_make_the_chain_in_either_order() {
    let out = chain(&[takeover("alice", 0), redirect("alice", "P1", 3)]);
    assert_eq!(ids(&out), ["takeover-redirect"]);
    let a = &out[0];
    assert_eq!(a.entity, EntityKey::new(EntityKind::Account, "alice"));
    assert_eq!(a.severity, Severity::High);
    assert_eq!(a.time, minutes(3));
    assert_eq!(a.evidence["parcel_id"], "P1");
    assert_eq!(
        a.evidence["takeover"]["rule_id"],
        "account-takeover-address-change"
    );
    assert_eq!(a.evidence["redirect"]["evidence"]["distance_m"], 4000.0);
    assert_eq!(a.evidence["redirect_minutes_after_takeover"], 3.0);
    // The claims handler's evidence travels along.
    assert_eq!(a.evidence["scans"][0]["scan"], "hub_in");

    // Alerts from different partitions may come in the other order.
    let out = chain(&[redirect("bob", "P2", 0), takeover("bob", 90)]);
    assert_eq!(ids(&out), ["takeover-redirect"]);
    // Negative: the redirect came first.
    assert_eq!(out[0].evidence["redirect_minutes_after_takeover"], -90.0);
}

#[test]
fn the_chain_needs_the_same_account_within_the_window_and_fires_once_per_parcel() {
    // Another account, or a day and more apart: no chain.
    assert!(chain(&[takeover("alice", 0), redirect("bob", "P1", 3)]).is_empty());
    assert!(chain(&[takeover("alice", 0), redirect("alice", "P1", 25 * 60)]).is_empty());
    // A redirect alone, a takeover alone, or an unrelated rule: nothing.
    assert!(chain(&[redirect("alice", "P1", 0)]).is_empty());
    assert!(
        chain(&[
            takeover("alice", 0),
            alert("credential-stuffing-ip", "alice", 1, json!({}))
        ])
        .is_empty()
    );
    // A second takeover alert about the same redirect does not repeat the chain; a second parcel does.
    let out = chain(&[
        takeover("alice", 0),
        redirect("alice", "P1", 3),
        takeover("alice", 10),
        redirect("alice", "P2", 12),
    ]);
    let parcels: Vec<_> = out
        .iter()
        .map(|a| a.evidence["parcel_id"].clone())
        .collect();
    assert_eq!(parcels, [json!("P1"), json!("P2")]);
}
