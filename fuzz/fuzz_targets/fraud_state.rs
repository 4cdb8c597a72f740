//! The feature-state file reader on arbitrary bytes: errors, never panics; a state it accepts
//! is written again at the same size (8 bytes more for a version 1 file). Each input is read
//! twice: as it is, and with its last eight bytes replaced by the right checksum of the rest,
//! so that mutations reach the checks behind the checksum (counts, values, duplicate keys)
//! instead of all failing at it.
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
        // A version 1 file (before the journal) is written back as version 2, with the
        // number of the journal file that continues it.
        let grown = if data[22..26] == 1u32.to_le_bytes() { 8 } else { 0 };
        assert_eq!(again.len(), data.len() + grown, "same size written back");
    }
}

fuzz_target!(|data: &[u8]| {
    read(data);
    if let Some(fixed) = reseal::resealed(data) {
        read(&fixed);
    }
});
