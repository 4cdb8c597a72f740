//! Tampering with a stored log is caught: a flipped byte, a dropped entry and a rewritten
//! (forked) history, whether or not the forger also rewrote the derived files; the verifier names
//! the first bad index, and the witness refuses to cosign the fork.

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use ensuresec_auditlog::checkpoint::Checkpoint;
use ensuresec_auditlog::note::{Cosigner, Ed25519Signer, VerifierSet};
use ensuresec_auditlog::verify_dir::{VerifyError, VerifyOptions, verify_log_dir};
use ensuresec_auditlog::witness::{AddCheckpoint, Witness, WitnessError};
use ensuresec_auditlog::{Log, LogConfig, StoreError};

const ORIGIN: &str = "example.com/auditlog";

fn key() -> Ed25519Signer {
    Ed25519Signer::from_seed(ORIGIN, &[4; 32]).expect("name")
}

fn options() -> VerifyOptions {
    VerifyOptions::new(VerifierSet::new(vec![Arc::new(key().verifier())]))
}

fn config() -> LogConfig {
    LogConfig {
        batch_linger: Duration::ZERO,
        memory_level: 3,
        ..LogConfig::default()
    }
}

/// A log of 300 entries with checkpoints at 100, 200 and 300.
fn build(dir: &Path, entry: impl Fn(u64) -> Vec<u8>) {
    let log = Log::open(dir, config()).expect("opens");
    for i in 0..300 {
        log.append_blocking(entry(i)).expect("durable");
        if (i + 1) % 100 == 0 {
            log.publish_checkpoint(ORIGIN, &key()).expect("checkpoint");
        }
    }
    log.close().expect("clean close");
}

fn honest(i: u64) -> Vec<u8> {
    format!("audit record {i}").into_bytes()
}

/// Byte offsets and lengths of the records in entries.log.
fn records(dir: &Path) -> (Vec<u8>, Vec<(usize, usize)>) {
    let bytes = std::fs::read(dir.join("entries.log")).expect("entries");
    let mut out = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let len = u32::from_be_bytes(bytes[at..at + 4].try_into().expect("4 bytes")) as usize;
        out.push((at, len));
        at += 8 + len;
    }
    (bytes, out)
}

fn frame(data: &[u8]) -> Vec<u8> {
    let len = (data.len() as u32).to_be_bytes();
    let mut crc = crc32fast::Hasher::new();
    crc.update(&len);
    crc.update(data);
    [&len[..], &crc.finalize().to_be_bytes(), data].concat()
}

/// Rebuilds the derived files from the (tampered) entries, as a careful forger would, keeping
/// the published checkpoints aside so the log opens.
fn rebuild_derived(dir: &Path) {
    for f in ["index.bin", "derived.json"] {
        std::fs::remove_file(dir.join(f)).expect("rm");
    }
    std::fs::remove_dir_all(dir.join("tree")).expect("rm tree");
    let saved = dir.join("checkpoints.saved");
    std::fs::rename(dir.join("checkpoints.log"), &saved).expect("set aside");
    Log::open(dir, config())
        .expect("rebuilds")
        .close()
        .expect("closes");
    std::fs::rename(&saved, dir.join("checkpoints.log")).expect("put back");
}

fn entry_error(dir: &Path) -> (u64, String) {
    match verify_log_dir(dir, &options()) {
        Err(VerifyError::Entry { index, problem }) => (index, problem),
        other => panic!("expected an entry error, got {other:?}"),
    }
}

#[test]
fn honest_log_verifies() {
    let dir = tempfile::tempdir().expect("temp dir");
    build(dir.path(), honest);
    let report = verify_log_dir(dir.path(), &options()).expect("verifies");
    assert_eq!((report.entries, report.checkpoints), (300, 3));
}

#[test]
fn flipped_byte_is_found_at_its_index() {
    let dir = tempfile::tempdir().expect("temp dir");
    build(dir.path(), honest);
    let (mut bytes, recs) = records(dir.path());
    let (at, _) = recs[137];
    bytes[at + 8 + 3] ^= 0x20; // inside entry 137's data; checksum now wrong
    std::fs::write(dir.path().join("entries.log"), &bytes).expect("write");
    let (index, problem) = entry_error(dir.path());
    assert_eq!(index, 137, "{problem}");
    assert!(problem.contains("damaged"), "{problem}");

    // The forger fixes the checksum: the stored leaf hash still names the entry.
    let mut data = bytes[at + 8..at + 8 + recs[137].1].to_vec();
    data[0] ^= 0x01;
    let fixed = frame(&data);
    bytes[at..at + fixed.len()].copy_from_slice(&fixed);
    std::fs::write(dir.path().join("entries.log"), &bytes).expect("write");
    let (index, problem) = entry_error(dir.path());
    assert_eq!(index, 137, "{problem}");
    assert!(problem.contains("leaf hash"), "{problem}");

    // The forger also rewrites every derived file: only the signed checkpoints can tell, and they
    // bound the index to [100, 200). Opening the log refuses it as well.
    rebuild_derived(dir.path());
    match verify_log_dir(dir.path(), &options()) {
        Err(VerifyError::Altered {
            from: 100,
            to: 200,
            number: 1,
        }) => {}
        other => panic!("expected an alteration in [100, 200), got {other:?}"),
    }
    assert!(matches!(
        Log::open(dir.path(), config()),
        Err(StoreError::CheckpointMismatch { size: 300, .. })
    ));
}

#[test]
fn dropped_entry_is_found_at_its_index() {
    let dir = tempfile::tempdir().expect("temp dir");
    build(dir.path(), honest);
    let (bytes, recs) = records(dir.path());
    let (at, len) = recs[250];
    let dropped = [&bytes[..at], &bytes[at + 8 + len..]].concat();
    std::fs::write(dir.path().join("entries.log"), &dropped).expect("write");
    let (index, problem) = entry_error(dir.path());
    assert_eq!(index, 250, "{problem}");
    assert!(problem.contains("dropped"), "{problem}");

    rebuild_derived(dir.path());
    match verify_log_dir(dir.path(), &options()) {
        Err(VerifyError::Missing {
            entries: 299,
            size: 300,
            number: 2,
        }) => {}
        other => panic!("expected missing entries, got {other:?}"),
    }
}

#[test]
fn forked_history_is_caught_by_verifier_and_witness() {
    let dir = tempfile::tempdir().expect("temp dir");
    build(dir.path(), honest);

    // A witness cosigned the honest checkpoint at 200.
    let state = tempfile::tempdir().expect("state dir");
    let cosigner = Cosigner::from_seed("witness.example/w1", &[5; 32]).expect("name");
    let keys = VerifierSet::new(vec![Arc::new(key().verifier())]);
    let witness = Witness::open(
        &state.path().join("w.json"),
        cosigner,
        vec![(ORIGIN.into(), keys)],
    )
    .expect("witness");
    let reference = Log::open(dir.path(), config()).expect("opens");
    let honest_200 = Checkpoint::new(ORIGIN, 200, reference.reader().root_at(200).expect("root"))
        .sign(&[&key()])
        .expect("signs");
    witness
        .add_checkpoint(
            &AddCheckpoint {
                old_size: 0,
                proof: vec![],
                checkpoint: honest_200.to_string().into_bytes(),
            },
            1,
        )
        .expect("cosigned");
    reference.close().expect("closes");

    // The operator, holding the log key, rewrites history from entry 150 and re-signs.
    let forged_dir = tempfile::tempdir().expect("temp dir");
    let forged = |i: u64| {
        if i < 150 {
            honest(i)
        } else {
            format!("rewritten record {i}").into_bytes()
        }
    };
    build(forged_dir.path(), forged);
    let forged_log = Log::open(forged_dir.path(), config()).expect("opens");
    let r = forged_log.reader();
    let forged_300 = Checkpoint::new(ORIGIN, 300, r.root_at(300).expect("root"))
        .sign(&[&key()])
        .expect("signs");
    let proof = r.consistency_proof(200, 300).expect("proof");
    let err = witness
        .add_checkpoint(
            &AddCheckpoint {
                old_size: 200,
                proof,
                checkpoint: forged_300.to_string().into_bytes(),
            },
            2,
        )
        .expect_err("witness refuses the fork");
    assert!(
        matches!(
            err,
            WitnessError::Fork {
                latest: 200,
                size: 300,
                ..
            }
        ),
        "{err}"
    );
    forged_log.close().expect("closes");

    // Swapping the forged entries (and derived files) under the original checkpoint history.
    for f in ["entries.log", "index.bin", "derived.json"] {
        std::fs::copy(forged_dir.path().join(f), dir.path().join(f)).expect("copy");
    }
    std::fs::remove_dir_all(dir.path().join("tree")).expect("rm");
    std::fs::create_dir(dir.path().join("tree")).expect("mkdir");
    for e in std::fs::read_dir(forged_dir.path().join("tree")).expect("tree") {
        let e = e.expect("entry");
        std::fs::copy(e.path(), dir.path().join("tree").join(e.file_name())).expect("copy");
    }
    match verify_log_dir(dir.path(), &options()) {
        Err(VerifyError::Altered {
            from: 100,
            to: 200,
            number: 1,
        }) => {}
        other => panic!("expected the fork to show in [100, 200), got {other:?}"),
    }
}
