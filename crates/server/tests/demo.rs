//! The demo source releases the simulator's events as their time comes, in order, losing none.

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

use chrono::{Duration, TimeZone, Utc};
use ensuresec_server::config::DemoConfig;
use ensuresec_server::demo::DemoSource;

#[test]
fn events_are_released_when_due_and_none_is_lost() {
    let start = Utc.with_ymd_and_hms(2026, 11, 20, 18, 0, 0).unwrap();
    let config = DemoConfig::default();
    let mut demo = DemoSource::new(&config, start).unwrap();
    let mut released = Vec::new();
    for second in (10..=600).step_by(10) {
        let horizon = start + Duration::seconds(second);
        let batch = demo.take_due(horizon);
        assert!(
            batch.iter().all(|e| e.time <= horizon),
            "nothing comes before its time"
        );
        released.extend(batch);
    }
    // The same simulation, taken directly, up to the last horizon.
    // The same simulation, released in one go (batch by batch) up to the last horizon.
    let mut reference = DemoSource::new(&config, start).unwrap();
    let mut expected = Vec::new();
    loop {
        let batch = reference.take_due(start + Duration::seconds(600));
        if batch.is_empty() {
            break;
        }
        expected.extend(batch);
    }
    assert!(
        expected.len() > 1000,
        "a busy evening: {} events in 10 minutes",
        expected.len()
    );
    assert_eq!(released.len(), expected.len());
    assert!(released == expected, "the same events in the same order");
}

#[test]
fn the_demo_runs_the_pharmacy_deliveries_beside_the_shop() {
    use ensuresec_model::EventData;
    let is_delivery = |e: &ensuresec_model::Event| {
        matches!(
            e.data,
            EventData::DeliveryPlan(_) | EventData::DeliveryScan(_) | EventData::SensorReading(_)
        )
    };
    let start = Utc.with_ymd_and_hms(2026, 11, 20, 12, 0, 0).unwrap();
    let mut demo = DemoSource::new(&DemoConfig::default(), start).unwrap();
    // The morning's deliveries come in at once; nothing comes before its time.
    let mut morning = Vec::new();
    loop {
        let batch = demo.take_due(start);
        if batch.is_empty() {
            break;
        }
        morning.extend(batch);
    }
    let delivered: Vec<_> = morning.iter().filter(|e| is_delivery(e)).collect();
    assert!(
        delivered.len() > 100,
        "the morning's plans, scans and readings: {}",
        delivered.len()
    );
    assert!(morning.iter().all(|e| e.time <= start));
    // The afternoon's come as their time comes.
    let later = demo.take_due(start + Duration::hours(1));
    assert!(later.iter().any(|e| is_delivery(e) && e.time > start));

    let shop_only = DemoConfig {
        deliveries: false,
        ..DemoConfig::default()
    };
    let mut demo = DemoSource::new(&shop_only, start).unwrap();
    let batch = demo.take_due(start + Duration::hours(1));
    assert!(!batch.is_empty());
    assert!(!batch.iter().any(is_delivery), "deliveries switched off");
}
