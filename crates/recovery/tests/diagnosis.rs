//! Diagnosis on the scenario shop's graph from given observations: conflicts, exoneration,
//! ranking, reasoning in words, incremental updates, contradictions and the next probe.

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use ensuresec_assets::AssetModel;
use ensuresec_recovery::hitting::HsOptions;
use ensuresec_recovery::{DepGraph, Diagnoser, Health, Observation, Update, prior};

fn t(minutes: i64) -> DateTime<Utc> {
    DateTime::<Utc>::UNIX_EPOCH + Duration::days(20_000) + Duration::minutes(minutes)
}

fn model() -> AssetModel {
    AssetModel::from_yaml("assets.yaml", include_str!("../scenarios/assets.yaml")).unwrap()
}

fn diagnoser(alerts: &[(&str, u32)]) -> Diagnoser {
    let m = model();
    let counts: HashMap<String, u32> = alerts.iter().map(|(a, n)| (a.to_string(), *n)).collect();
    Diagnoser::new(
        DepGraph::from_model(&m),
        prior::priors(&m, &counts),
        HsOptions::default(),
    )
    .unwrap()
}

fn obs(asset: &str, health: Health, at: DateTime<Utc>) -> Observation {
    Observation {
        asset: asset.into(),
        health,
        at,
        source: "probe:http".into(),
        detail: format!("{asset} checked"),
    }
}

fn names(d: &Diagnoser) -> Vec<Vec<String>> {
    d.ranked()
        .iter()
        .map(|(_, s)| s.iter().map(|&i| d.graph().id(i).to_string()).collect())
        .collect()
}

#[test]
fn no_symptoms_means_nothing_to_explain() {
    let d = diagnoser(&[]);
    assert_eq!(d.candidates().sets, vec![Vec::<usize>::new()]);
    let r = d.report(5, 3, None);
    assert!(r.symptoms.is_empty());
    assert!(r.candidates[0].assets.is_empty());
}

#[test]
fn ok_observations_exonerate_what_they_depend_on() {
    let mut d = diagnoser(&[]);
    d.observe_all([
        obs("shop-api", Health::Faulty, t(0)),
        obs("identity", Health::Ok, t(0)),
        obs("promotions", Health::Faulty, t(0)),
    ])
    .unwrap();
    let r = d.report(5, 3, None);
    for cleared in ["identity", "customer-db", "app-hosts", "edge"] {
        assert!(
            r.exonerated.contains(&cleared.to_string()),
            "{cleared}: {:?}",
            r.exonerated
        );
    }
    // shop-api's conflict is {shop-api, order-db}, promotions' is {promotions, order-db}.
    assert_eq!(names(&d)[0], vec!["order-db"]);
    assert_eq!(
        names(&d).iter().filter(|s| s.len() == 2).count(),
        1,
        "{:?}",
        names(&d)
    );
    let best = &r.candidates[0];
    let text = best.reasoning.join("\n");
    assert!(text.contains("`shop-api` depends on `order-db`"), "{text}");
    assert!(
        text.contains("`promotions` depends on `order-db`"),
        "{text}"
    );
    assert!(text.contains("prior"), "{text}");
    assert!(best.likelihood > 0.5 && best.likelihood <= 1.0);
}

#[test]
fn alerts_raise_a_candidate_above_an_equal_one() {
    // web-frontend faulty with edge and app-hosts OK: web-frontend, shop-api, identity,
    // customer-db, order-db and checkout-script all explain it alone.
    let symptoms = [
        obs("web-frontend", Health::Faulty, t(0)),
        obs("app-hosts", Health::Ok, t(0)),
    ];
    let mut quiet = diagnoser(&[]);
    quiet.observe_all(symptoms.clone()).unwrap();
    assert_eq!(quiet.candidates().sets.len(), 6, "{:?}", names(&quiet));
    let mut alerted = diagnoser(&[("identity", 2)]);
    alerted.observe_all(symptoms).unwrap();
    assert_eq!(names(&alerted)[0], vec!["identity"]);
}

#[test]
fn incremental_updates_match_a_rebuild() {
    let mut d = diagnoser(&[]);
    assert_eq!(
        d.observe(obs("app-hosts", Health::Ok, t(0))).unwrap(),
        Update::Rebuilt
    );
    assert_eq!(
        d.observe(obs("web-frontend", Health::Faulty, t(1)))
            .unwrap(),
        Update::Extended
    );
    assert_eq!(
        d.observe(obs("promotions", Health::Faulty, t(2))).unwrap(),
        Update::Extended
    );
    assert_eq!(
        d.observe(obs("promotions", Health::Faulty, t(3))).unwrap(),
        Update::Refreshed
    );
    assert_eq!(
        d.observe(obs("promotions", Health::Ok, t(1))).unwrap(),
        Update::Stale
    );
    let mut batch = diagnoser(&[]);
    batch
        .observe_all([
            obs("app-hosts", Health::Ok, t(0)),
            obs("web-frontend", Health::Faulty, t(1)),
            obs("promotions", Health::Faulty, t(2)),
        ])
        .unwrap();
    let mut a = d.candidates().sets.clone();
    let mut b = batch.candidates().sets.clone();
    a.sort();
    b.sort();
    assert_eq!(a, b);
    assert_eq!(names(&d)[0], vec!["order-db"]);
    // The database answers again: promotions is now unexplained only by itself.
    assert_eq!(
        d.observe(obs("order-db", Health::Ok, t(4))).unwrap(),
        Update::Rebuilt
    );
    assert!(
        names(&d)
            .iter()
            .all(|s| !s.contains(&"order-db".to_string()))
    );
}

#[test]
fn a_symptom_with_every_cause_cleared_is_a_contradiction() {
    let mut d = diagnoser(&[]);
    d.observe_all([
        obs("shop-api", Health::Ok, t(0)),
        obs("customer-db", Health::Faulty, t(0)),
    ])
    .unwrap();
    let r = d.report(5, 3, None);
    assert_eq!(r.contradictions, vec!["customer-db".to_string()]);
    assert_eq!(r.candidates[0].assets, Vec::<String>::new());
}

#[test]
fn an_observation_of_an_unknown_asset_is_refused_by_name() {
    let mut d = diagnoser(&[]);
    let e = d
        .observe(obs("no-such-asset", Health::Ok, t(0)))
        .unwrap_err();
    assert!(e.to_string().contains("`no-such-asset`"), "{e}");
}

#[test]
fn the_next_probe_splits_the_candidates() {
    let mut d = diagnoser(&[]);
    d.observe_all([
        obs("cold-room", Health::Faulty, t(0)),
        obs("edge", Health::Ok, t(0)),
    ])
    .unwrap();
    // cold-room, temperature-sensors or sensor-gateway: probing the sensors splits them.
    assert_eq!(d.candidates().sets.len(), 3);
    let r = d.report(5, 3, None);
    let best = &r.next_probes[0];
    assert_eq!(best.asset, "temperature-sensors", "{:?}", r.next_probes);
    assert!(best.entropy_bits > 0.5 && best.entropy_bits <= 1.0);
    assert!(
        r.next_probes
            .iter()
            .all(|p| p.asset != "edge" && p.asset != "cold-room")
    );
}
