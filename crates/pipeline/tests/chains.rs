//! Chains over alerts in the running pipeline: an account taken over on the web (a behaviour
//! alert) and its parcel redirected on the road (a delivery alert), seen by different partitions,
//! become one `takeover-redirect` alert in the account's incident.

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use ensuresec_behaviour::{DEFAULT_RULES, RuleSet};
use ensuresec_delivery::DeliveryRules;
use ensuresec_model::event::{
    AuthAction, AuthEvent, AuthOutcome, DeliveryPlan, GeoPoint, OrderEvent, OrderStatus,
};
use ensuresec_model::fixtures::t0;
use ensuresec_model::{Clock, EntityKey, EntityKind, Event, EventData};
use ensuresec_pipeline::{Ingestor, Pipeline, PipelineConfig, Sink, detectors};
use ensuresec_store::{AlertFilter, PageRequest, SqliteOptions, SqliteStore, Store};

struct FixedClock;
impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        t0()
    }
}

fn event(minutes: i64, data: EventData) -> Event {
    Event {
        time: t0() + Duration::minutes(minutes),
        ingest_time: None,
        source: "test".into(),
        labels: BTreeMap::new(),
        data,
    }
}

fn auth(minutes: i64, device: &str, action: AuthAction) -> Event {
    event(
        minutes,
        EventData::Auth(AuthEvent {
            account: "alice".into(),
            ip: "185.220.101.7".parse().unwrap(),
            action,
            outcome: AuthOutcome::Success,
            reason: None,
            device: Some(device.into()),
            user_agent: None,
        }),
    )
}

fn order(minutes: i64, device: &str, status: OrderStatus) -> Event {
    event(
        minutes,
        EventData::Order(OrderEvent {
            order_id: "O1".into(),
            status,
            account: Some("alice".into()),
            ip: None,
            device: Some(device.into()),
            total: None,
            items: None,
            shipping_address_hash: None,
        }),
    )
}

fn plan(minutes: i64, destination: GeoPoint) -> Event {
    event(
        minutes,
        EventData::DeliveryPlan(DeliveryPlan {
            parcel_id: "P1".into(),
            order_id: Some("O1".into()),
            account: Some("alice".into()),
            product_class: None,
            destination,
            route: vec![],
            courier: None,
            shift_start: None,
            shift_end: None,
            weight_grams: None,
        }),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_takeover_and_a_redirect_become_one_chain_alert_in_the_account_s_incident() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> =
        Arc::new(SqliteStore::open(dir.path(), SqliteOptions::default()).unwrap());
    let behaviour = RuleSet::from_yaml("thresholds.yaml", DEFAULT_RULES).unwrap();
    let delivery = Arc::new(DeliveryRules::builtin().unwrap());
    let mut factories = detectors::threshold(&behaviour);
    factories.extend(detectors::delivery(delivery.clone()));
    let sinks: Vec<Arc<dyn Sink>> = Vec::new();
    let pipeline = Pipeline::start_recorded(
        PipelineConfig {
            partitions: 3,
            ..PipelineConfig::default()
        },
        factories,
        detectors::delivery_chains(delivery),
        store.clone(),
        None,
        sinks,
        Arc::new(FixedClock),
    )
    .await
    .unwrap();
    let ingestor = Ingestor::new(store.clone(), pipeline.handle(), Arc::new(FixedClock));
    let home = GeoPoint {
        lat: 52.52,
        lon: 13.40,
    };
    let elsewhere = GeoPoint {
        lat: 52.48,
        lon: 13.45,
    };
    // The customer's own order, then the takeover from a new device, then the redirect.
    ingestor
        .ingest(vec![
            order(-600, "alice-phone", OrderStatus::Paid),
            plan(0, home),
        ])
        .await
        .unwrap();
    ingestor
        .ingest(vec![
            auth(10, "attacker-laptop", AuthAction::PasswordReset),
            auth(11, "attacker-laptop", AuthAction::Login),
            order(12, "attacker-laptop", OrderStatus::AddressChanged),
        ])
        .await
        .unwrap();
    ingestor.ingest(vec![plan(13, elsewhere)]).await.unwrap();
    drop(ingestor);
    pipeline.shutdown().await;

    let alerts = store
        .list_alerts(AlertFilter::default(), PageRequest::default())
        .await
        .unwrap()
        .items;
    let rule = |id: &str| alerts.iter().find(|a| a.rule_id == id);
    let chain = rule("takeover-redirect").unwrap_or_else(|| panic!("{alerts:#?}"));
    let takeover = rule("account-takeover-address-change").unwrap();
    let redirect = rule("parcel-redirected").unwrap();
    let alice = EntityKey::new(EntityKind::Account, "alice");
    assert_eq!(chain.entity, alice);
    assert_eq!(chain.evidence["parcel_id"], "P1");
    // All three about the account: one incident.
    assert_eq!(takeover.entity, alice);
    assert_eq!(redirect.entity, alice);
    assert!(chain.incident_id.is_some());
    assert_eq!(chain.incident_id, takeover.incident_id);
    assert_eq!(chain.incident_id, redirect.incident_id);
    assert_eq!(
        alerts
            .iter()
            .filter(|a| a.rule_id == "takeover-redirect")
            .count(),
        1
    );
}
