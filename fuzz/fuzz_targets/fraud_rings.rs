//! The ring-graph file reader on arbitrary bytes: errors, never panics; a graph it accepts is
//! written again at the same size (for an older version, plus its journal file's number (version
//! 2), each entity's link (versions 2 and 3) and its generations' report counts, none
//! (versions 2 to 4)) and goes on linking and labelling payments
//! without a panic (nor an endless walk: links are checked for cycles when read).
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
        let version = u32::from_le_bytes(data[22..26].try_into().expect("four bytes"));
        let links = if version < 4 { 4 * graph.stats().nodes } else { 0 };
        let reports = if version < 5 { 16 } else { 0 };
        let grown = if version == 2 { 8 } else { 0 } + links + reports;
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
        graph.add_payment(
            0,
            "fuzz-2",
            &[(Link::Card, "fuzz-card-2"), (Link::Device, "fuzz-device")],
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
