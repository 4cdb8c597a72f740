//! The delivery detectors on one core: sensor readings per second, on a simulated pharmacy day
//! (plans, scans, tracker and fridge readings, claims, in arrival order) and on parcels out for
//! delivery with long planned routes (every reading matched against the route); then the bytes of
//! state per active parcel, printed before the benchmarks.
//!
//! `cargo bench -p ensuresec-delivery --bench delivery` (see bench/delivery.sh).

#![allow(clippy::unwrap_used)] // a benchmark that cannot set up should stop
#![allow(missing_docs)] // the benchmark group macro generates an undocumented function

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use criterion::{BatchSize, Criterion, Throughput, criterion_group};
use ensuresec_delivery::{DeliveryRules, ParcelDetector, SensorHealthDetector};
use ensuresec_model::event::{DeliveryPlan, DeliveryScan, GeoPoint, ScanKind, SensorReading};
use ensuresec_model::{Detector, Event, EventData};
use ensuresec_simulator::day::{DEFAULT_DAY, DayScenario, simulate_day};

fn rules() -> Arc<DeliveryRules> {
    Arc::new(DeliveryRules::builtin().unwrap())
}

fn start() -> DateTime<Utc> {
    "2026-11-16T06:00:00Z".parse().unwrap()
}

fn event(at: DateTime<Utc>, data: EventData) -> Event {
    Event {
        time: at,
        ingest_time: None,
        source: "bench".into(),
        labels: Default::default(),
        data,
    }
}

/// Corner `i` of a winding planned route (corners 150 m apart) around a start that differs per
/// parcel.
fn route_point(parcel: usize, i: usize) -> GeoPoint {
    let (lat0, lon0) = (
        52.45 + (parcel % 100) as f64 * 0.001,
        13.30 + (parcel / 100 % 100) as f64 * 0.001,
    );
    let (leg, along) = (i / 10, (i % 10) as f64);
    let east = if leg % 2 == 0 { along } else { 9.0 - along };
    GeoPoint {
        lat: lat0 + leg as f64 * 0.00135,
        lon: lon0 + east * 0.0022,
    }
}

const ROUTE_POINTS: usize = 200;

/// Parcel `p`'s plan (a 200-point route, kept as 48) and its scans up to out for delivery.
fn setup_events(p: usize) -> Vec<Event> {
    let id = format!("PD-{p:07}");
    let route: Vec<GeoPoint> = (0..ROUTE_POINTS).map(|i| route_point(p, i)).collect();
    let mut events = vec![event(
        start(),
        EventData::DeliveryPlan(DeliveryPlan {
            parcel_id: id.clone(),
            order_id: Some(format!("O-{p:07}")),
            account: Some(format!("cust-{p:07}")),
            product_class: Some("cold-2-8".into()),
            destination: route[ROUTE_POINTS - 1],
            route,
            courier: Some(format!("courier-{:03}", p % 300)),
            shift_start: Some(start()),
            shift_end: Some(start() + Duration::hours(8)),
            weight_grams: Some(900),
        }),
    )];
    let scans = [
        ScanKind::Pickup,
        ScanKind::HubIn,
        ScanKind::HubOut,
        ScanKind::OutForDelivery,
    ];
    for (i, scan) in scans.into_iter().enumerate() {
        events.push(event(
            start() + Duration::seconds(i as i64),
            EventData::DeliveryScan(DeliveryScan {
                parcel_id: id.clone(),
                scan,
                courier: None,
                hub: Some("depot".into()),
                location: None,
                weight_grams: Some(900),
                order_id: None,
                photo_sha256: None,
            }),
        ));
    }
    events
}

/// Parcel `p`'s tracker reading number `r` (every five minutes, along the route).
fn reading_event(p: usize, r: usize) -> Event {
    event(
        start() + Duration::seconds(60 + 300 * r as i64 + (p % 300) as i64),
        EventData::SensorReading(SensorReading {
            sensor: format!("trk-{p:07}"),
            parcel_id: Some(format!("PD-{p:07}")),
            temperature_c: Some(5.0 + (r % 7) as f64 * 0.1),
            shock_g: Some(0.3),
            light_lux: Some(0.0),
            location: Some(route_point(p, (r * 3).min(ROUTE_POINTS - 1))),
            battery_pct: Some(90.0 - r as f64 * 0.1),
            ..SensorReading::default()
        }),
    )
}

/// Plans and scans of `n` parcels out for delivery, then `readings` readings each, in time order.
fn out_for_delivery(n: usize, readings: usize) -> (Vec<Event>, Vec<Event>) {
    let setup = (0..n).flat_map(setup_events).collect();
    let stream = (0..readings)
        .flat_map(|r| (0..n).map(move |p| reading_event(p, r)))
        .collect();
    (setup, stream)
}

fn feed(
    parcels: &mut ParcelDetector,
    sensors: &mut SensorHealthDetector,
    events: &[Event],
) -> usize {
    let mut out = Vec::new();
    for e in events {
        let t = e.event_type();
        if parcels.accepts(t) {
            parcels.on_event(e, &mut out);
        }
        if sensors.accepts(t) {
            sensors.on_event(e, &mut out);
        }
    }
    out.len()
}

fn readings(events: &[Event]) -> u64 {
    events
        .iter()
        .filter(|e| matches!(e.data, EventData::SensorReading(_)))
        .count() as u64
}

fn bench(c: &mut Criterion) {
    let rules = rules();
    let scenario = DayScenario::from_yaml("delivery.yaml", DEFAULT_DAY).unwrap();
    let day = simulate_day(&scenario, 1, start()).events;
    let mut g = c.benchmark_group("delivery");
    g.throughput(Throughput::Elements(readings(&day)));
    g.bench_function("simulated_day", |b| {
        b.iter_batched(
            || {
                (
                    ParcelDetector::new(rules.clone()),
                    SensorHealthDetector::new(rules.clone()),
                )
            },
            |(mut p, mut s)| feed(&mut p, &mut s, &day),
            BatchSize::LargeInput,
        )
    });
    let (setup, stream) = out_for_delivery(1_000, 40);
    g.throughput(Throughput::Elements(stream.len() as u64));
    g.bench_function("out_for_delivery_48_point_routes", |b| {
        b.iter_batched(
            || {
                let mut p = ParcelDetector::new(rules.clone());
                let mut s = SensorHealthDetector::new(rules.clone());
                feed(&mut p, &mut s, &setup);
                (p, s)
            },
            |(mut p, mut s)| feed(&mut p, &mut s, &stream),
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

/// Resident memory of this process, from `/proc/self/statm` (Linux), in bytes.
fn resident_bytes() -> Option<usize> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: usize = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

/// Bytes of parcel state per active parcel: the detector's own account of its state (struct
/// sizes, table slots and heap parts), and the growth of resident memory while it filled.
fn memory() {
    const N: usize = 100_000;
    const READINGS: usize = 10;
    let mut out = Vec::new();
    let before = resident_bytes();
    let mut d = ParcelDetector::new(rules());
    // Fed as made, so that the events themselves are never all in memory at once.
    for p in 0..N {
        for e in setup_events(p) {
            d.on_event(&e, &mut out);
        }
    }
    for r in 0..READINGS {
        for p in 0..N {
            d.on_event(&reading_event(p, r), &mut out);
        }
    }
    let after = resident_bytes();
    println!(
        "delivery/state: {N} parcels out for delivery ({ROUTE_POINTS}-point routes kept as 48, 4 scans, {READINGS} readings each), {} alerts",
        out.len()
    );
    println!(
        "delivery/state: {:.0} bytes per parcel by the detector's account (ParcelDetector::state_bytes)",
        d.state_bytes() as f64 / N as f64
    );
    if let (Some(a), Some(b)) = (before, after) {
        println!(
            "delivery/state: {:.0} bytes per parcel by resident memory growth",
            b.saturating_sub(a) as f64 / N as f64
        );
    }
    assert_eq!(d.tracked_entities(), N);
}

criterion_group!(benches, bench);

fn main() {
    memory();
    benches();
    criterion::Criterion::default()
        .configure_from_args()
        .final_summary();
}
