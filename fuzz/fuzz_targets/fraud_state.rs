//! The feature-state file reader on arbitrary bytes: errors, never panics; a state it accepts
//! is written again at the same size. Each input is read twice: as it is, and with its last
//! eight bytes replaced by the right checksum of the rest, so that mutations reach the checks
//! behind the checksum (counts, values, duplicate keys) instead of all failing at it.
#![no_main]

use ensuresec_fraud::{FeatureStore, StateLimits};
use libfuzzer_sys::fuzz_target;

/// FNV-1a, 64 bits: the file's checksum, written out again here from its definition.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

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
    if let Some(body) = data.len().checked_sub(8) {
        let mut fixed = data.to_vec();
        let sum = fnv1a(&fixed[..body]).to_le_bytes();
        fixed[body..].copy_from_slice(&sum);
        read(&fixed);
    }
});
