//! The ring graph's journal reader on arbitrary bytes: errors or a torn end, never a panic;
//! what it takes goes into a graph with small ceilings. Each input is read twice: as it is,
//! and with the check of every frame its lengths mark out set right after the header, so that
//! mutations reach the record checks (type, time, entity count, kinds, lengths, UTF-8,
//! labels, bytes after the end) instead of all stopping at the check.
#![no_main]

use ensuresec_fraud::journal::replay_file;
use ensuresec_fraud::rings::{RingGraph, RingLimits};
use ensuresec_model::hash::hash_bytes;
use libfuzzer_sys::fuzz_target;

/// The header's length: magic, version, number.
const HEADER: usize = 36;

fn read(data: &[u8]) {
    let limits = RingLimits {
        min_members: 2,
        min_frauds: 1,
        max_nodes: 100,
        max_payments: 100,
        ..RingLimits::default()
    };
    for last in [true, false] {
        let mut graph = RingGraph::new(limits);
        if let Ok(read) = replay_file(data, None, last, &mut graph) {
            assert_eq!(
                read.whole_bytes + read.torn_bytes,
                data.len() as u64,
                "every byte is either whole or torn"
            );
            assert!(last || read.torn_bytes == 0, "a torn end only in the last file");
            let _ = graph.snapshot();
        }
    }
}

/// `data` with the check of every frame after the header set right, as far as the lengths
/// mark out whole frames.
fn rechecked(data: &[u8]) -> Option<Vec<u8>> {
    let mut fixed = data.get(..HEADER)?.to_vec();
    let mut rest = &data[HEADER..];
    while let Some((len, _)) = rest.split_first_chunk::<4>() {
        let end = 4 + u32::from_le_bytes(*len) as usize;
        if rest.len() < end + 8 {
            break;
        }
        fixed.extend_from_slice(&rest[..end]);
        fixed.extend_from_slice(&hash_bytes(&rest[..end]).to_le_bytes());
        rest = &rest[end + 8..];
    }
    fixed.extend_from_slice(rest);
    Some(fixed)
}

fuzz_target!(|data: &[u8]| {
    read(data);
    if let Some(fixed) = rechecked(data) {
        read(&fixed);
    }
});
