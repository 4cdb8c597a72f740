//! The feature-state journal reader on arbitrary bytes: errors or a torn end, never a panic;
//! what it counts goes into a store with small ceilings. Each input is read twice: as it is,
//! and with every record's check set right after the header, so that mutations reach the
//! record checks (type, keys, time, amount) instead of all stopping at the check.
#![no_main]

use ensuresec_fraud::features::RECORD_BYTES;
use ensuresec_fraud::journal::replay_file;
use ensuresec_fraud::{FeatureStore, StateLimits};
use ensuresec_model::hash::hash_bytes;
use libfuzzer_sys::fuzz_target;

/// The header's length: magic, version, number.
const HEADER: usize = 36;

fn read(data: &[u8]) {
    let limits = StateLimits {
        max_entities: 100,
        reserved_entities: 16,
        ..StateLimits::default()
    };
    for last in [true, false] {
        let mut store = FeatureStore::new(limits);
        if let Ok(read) = replay_file(data, None, last, &mut store) {
            assert_eq!(
                read.whole_bytes + read.torn_bytes,
                data.len() as u64,
                "every byte is either whole or torn"
            );
            assert!(last || read.torn_bytes == 0, "a torn end only in the last file");
        }
    }
}

/// `data` with the check of every whole record after the header set right.
fn rechecked(data: &[u8]) -> Option<Vec<u8>> {
    let records = data.get(HEADER..)?;
    let mut fixed = data.to_vec();
    for (i, framed) in records.chunks_exact(RECORD_BYTES + 8).enumerate() {
        let at = HEADER + i * (RECORD_BYTES + 8) + RECORD_BYTES;
        fixed[at..at + 8].copy_from_slice(&hash_bytes(&framed[..RECORD_BYTES]).to_le_bytes());
    }
    Some(fixed)
}

fuzz_target!(|data: &[u8]| {
    read(data);
    if let Some(fixed) = rechecked(data) {
        read(&fixed);
    }
});
