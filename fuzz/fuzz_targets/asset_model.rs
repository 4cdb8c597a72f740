//! The asset-model loader on arbitrary text: it must return a model or an error, never panic,
//! and a loaded model's cascade from any asset must stay within its own assets.
#![no_main]

use ensuresec_assets::{AssetModel, CascadeOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(model) = AssetModel::from_yaml("fuzz.yaml", text) {
        if let Some(first) = model.assets().first() {
            let cascade = model
                .cascade(&first.id, CascadeOptions::default())
                .expect("a listed asset has a cascade");
            assert!(cascade.affected.len() <= model.len());
        }
    }
});
