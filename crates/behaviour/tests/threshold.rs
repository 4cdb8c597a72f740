//! Threshold rules: loading, validation errors, and the windows' behaviour at their edges.

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

use chrono::{DateTime, Duration, TimeZone, Utc};
use ensuresec_behaviour::{DEFAULT_RULES, RuleSet, ThresholdDetector};
use ensuresec_model::event::{AuthAction, AuthEvent, AuthOutcome, HttpRequest};
use ensuresec_model::{Alert, Detector, EntityKind, Event, EventData};
use proptest::prelude::*;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 21, 12, 0, 0).unwrap()
}

fn failed_login(account: &str, ip: &str, at: DateTime<Utc>) -> Event {
    Event {
        time: at,
        ingest_time: None,
        source: "test".into(),
        labels: Default::default(),
        data: EventData::Auth(AuthEvent {
            account: account.into(),
            ip: ip.parse().unwrap(),
            action: AuthAction::Login,
            outcome: AuthOutcome::Failure,
            reason: None,
            device: None,
            user_agent: None,
        }),
    }
}

fn request(status: u16, at: DateTime<Utc>) -> Event {
    Event {
        time: at,
        ingest_time: None,
        source: "test".into(),
        labels: Default::default(),
        data: EventData::HttpRequest(HttpRequest {
            client_ip: "192.0.2.9".parse().unwrap(),
            method: "GET".into(),
            host: None,
            path: "/x".into(),
            query: None,
            http_version: None,
            status: Some(status),
            user_agent: None,
            referer: None,
            headers: vec![],
            body: None,
            bytes_sent: None,
            duration_ms: None,
            session: None,
            account: None,
            device: None,
        }),
    }
}

fn run(detector: &mut ThresholdDetector, events: &[Event]) -> Vec<Alert> {
    let mut out = Vec::new();
    for e in events {
        detector.on_event(e, &mut out);
    }
    out
}

fn rules(yaml: &str) -> RuleSet {
    RuleSet::from_yaml("test.yaml", yaml).unwrap()
}

const ONE_RULE: &str = "
rules:
  - id: r1
    title: t
    event: auth
    where: { outcome: failure }
    group_by: ip
    window_seconds: 60
    threshold: 3
    distinct: account
    severity: high
";

#[test]
fn default_rules_load() {
    let set = RuleSet::from_yaml("thresholds.yaml", DEFAULT_RULES).unwrap();
    assert!(set.rules.len() >= 4);
    assert!(set.group_kinds().contains(&EntityKind::Ip));
}

#[test]
fn distinct_threshold_fires_exactly_at_the_threshold() {
    let set = rules(ONE_RULE);
    let mut d = ThresholdDetector::new(EntityKind::Ip, &set.rules);
    let two = [
        failed_login("a", "10.0.0.1", t0()),
        failed_login("b", "10.0.0.1", t0() + Duration::seconds(1)),
        failed_login("b", "10.0.0.1", t0() + Duration::seconds(2)),
    ];
    assert!(
        run(&mut d, &two).is_empty(),
        "two distinct accounts stay below three"
    );
    let alerts = run(
        &mut d,
        &[failed_login("c", "10.0.0.1", t0() + Duration::seconds(3))],
    );
    assert_eq!(alerts.len(), 1);
    let a = &alerts[0];
    assert_eq!(a.rule_id, "r1");
    assert_eq!(a.entity.to_string(), "ip:10.0.0.1");
    assert_eq!(a.evidence["count"], 3);
    assert_eq!(a.evidence["samples"].as_array().unwrap().len(), 3);
    assert_eq!(
        a.time,
        t0() + Duration::seconds(3),
        "alert time is the event time"
    );
}

#[test]
fn events_outside_the_window_do_not_count() {
    let set = rules(ONE_RULE);
    let mut d = ThresholdDetector::new(EntityKind::Ip, &set.rules);
    let spread: Vec<Event> = ["a", "b", "c", "d"]
        .iter()
        .enumerate()
        .map(|(i, acc)| failed_login(acc, "10.0.0.1", t0() + Duration::seconds(40 * i as i64)))
        .collect();
    assert!(run(&mut d, &spread).is_empty());
}

#[test]
fn one_alert_per_window_while_the_attack_goes_on() {
    let set = rules(ONE_RULE);
    let mut d = ThresholdDetector::new(EntityKind::Ip, &set.rules);
    let events: Vec<Event> = (0..100)
        .map(|i| failed_login(&format!("u{i}"), "10.0.0.1", t0() + Duration::seconds(i)))
        .collect();
    let alerts = run(&mut d, &events);
    // 100 seconds of attack with a 60-second window: one alert at 2 s, another at 62 s.
    assert_eq!(alerts.len(), 2, "{alerts:#?}");
}

#[test]
fn entities_are_counted_apart_and_conditions_filter() {
    let set = rules(ONE_RULE);
    let mut d = ThresholdDetector::new(EntityKind::Ip, &set.rules);
    let mut events: Vec<Event> = (0..3)
        .map(|i| failed_login(&format!("u{i}"), &format!("10.0.0.{i}"), t0()))
        .collect();
    let mut ok = failed_login("x", "10.0.0.9", t0());
    if let EventData::Auth(a) = &mut ok.data {
        a.outcome = AuthOutcome::Success;
    }
    events.extend([ok.clone(), ok.clone(), ok]);
    assert!(run(&mut d, &events).is_empty());
    assert_eq!(d.tracked_entities(), 3);
}

#[test]
fn status_class_condition_matches_the_class_only() {
    let set = rules(
        "
rules:
  - { id: e, title: t, event: http_request, where: { status: 4xx }, group_by: ip, window_seconds: 60, threshold: 2, severity: low }
",
    );
    let mut d = ThresholdDetector::new(EntityKind::Ip, &set.rules);
    assert!(
        run(
            &mut d,
            &[request(200, t0()), request(500, t0()), request(404, t0())]
        )
        .is_empty()
    );
    assert_eq!(run(&mut d, &[request(403, t0())]).len(), 1);
}

fn check_error(yaml: &str, needle: &str) {
    let err = RuleSet::from_yaml("bad.yaml", yaml)
        .unwrap_err()
        .to_string();
    assert!(err.contains(needle), "`{err}` should contain `{needle}`");
    assert!(err.starts_with("bad.yaml"), "`{err}` should name the file");
}

#[test]
fn bad_rule_files_name_what_is_wrong() {
    check_error("rules:\n  - id: x\n    titel: t\n", "unknown field `titel`");
    check_error("rules:\n  - id: x\n    titel: t\n", "line 3");
    check_error(
        "rules:\n  - { id: a, title: t, event: auth, group_by: ip, window_seconds: 0, threshold: 2, severity: low }\n",
        "`window_seconds` must be",
    );
    check_error(
        "rules:\n  - { id: a, title: t, event: auth, group_by: ip, window_seconds: 5, threshold: 2, severity: low }\n  - { id: a, title: t, event: auth, group_by: ip, window_seconds: 5, threshold: 2, severity: low }\n",
        "rule 1 (`a`): `id` is used by an earlier rule",
    );
    check_error(
        "rules:\n  - { id: a, title: t, event: teleport, group_by: ip, window_seconds: 5, threshold: 2, severity: low }\n",
        "unknown variant `teleport`",
    );
}

proptest! {
    /// Plain counting agrees with a naive reference: the first alert comes at the first event at
    /// which `threshold` events lie within the window ending at it.
    #[test]
    fn first_alert_matches_a_naive_count(
        gaps in proptest::collection::vec(0i64..30, 1..60),
        threshold in 1u32..8,
    ) {
        let yaml = format!("rules:\n  - {{ id: c, title: t, event: auth, group_by: ip, window_seconds: 60, threshold: {threshold}, severity: low }}\n");
        let set = rules(&yaml);
        let mut d = ThresholdDetector::new(EntityKind::Ip, &set.rules);
        let mut times = Vec::new();
        let mut t = 0;
        for g in &gaps { t += g; times.push(t); }
        let mut first_alert = None;
        for (i, s) in times.iter().enumerate() {
            let mut out = Vec::new();
            d.on_event(&failed_login("a", "10.1.1.1", t0() + Duration::seconds(*s)), &mut out);
            if !out.is_empty() && first_alert.is_none() { first_alert = Some(i); }
        }
        let naive = times.iter().enumerate().position(|(i, s)| {
            times[..=i].iter().filter(|x| **x > s - 60).count() >= threshold as usize
        });
        prop_assert_eq!(first_alert, naive);
    }
}
