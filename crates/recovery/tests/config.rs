//! `recovery.yaml`: the scenario file loads; bad files are refused with the line and key named.

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

use ensuresec_assets::AssetModel;
use ensuresec_recovery::config::{Action, Check, RecoveryConfig};
use ensuresec_recovery::{DepGraph, RecoveryError};

fn graph() -> DepGraph {
    let model =
        AssetModel::from_yaml("assets.yaml", include_str!("../scenarios/assets.yaml")).unwrap();
    DepGraph::from_model(&model)
}

fn load(text: &str) -> Result<RecoveryConfig, RecoveryError> {
    RecoveryConfig::from_yaml("recovery.yaml", text, &graph())
}

fn refused(text: &str) -> (usize, String) {
    match load(text) {
        Err(RecoveryError::Config { line, message, .. }) => (line, message),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn the_scenario_file_loads_with_every_kind_of_probe_and_action() {
    let text = include_str!("../scenarios/recovery.yaml")
        .replace("{SHOP}", "127.0.0.1:8080")
        .replace("{ORDER_DB}", "127.0.0.1:5432")
        .replace("{CUSTOMER_DB}", "127.0.0.1:5433")
        .replace("{GATEWAY}", "127.0.0.1:1883")
        .replace("{DIR}", "/srv/control")
        .replace("{STATE}", "/srv/integrity");
    let c = load(&text).unwrap();
    assert_eq!(c.probes.len(), 15);
    assert!(
        c.probes
            .iter()
            .any(|p| matches!(p.check, Check::Heartbeat(_)))
    );
    assert!(c.probes.iter().any(|p| matches!(p.check, Check::Tcp(_))));
    assert!(matches!(
        c.actions_of("checkout-script")[0],
        Action::RestoreFiles { .. }
    ));
    assert_eq!(c.actions_of("partner-webhook").len(), 2);
    assert!(c.actions_of("edge").is_empty());
    assert_eq!(c.verify.interval_ms, 50);
}

#[test]
fn an_unknown_asset_is_refused_at_its_line() {
    let (line, message) = refused(
        "probes:\n  - asset: edge\n    tcp: { address: \"127.0.0.1:1\" }\n  - asset: nowhere\n    tcp: { address: \"127.0.0.1:1\" }\n",
    );
    assert_eq!(line, 4);
    assert!(
        message.contains("probes[1].asset") && message.contains("nowhere"),
        "{message}"
    );
}

#[test]
fn a_probe_needs_exactly_one_check() {
    let (_, message) = refused(
        "probes:\n  - asset: edge\n    tcp: { address: \"127.0.0.1:1\" }\n    http: { url: \"http://x/\" }\n",
    );
    assert!(
        message.contains("exactly one of http, tcp, heartbeat"),
        "{message}"
    );
}

#[test]
fn unknown_keys_and_bad_values_are_refused_with_the_key() {
    let (line, message) =
        refused("probes:\n  - asset: edge\n    tcp: { adress: \"127.0.0.1:1\" }\n");
    assert_eq!(line, 3, "{message}");
    assert!(message.contains("adress"), "{message}");

    let (_, message) = refused("probes:\n  - asset: edge\n    tcp: { address: \"no-port\" }\n");
    assert!(message.contains("probes[0].tcp.address"), "{message}");

    let (_, message) = refused("probes:\n  - asset: edge\n    http: { url: \"ftp://x/\" }\n");
    assert!(message.contains("http or https"), "{message}");

    let (line, message) = refused(
        "actions:\n  - asset: edge\n    steps: []\n  - asset: order-db\n    steps:\n      - restart: { command: [] }\n",
    );
    assert_eq!(line, 2);
    assert!(message.contains("actions[0].steps"), "{message}");

    let (line, message) =
        refused("actions:\n  - asset: order-db\n    steps:\n      - restart: { command: [] }\n");
    assert_eq!(line, 2);
    assert!(
        message.contains("actions[0].steps[0].restart.command"),
        "{message}"
    );

    let (_, message) = refused("verify: { timeout_seconds: 0, interval_ms: 10 }\n");
    assert!(message.contains("verify.timeout_seconds"), "{message}");
}

#[test]
fn an_oversized_file_is_refused_by_size() {
    let text = format!(
        "# {}\n",
        "x".repeat(ensuresec_recovery::config::MAX_FILE_BYTES)
    );
    let (_, message) = refused(&text);
    assert!(message.contains("over the limit"), "{message}");
}
