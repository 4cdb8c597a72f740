//! The recovery-file loader (probes and actions) on arbitrary text against the reference shop's
//! model: it must return a configuration or an error, never panic, and every probe and action
//! of a loaded file must name an asset of the model.
#![no_main]

use ensuresec_assets::{AssetModel, SHOP_MODEL, SHOP_MODEL_NAME};
use ensuresec_recovery::DepGraph;
use ensuresec_recovery::config::RecoveryConfig;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let model = AssetModel::from_yaml(SHOP_MODEL_NAME, SHOP_MODEL).expect("the shipped model loads");
    let graph = DepGraph::from_model(&model);
    if let Ok(config) = RecoveryConfig::from_yaml("fuzz.yaml", text, &graph) {
        for p in &config.probes {
            assert!(graph.index_of(&p.asset).is_some());
        }
        for a in &config.actions {
            assert!(graph.index_of(&a.asset).is_some());
            assert!(!a.steps.is_empty());
        }
    }
});
