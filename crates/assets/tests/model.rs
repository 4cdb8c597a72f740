#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

//! The asset model: the shipped shop model, loader errors, mapping, partners and the cascade.

use ensuresec_assets::{
    AssetModel, AssetModelError, AssetType, CascadeOptions, DependencyKind, IncidentView, Layer,
    SHOP_MODEL, SHOP_MODEL_NAME,
};
use ensuresec_model::{EntityKey, EntityKind};

fn shop() -> AssetModel {
    AssetModel::from_yaml(SHOP_MODEL_NAME, SHOP_MODEL).unwrap()
}

fn invalid(text: &str) -> (usize, String, String) {
    match AssetModel::from_yaml("assets.yaml", text) {
        Err(AssetModelError::Invalid {
            line, key, message, ..
        }) => (line, key, message),
        other => panic!("expected a validation error, got {other:?}"),
    }
}

#[test]
fn shipped_shop_model_loads_with_every_layer() {
    let m = shop();
    assert!(m.len() >= 20, "{} assets", m.len());
    for layer in [Layer::Cyber, Layer::Physical, Layer::Business] {
        assert!(m.assets().iter().any(|a| a.layer == layer), "{layer:?}");
    }
    let checkout = m.get("checkout").unwrap();
    assert_eq!(checkout.asset_type, AssetType::BusinessProcess);
}

#[test]
fn app_host_outage_reaches_checkout_through_the_front_end() {
    let m = shop();
    let c = m.cascade("app-hosts", CascadeOptions::default()).unwrap();
    assert_eq!(c.affected[0].id, "app-hosts");
    assert_eq!(c.affected[0].depth, 0);
    let checkout = c.affected.iter().find(|a| a.id == "checkout").unwrap();
    assert_eq!(
        c.path_to("checkout"),
        ["app-hosts", "web-frontend", "checkout"]
    );
    assert_eq!(checkout.via, Some(DependencyKind::Service));
    assert!((checkout.impact - 1.0).abs() < 1e-9);
    // Fulfilment is reached through the order database and the warehouse, 30 minutes later.
    let fulfilment = c
        .affected
        .iter()
        .find(|a| a.id == "order-fulfilment")
        .unwrap();
    assert_eq!(fulfilment.delay_minutes, 30);
    let sum: f64 = c.affected.iter().map(|a| a.business_impact_per_hour).sum();
    assert!((c.business_impact_per_hour - sum).abs() < 1e-6);
    assert!(
        c.affected
            .windows(2)
            .all(|w| w[0].delay_minutes <= w[1].delay_minutes)
    );
}

#[test]
fn weak_edges_stop_spreading_below_the_threshold() {
    let m = shop();
    let all = m
        .cascade(
            "edge",
            CascadeOptions {
                min_impact: 0.0,
                ..Default::default()
            },
        )
        .unwrap();
    let strong = m
        .cascade(
            "edge",
            CascadeOptions {
                min_impact: 0.6,
                ..Default::default()
            },
        )
        .unwrap();
    assert!(strong.affected.len() < all.affected.len());
    assert!(strong.affected.iter().all(|a| a.impact >= 0.6));
}

#[test]
fn unknown_asset_has_no_cascade() {
    assert!(shop().cascade("nope", CascadeOptions::default()).is_none());
}

#[test]
fn incidents_map_to_assets_by_rule_detector_entity_and_tag() {
    let m = shop();
    let ids = |entity: &EntityKey, detectors: &[String], rules: &[String], tags: &[String]| {
        let view = IncidentView {
            entity,
            detectors,
            rule_ids: rules,
            tags,
        };
        m.assets_for(&view)
            .into_iter()
            .map(|i| m.assets()[i].id.clone())
            .collect::<Vec<_>>()
    };
    let ip = EntityKey::new(EntityKind::Ip, "45.33.1.2");
    assert_eq!(
        ids(
            &ip,
            &["threshold".into()],
            &["credential-stuffing-ip".into()],
            &[]
        ),
        ["identity"]
    );
    assert_eq!(
        ids(&ip, &["webattack".into()], &["SQLI-1".into()], &[]),
        ["web-frontend"]
    );
    let asset = EntityKey::new(EntityKind::Asset, "shop-api");
    assert_eq!(ids(&asset, &[], &[], &[]), ["shop-api"]);
    let lockers = ids(&ip, &[], &[], &["locker".into()]);
    assert_eq!(lockers, ["parcel-lockers"]);
    assert!(ids(&ip, &["other".into()], &["other".into()], &[]).is_empty());
}

#[test]
fn partners_see_only_incidents_on_their_assets() {
    let m = shop();
    let ip = EntityKey::new(EntityKind::Ip, "45.33.1.2");
    let locker_tag = ["locker".to_string()];
    let on_lockers = IncidentView {
        entity: &ip,
        detectors: &[],
        rule_ids: &[],
        tags: &locker_tag,
    };
    let sqli_rule = ["SQLI-1".to_string()];
    let web = ["webattack".to_string()];
    let on_web = IncidentView {
        entity: &ip,
        detectors: &web,
        rule_ids: &sqli_rule,
        tags: &[],
    };
    assert!(m.visible_to_partner("parcel-express", &on_lockers));
    assert!(!m.visible_to_partner("parcel-express", &on_web));
    assert!(!m.visible_to_partner("someone-else", &on_lockers));
    let tagged = ["partner:someone-else".to_string()];
    let tagged_view = IncidentView {
        entity: &ip,
        detectors: &web,
        rule_ids: &sqli_rule,
        tags: &tagged,
    };
    assert!(m.visible_to_partner("someone-else", &tagged_view));
}

const TWO: &str = "assets:
  - id: db
    name: Database
    type: database
    owner: ops
    criticality: high
  - id: app
    name: App
    type: api
    owner: ops
    criticality: high
    depends_on:
      - { asset: db, kind: data, delay_minutes: 5, impact: 0.5 }
";

#[test]
fn errors_name_the_line_and_key() {
    let (line, key, message) = invalid(&TWO.replace("impact: 0.5", "impact: 1.5"));
    assert_eq!(
        (line, key.as_str()),
        (13, "depends_on[0].impact"),
        "{message}"
    );
    let (line, key, _) = invalid(&TWO.replace("asset: db,", "asset: dbx,"));
    assert_eq!((line, key.as_str()), (13, "depends_on[0].asset"));
    let (line, key, message) = invalid(&TWO.replace("id: app", "id: db"));
    assert_eq!((line, key.as_str()), (7, "id"));
    assert!(message.contains("earlier"), "{message}");
    let (line, key, _) = invalid(&TWO.replace("name: App", "name: \"\""));
    assert_eq!((line, key.as_str()), (8, "name"));
    let err = AssetModel::from_yaml(
        "assets.yaml",
        &TWO.replace(
            "owner: ops\n    criticality: high\n    depends",
            "owner: ops\n    criticality: high\n    colour: red\n    depends",
        ),
    )
    .unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with("assets.yaml: ") && text.contains("colour") && text.contains("line 12"),
        "{text}"
    );
    let err = AssetModel::from_yaml("assets.yaml", &TWO.replace("type: api", "type: spaceship"))
        .unwrap_err();
    assert!(err.to_string().contains("spaceship"), "{err}");
}

#[test]
fn oversized_input_is_refused_before_parsing() {
    let big = "#".repeat(ensuresec_assets::MAX_FILE_BYTES + 1);
    assert!(matches!(
        AssetModel::from_yaml("big.yaml", &big),
        Err(AssetModelError::TooLarge { .. })
    ));
}
