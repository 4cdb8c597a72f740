//! Proofs served by a stored log use the right edge kept for its current size and hash the low
//! levels from one read of leaf hashes: they must equal the proofs of a reference tree for every
//! size, at every memory level, after further appends and after reopening (recovery).

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

use std::time::Duration;

use ensuresec_auditlog::merkle::{self, MemoryTree};
use ensuresec_auditlog::{Log, LogConfig, LogReader};
use proptest::prelude::*;

fn entry(i: u64) -> Vec<u8> {
    format!("cached proof entry {i}").into_bytes()
}

/// Appends `count` entries as one batch to both the log and the reference.
fn append(log: &Log, reference: &mut MemoryTree, count: u64) {
    let first = reference.size();
    let batch: Vec<Vec<u8>> = (first..first + count).map(entry).collect();
    for e in &batch {
        reference.push_entry(e);
    }
    assert_eq!(
        log.append_many(batch).unwrap().wait(),
        Ok(first..first + count)
    );
}

/// Every inclusion proof at the current size and at `other`, the consistency proofs between
/// them, and the roots, compared with the reference.
fn assert_proofs_match(reader: &LogReader, reference: &MemoryTree, other: u64) {
    let size = reference.size();
    assert_eq!(reader.root(), (size, reference.root()));
    for s in [size, other.clamp(1, size)] {
        assert_eq!(
            reader.root_at(s).unwrap(),
            merkle::tree_root(reference, s).unwrap()
        );
        for index in 0..s {
            assert_eq!(
                reader.inclusion_proof(index, s).unwrap(),
                merkle::inclusion_proof(reference, index, s).unwrap(),
                "leaf {index} of {s}"
            );
        }
        assert_eq!(
            reader.consistency_proof(s, size).unwrap(),
            merkle::consistency_proof(reference, s, size).unwrap(),
            "{s} to {size}"
        );
    }
    for old in 1..size {
        assert_eq!(
            reader.consistency_proof(old, size).unwrap(),
            merkle::consistency_proof(reference, old, size).unwrap(),
            "{old} to {size}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn stored_proofs_equal_reference_proofs_across_appends_and_reopen(
        batches in prop::collection::vec(1u64..90, 1..4),
        more in 1u64..40,
        other in 1u64..400,
        memory_level in 0u8..5,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let config = LogConfig {
            batch_linger: Duration::ZERO,
            memory_level,
            ..LogConfig::default()
        };
        let mut reference = MemoryTree::new();
        let log = Log::open(dir.path(), config.clone()).unwrap();
        for count in batches {
            append(&log, &mut reference, count);
            assert_proofs_match(&log.reader(), &reference, other);
        }
        log.close().unwrap();

        // Recovery rebuilds the right edge from the stored nodes; an append then replaces it.
        let log = Log::open(dir.path(), config).unwrap();
        let reader = log.reader();
        assert_proofs_match(&reader, &reference, other);
        append(&log, &mut reference, more);
        assert_proofs_match(&reader, &reference, other);
        log.close().unwrap();
    }
}
