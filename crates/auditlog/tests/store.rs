//! The durable log: appends are readable and provable, and reopening recovers the same tree.

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

use std::io::Write as _;
use std::sync::Arc;
use std::time::Duration;

use ensuresec_auditlog::hash::leaf_hash;
use ensuresec_auditlog::merkle::{self, MemoryTree, verify_consistency, verify_inclusion};
use ensuresec_auditlog::note::{Ed25519Signer, VerifierSet};
use ensuresec_auditlog::tiles::{TilePath, tiles_for_size};
use ensuresec_auditlog::verify_dir::{VerifyOptions, verify_log_dir};
use ensuresec_auditlog::{AppendError, Log, LogConfig, StoreError};

fn config(memory_level: u8) -> LogConfig {
    LogConfig {
        batch_linger: Duration::ZERO,
        memory_level,
        derived_sync_entries: 300,
        ..LogConfig::default()
    }
}

fn entry(i: u64) -> Vec<u8> {
    format!("entry number {i} {}", "x".repeat((i % 50) as usize)).into_bytes()
}

fn signer() -> Ed25519Signer {
    Ed25519Signer::from_seed("example.com/auditlog", &[3; 32]).expect("valid name")
}

fn keys() -> VerifierSet {
    VerifierSet::new(vec![Arc::new(signer().verifier())])
}

#[test]
fn appends_are_readable_provable_and_survive_reopen() {
    for memory_level in [0u8, 3, 6] {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut reference = MemoryTree::new();
        let log = Log::open(dir.path(), config(memory_level)).expect("opens");
        let mut acks = Vec::new();
        for i in 0..700u64 {
            reference.push_entry(&entry(i));
            if i % 7 == 0 {
                acks.push(log.append(entry(i)).expect("queued"));
            } else {
                assert_eq!(log.append_blocking(entry(i)), Ok(i));
            }
        }
        let batch: Vec<Vec<u8>> = (700..1000).map(entry).collect();
        for e in &batch {
            reference.push_entry(e);
        }
        assert_eq!(
            log.append_many(batch).expect("queued").wait(),
            Ok(700..1000)
        );
        for a in acks {
            assert!(a.wait().expect("durable") % 7 == 0);
        }
        let r = log.reader();
        assert_eq!(r.root(), (1000, reference.root()));
        for size in [1u64, 2, 3, 255, 256, 257, 999, 1000] {
            assert_eq!(
                r.root_at(size).expect("root"),
                merkle::tree_root(&reference, size).expect("ref root")
            );
            for index in [0, size / 2, size - 1] {
                let proof = r.inclusion_proof(index, size).expect("proof");
                assert_eq!(
                    proof,
                    merkle::inclusion_proof(&reference, index, size).expect("ref proof")
                );
                verify_inclusion(
                    index,
                    size,
                    &leaf_hash(&entry(index)),
                    &proof,
                    &r.root_at(size).expect("root"),
                )
                .expect("verifies");
            }
            let proof = r.consistency_proof(size, 1000).expect("consistency");
            verify_consistency(
                size,
                1000,
                &r.root_at(size).expect("root"),
                &reference.root(),
                &proof,
            )
            .expect("consistent");
        }
        assert_eq!(r.entry(123).expect("entry"), entry(123));
        assert_eq!(
            r.entries(10, 13).expect("entries"),
            vec![entry(10), entry(11), entry(12)]
        );
        assert!(matches!(r.entry(1000), Err(StoreError::OutOfRange { .. })));
        // Every tile and bundle the tlog-tiles layout has for this size is servable and right.
        for t in tiles_for_size(1000) {
            match t {
                TilePath::Hashes {
                    level,
                    index,
                    width,
                } => {
                    let tile = r.tile(level, index, width).expect("tile");
                    let l = 8 * level;
                    for (k, chunk) in tile.chunks(32).enumerate() {
                        let node = index * 256 + k as u64;
                        let want = merkle::range_hash(&reference, node << l, (node + 1) << l)
                            .expect("node");
                        assert_eq!(chunk, want, "tile {} node {k}", t.to_path());
                    }
                }
                TilePath::Entries { index, width } => {
                    let bundle = r.entry_bundle(index, width).expect("bundle");
                    let first = entry(index * 256);
                    assert_eq!(&bundle[2..2 + first.len()], &first[..]);
                    assert_eq!(
                        u16::from_be_bytes([bundle[0], bundle[1]]) as usize,
                        first.len()
                    );
                }
            }
        }
        let note = log
            .publish_checkpoint("example.com/auditlog", &signer())
            .expect("checkpoint");
        assert!(note.text.starts_with("example.com/auditlog\n1000\n"));
        log.close().expect("clean close");

        let log = Log::open(dir.path(), config(memory_level)).expect("reopens");
        assert_eq!(log.reader().root(), (1000, reference.root()));
        assert_eq!(log.append_blocking(b"after reopen".to_vec()), Ok(1000));
        assert_eq!(log.latest_checkpoint(), Some(note));
        log.close().expect("clean close");
        let report = verify_log_dir(dir.path(), &VerifyOptions::new(keys())).expect("verifies");
        assert_eq!(report.entries, 1001);
        assert_eq!(report.checkpoints, 1);
    }
}

#[test]
fn torn_tail_is_truncated_and_derived_files_are_rebuilt() {
    let dir = tempfile::tempdir().expect("temp dir");
    let log = Log::open(dir.path(), config(2)).expect("opens");
    for i in 0..50 {
        log.append_blocking(entry(i)).expect("durable");
    }
    let (_, root) = log.reader().root();
    log.close().expect("clean close");
    // A torn record: a header promising more bytes than were written.
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(dir.path().join("entries.log"))
        .expect("entries");
    f.write_all(&[0, 0, 0, 200, 1, 2, 3, 4, 5]).expect("write");
    drop(f);
    // Derived files lost entirely: they must be rebuilt from the entries.
    std::fs::remove_dir_all(dir.path().join("tree")).expect("rm tree");
    std::fs::remove_file(dir.path().join("derived.json")).expect("rm watermark");
    std::fs::remove_file(dir.path().join("index.bin")).expect("rm index");
    let log = Log::open(dir.path(), config(2)).expect("recovers");
    assert_eq!(log.reader().root(), (50, root));
    assert_eq!(log.append_blocking(b"next".to_vec()), Ok(50));
    log.close().expect("clean close");
    verify_log_dir(dir.path(), &VerifyOptions::new(keys())).expect("verifies after recovery");
}

#[test]
fn limits_lock_and_lost_entries_are_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let log = Log::open(dir.path(), config(6)).expect("opens");
    assert!(matches!(
        Log::open(dir.path(), config(6)),
        Err(StoreError::Locked(_))
    ));
    assert_eq!(
        log.append(vec![0; 70_000]).err(),
        Some(AppendError::TooLarge {
            len: 70_000,
            max: 65_535
        })
    );
    for i in 0..20 {
        log.append_blocking(entry(i)).expect("durable");
    }
    log.publish_checkpoint("example.com/auditlog", &signer())
        .expect("checkpoint");
    log.close().expect("clean close");
    // Cut the entries file well inside the checkpointed range.
    let path = dir.path().join("entries.log");
    let len = std::fs::metadata(&path).expect("meta").len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .expect("open")
        .set_len(len / 2)
        .expect("truncate");
    match Log::open(dir.path(), config(6)) {
        Err(StoreError::CheckpointMismatch { size: 20, .. }) => {}
        other => panic!("expected a checkpoint mismatch, got {other:?}"),
    }
}
