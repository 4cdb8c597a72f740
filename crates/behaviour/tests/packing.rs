//! Every rule's state of an entity shares one block of words: rules must not see each other's
//! state, time fields must hold over long gaps, distinct counts must survive their move out of
//! the block, and the memory estimate must return to zero when everything has expired.

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

use chrono::{DateTime, Duration, TimeZone, Utc};
use ensuresec_behaviour::{RuleSet, ScenarioDetector};
use ensuresec_model::event::{AuthAction, AuthOutcome};
use ensuresec_model::fixtures;
use ensuresec_model::{Alert, Detector, EntityKind, Event, EventData};
use proptest::prelude::*;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 21, 12, 0, 0).unwrap()
}

fn run(detector: &mut ScenarioDetector, events: &[Event]) -> Vec<Alert> {
    let mut out = Vec::new();
    for e in events {
        detector.on_event(e, &mut out);
    }
    out
}

/// Rules of every measure kind over logins, grouped by address, with small thresholds.
const RULES: &str = "
rules:
  - { id: count, title: t, event: auth, group_by: ip, window_seconds: 20, severity: low, when: [{ measure: count, where: { outcome: failure }, at_least: 3 }] }
  - { id: distinct, title: t, event: auth, group_by: ip, window_seconds: 30, severity: low, when: [{ measure: distinct, field: account, at_least: 3, exact_limit: 4 }] }
  - { id: ratio, title: t, event: auth, group_by: ip, window_seconds: 40, severity: low, when: [{ measure: ratio, where: { outcome: failure }, at_least: 0.7, min_events: 4 }, { measure: count, at_least: 4 }] }
  - { id: bucket, title: t, event: auth, group_by: ip, window_seconds: 10, severity: low, when: [{ measure: bucket, capacity: 3, leak_per_second: 1 }] }
  - { id: new, title: t, event: auth, where: { action: login }, group_by: ip, window_seconds: 60, severity: low, when: [{ measure: new_value, field: device, at_least: 2 }, { measure: distinct, field: account, at_most: 2 }] }
";

fn login(account: u8, ip: u8, device: u8, ok: bool, ms: i64) -> Event {
    let mut e = fixtures::failed_login(
        &format!("user{account}"),
        &format!("10.0.0.{ip}"),
        t0() + Duration::milliseconds(ms),
    );
    if let EventData::Auth(a) = &mut e.data {
        a.device = Some(format!("d{device}"));
        a.outcome = if ok {
            AuthOutcome::Success
        } else {
            AuthOutcome::Failure
        };
        a.action = AuthAction::Login;
    }
    e
}

fn key(a: &Alert) -> String {
    format!("{} {} {} {}", a.time, a.rule_id, a.entity, a.evidence)
}

proptest! {
    /// One detector holding every rule's state in one block per entity raises exactly the
    /// alerts (with the same evidence) that one detector per rule raises.
    #[test]
    fn rules_sharing_a_block_alert_as_if_alone(
        events in proptest::collection::vec((0u8..6, 0u8..3, 0u8..4, any::<bool>(), 0i64..4_000), 1..150),
    ) {
        let set = RuleSet::from_yaml("t.yaml", RULES).unwrap();
        let mut t = 0;
        let events: Vec<Event> = events
            .into_iter()
            .map(|(account, ip, device, ok, gap)| {
                t += gap;
                login(account, ip, device, ok, t)
            })
            .collect();
        let mut together = ScenarioDetector::new(EntityKind::Ip, &set.rules);
        let mut shared: Vec<String> = run(&mut together, &events).iter().map(key).collect();
        let mut alone: Vec<String> = Vec::new();
        for rule in &set.rules {
            let mut d = ScenarioDetector::new(EntityKind::Ip, std::slice::from_ref(rule));
            alone.extend(run(&mut d, &events).iter().map(key));
        }
        shared.sort();
        alone.sort();
        prop_assert_eq!(shared, alone);
    }
}

#[test]
fn alerts_come_back_after_a_gap_longer_than_32_bits_of_milliseconds() {
    let set = RuleSet::from_yaml("t.yaml", RULES).unwrap();
    let mut d = ScenarioDetector::new(EntityKind::Ip, &set.rules);
    let burst = |start_ms: i64| -> Vec<Event> {
        (0..3)
            .map(|i| login(i, 1, 0, false, start_ms + i64::from(i)))
            .collect()
    };
    let count_alerts = |alerts: &[Alert]| alerts.iter().filter(|a| a.rule_id == "count").count();
    assert_eq!(count_alerts(&run(&mut d, &burst(0))), 1);
    // Within the window of the alert: quiet.
    assert_eq!(count_alerts(&run(&mut d, &burst(5_000))), 0);
    // 60 days later (more than u32::MAX ms): the entity expired or its quiet time saturated;
    // either way it alerts again, once.
    let later = 60 * 24 * 3_600_000;
    assert_eq!(count_alerts(&run(&mut d, &burst(later))), 1);
    assert_eq!(count_alerts(&run(&mut d, &burst(later + 5_000))), 0);
    assert_eq!(count_alerts(&run(&mut d, &burst(later + 25_000))), 1);
}

#[test]
fn spilled_distinct_counts_keep_counting_and_the_estimate_returns_to_zero() {
    let set = RuleSet::from_yaml(
        "t.yaml",
        "
rules:
  - { id: many, title: t, event: auth, group_by: ip, window_seconds: 60, severity: low, when: [{ measure: distinct, field: account, at_least: 40, exact_limit: 8 }] }
",
    )
    .unwrap();
    let mut d = ScenarioDetector::new(EntityKind::Ip, &set.rules);
    // Two inline values, then a list, then a sketch past 8 values: the 40th distinct account
    // alerts (the sketch is within a few per cent at this size).
    let mut alerts = Vec::new();
    for i in 0..60u32 {
        let e = fixtures::failed_login(
            &format!("acct{i}"),
            "10.0.0.1",
            t0() + Duration::milliseconds(i64::from(i)),
        );
        d.on_event(&e, &mut alerts);
    }
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    let value = alerts[0].evidence["count"].as_f64().unwrap();
    assert!((37.0..=43.0).contains(&value), "{value}");
    assert!(d.state_bytes() > 4096, "the sketch is counted");
    // A later event from another address lets the sweep forget the first.
    let late = fixtures::failed_login("x", "10.0.0.2", t0() + Duration::minutes(10));
    d.on_event(&late, &mut alerts);
    d.sweep();
    assert_eq!(d.tracked_entities(), 1);
    let one = d.state_bytes();
    let later = fixtures::failed_login("y", "10.0.0.3", t0() + Duration::minutes(20));
    d.on_event(&later, &mut alerts);
    d.sweep();
    assert_eq!(d.tracked_entities(), 1);
    assert_eq!(
        d.state_bytes(),
        one,
        "what an entity adds is what its expiry frees"
    );
    assert!(one < 200, "one small entity left: {one}");
}
