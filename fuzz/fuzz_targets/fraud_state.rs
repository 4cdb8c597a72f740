//! The feature-state file reader on arbitrary bytes: errors, never panics; a state it accepts
//! is written again at the same size. Each input is read twice: as it is, and with its last
//! eight bytes replaced by the right checksum of the rest, so that mutations reach the checks
//! behind the checksum (counts, values, duplicate keys) instead of all failing at it.
#![no_main]

use ensuresec_fraud::{FeatureStore, StateLimits};
use libfuzzer_sys::fuzz_target;

#[path = "../common/reseal.rs"]
mod reseal;

fn read(data: &[u8]) {
    let limits = StateLimits {
        max_entities: 1_000,
        reserved_entities: 16,
        ..StateLimits::default()
    };
    if let Ok(state) = FeatureStore::read_snapshot("fuzz.bin", data, limits) {
        let mut again = Vec::new();
        state.write_snapshot(&mut again).expect("write to memory");
        assert_eq!(again.len(), data.len(), "same size written back");
    }
}

fuzz_target!(|data: &[u8]| {
    read(data);
    if let Some(fixed) = reseal::resealed(data) {
        read(&fixed);
    }
});
