//! The ring-graph file reader on arbitrary bytes: errors, never panics; a graph it accepts is
//! written again at the same size (8 bytes more for a version 2 file) and goes on linking and labelling payments without a panic.
//! Each input is read twice: as it is, and with its last eight bytes replaced by the right
//! checksum of the rest, so that mutations reach the checks behind the checksum (roots, kinds,
//! labels, entities and payments twice) instead of all failing at it.
#![no_main]

use ensuresec_fraud::rings::{Link, RingGraph, RingLimits};
use libfuzzer_sys::fuzz_target;

#[path = "../common/reseal.rs"]
mod reseal;

fn read(data: &[u8]) {
    let limits = RingLimits {
        min_members: 2,
        min_frauds: 1,
        max_nodes: 1_000,
        max_payments: 1_000,
        ..RingLimits::default()
    };
    if let Ok(mut graph) = RingGraph::read_snapshot("fuzz.bin", data, limits) {
        let grown = if data[22..26] == 2u32.to_le_bytes() { 8 } else { 0 };
        assert_eq!(
            graph.snapshot().len(),
            data.len() + grown,
            "same size written back"
        );
        graph.add_payment(
            0,
            "fuzz-1",
            &[(Link::Card, "fuzz-card"), (Link::Device, "fuzz-device")],
        );
        graph.label(0, "fuzz-1", true);
        let _ = graph.stats();
    }
}

fuzz_target!(|data: &[u8]| {
    read(data);
    if let Some(fixed) = reseal::resealed(data) {
        read(&fixed);
    }
});
