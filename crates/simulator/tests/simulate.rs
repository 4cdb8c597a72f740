//! The simulator: deterministic, ordered, valid, at the asked rate, with every attack labelled.

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, TimeZone, Utc};
use ensuresec_model::{EventType, Limits, decode_batch};
use ensuresec_simulator::{DEFAULT_PROFILE, Profile, Scenario, SimConfig, Simulator};

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 0, 0, 0).unwrap()
}

fn sim(scenario: &str, seed: u64, rate: f64) -> Simulator {
    sim_with_campaigns(scenario, seed, rate, None)
}

fn sim_with_campaigns(
    scenario: &str,
    seed: u64,
    rate: f64,
    campaigns_per_hour: Option<f64>,
) -> Simulator {
    Simulator::new(SimConfig {
        seed,
        start: start(),
        rate,
        scenario: Scenario::named(scenario).unwrap(),
        profile: Profile::from_yaml("shop.yaml", DEFAULT_PROFILE).unwrap(),
        campaigns_per_hour,
    })
    .unwrap()
}

#[test]
fn same_seed_same_events_other_seed_other_events() {
    let a: Vec<_> = sim("mixed", 7, 20.0).take(3000).collect();
    let b: Vec<_> = sim("mixed", 7, 20.0).take(3000).collect();
    let c: Vec<_> = sim("mixed", 8, 20.0).take(3000).collect();
    assert_eq!(a, b);
    assert_ne!(a, c);
}

#[test]
fn events_come_in_time_order_and_decode_as_valid_input() {
    let events: Vec<_> = sim("mixed", 1, 50.0).take(20_000).collect();
    for pair in events.windows(2) {
        assert!(
            pair[0].time <= pair[1].time,
            "{} then {}",
            pair[0].time,
            pair[1].time
        );
    }
    let ndjson: String = events
        .iter()
        .map(|e| serde_json::to_string(e).unwrap() + "\n")
        .collect();
    let now = events.last().unwrap().time;
    let decoded = decode_batch(ndjson.as_bytes(), &Limits::default(), now).unwrap();
    assert_eq!(
        decoded, events,
        "every simulated event passes the ingest validation"
    );
}

#[test]
fn the_rate_and_the_day_shape_are_honoured() {
    // One simulated day at 5 events/s: about 432,000 events, busier in the evening than at night.
    let end = start() + Duration::days(1);
    let mut per_hour = [0u32; 24];
    let mut total = 0u32;
    for e in sim("shop", 3, 5.0).take_while(|e| e.time < end) {
        per_hour[chrono::Timelike::hour(&e.time) as usize] += 1;
        total += 1;
    }
    let expected = 5.0 * 86_400.0;
    let ratio = f64::from(total) / expected;
    assert!(
        (0.8..1.25).contains(&ratio),
        "{total} events in a day, expected about {expected}"
    );
    assert!(
        per_hour[20] > 5 * per_hour[3],
        "evening {} vs night {}",
        per_hour[20],
        per_hour[3]
    );
}

#[test]
fn every_attack_of_the_mixed_scenario_appears_labelled() {
    let end = start() + Duration::hours(6);
    let mut truths: BTreeMap<String, u32> = BTreeMap::new();
    let mut types: BTreeMap<EventType, u32> = BTreeMap::new();
    // About 48 campaigns in six hours: every kind comes up.
    for e in sim_with_campaigns("mixed", 11, 10.0, Some(8.0)).take_while(|e| e.time < end) {
        *types.entry(e.event_type()).or_default() += 1;
        if let Some(t) = e.labels.get("truth") {
            *truths.entry(t.clone()).or_default() += 1;
        }
    }
    for t in ["sqli", "xss", "credential_stuffing", "card_testing"] {
        assert!(
            truths.get(t).copied().unwrap_or(0) > 10,
            "{t} missing: {truths:?}"
        );
    }
    for ty in [
        EventType::HttpRequest,
        EventType::Auth,
        EventType::Order,
        EventType::PaymentAuthorization,
        EventType::DeliveryScan,
        EventType::SensorReading,
    ] {
        assert!(types.contains_key(&ty), "{ty} missing: {types:?}");
    }
}

#[test]
fn normal_traffic_carries_no_truth_label() {
    assert!(
        sim("shop", 5, 20.0)
            .take(20_000)
            .all(|e| !e.labels.contains_key("truth"))
    );
}

#[test]
fn bad_settings_are_refused_with_reasons() {
    assert!(
        Scenario::named("nope")
            .unwrap_err()
            .to_string()
            .contains("known: shop")
    );
    let bad = DEFAULT_PROFILE.replace("login_typo: 0.06", "login_typo: 1.5");
    let err = Profile::from_yaml("p.yaml", &bad).unwrap_err().to_string();
    assert!(err.contains("behaviour.login_typo"), "{err}");
    let bad = DEFAULT_PROFILE.replace("customers: 20000", "customerz: 20000");
    let err = Profile::from_yaml("p.yaml", &bad).unwrap_err().to_string();
    assert!(
        err.contains("unknown field `customerz`") && err.contains("line"),
        "{err}"
    );
    let err = Simulator::new(SimConfig {
        seed: 1,
        start: start(),
        rate: 0.0,
        scenario: Scenario::named("shop").unwrap(),
        profile: Profile::from_yaml("shop.yaml", DEFAULT_PROFILE).unwrap(),
        campaigns_per_hour: None,
    })
    .err()
    .unwrap();
    assert!(err.to_string().contains("rate"), "{err}");
}
