//! The feature-state file reader on arbitrary bytes: errors, never panics; a state it accepts
//! is written again at the same size (for an older version, plus the count of the payments
//! remembered, none (versions 1 and 2), and its journal file's number (version 1)). Each input is read
//! twice: as it is, and with its last eight bytes replaced by the right checksum of the rest,
//! so that mutations reach the checks behind the checksum (counts, values, duplicate keys)
//! instead of all failing at it. A state read is then swept, a shard at a time and whole.
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
    if let Ok(mut state) = FeatureStore::read_snapshot("fuzz.bin", data, limits) {
        let mut again = Vec::new();
        state.write_snapshot(&mut again).expect("write to memory");
        // An older file is written back in this version: a version 1 file (before the
        // journal) with the number of the journal file that continues it, and a file of
        // version 1 or 2 (before the payments were remembered) with their count, 0.
        let version = u32::from_le_bytes(data[22..26].try_into().expect("four bytes"));
        let grown = match version {
            1 => 16,
            2 => 8,
            _ => 0,
        };
        assert_eq!(again.len(), data.len() + grown, "same size written back");
        // A pass forgetting what expired before the newest time read (any times the file
        // holds), then one over the whole state: what the first left is not expired.
        let held = state.len();
        let forgotten: usize = (0..state.sweep_steps()).map(|_| state.sweep_step()).sum();
        assert_eq!(state.len() + forgotten, held);
        let left = state.len();
        state.sweep_to_newest();
        assert_eq!(state.len(), left, "one pass forgot every expired entity");
    }
}

fuzz_target!(|data: &[u8]| {
    read(data);
    if let Some(fixed) = reseal::resealed(data) {
        read(&fixed);
    }
});
