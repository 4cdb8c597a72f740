//! The OpenAPI loader and the audit on arbitrary text, as the root file and as every file it
//! refers to: errors with a location, never a panic or a hang.
#![no_main]

use std::path::Path;

use ensuresec_prevention::spec::{Limits, load_with};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = Limits {
        max_file_bytes: 1 << 20,
        max_nodes: 100_000,
        max_files: 8,
        ..Limits::default()
    };
    let read = |_: &Path, max: u64| {
        if data.len() as u64 > max {
            return Err("too large".to_string());
        }
        Ok(data.to_vec())
    };
    if let Ok(spec) = load_with(Path::new("fuzz.yaml"), limits, &read) {
        let _ = ensuresec_prevention::audit(&spec, &ensuresec_prevention::RuleSet::builtin());
    }
});
