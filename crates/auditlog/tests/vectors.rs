//! The transparency-dev/merkle proof vectors in `shared/corpora/tlog/testdata` give the expected
//! verdict: valid proofs verify, broken ones are rejected.

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

mod common;

use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ensuresec_auditlog::hash::{Hash, hash_from_slice};
use ensuresec_auditlog::merkle::{
    verify_consistency, verify_inclusion, verify_subtree_consistency, verify_subtree_inclusion,
};
use serde_json::Value;

/// Vectors whose expected verdict is "valid" although one of their hashes is not 32 bytes long
/// (e.g. two equal 12-byte "roots" for equal tree sizes). The Go reference compares such byte
/// strings; this crate types every hash as 32 bytes and rejects them at decoding, which is the
/// stricter verdict. Listed by name so any other disagreement fails the test.
const STRICTER_ON_HASH_LENGTH: &[&str] = &[
    "consistency/additional/sizes-are-equal-one-and-proof-is-empty.json",
    "subtreeconsistency/additional/sizes-are-equal-one-and-proof-is-empty.json",
    "subtreeconsistency/additional/subtree-is-empty-sizes-are-equal-one-subtree-root-valid-tree-root-random-proof-is-empty.json",
    "subtreeconsistency/additional/subtree-is-empty-sizes-are-equal-zero-subtree-root-valid-tree-root-random-proof-is-empty.json",
];

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("corpus folder is readable")
        .map(|e| e.expect("corpus entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            files(&p, out);
        } else if p.extension().is_some_and(|e| e == "json") {
            out.push(p);
        }
    }
}

/// Decoding failure of a hash field, which counts as a rejection.
#[derive(Debug)]
struct BadHash;

fn hash(v: &Value) -> Result<Hash, BadHash> {
    let bytes = STANDARD
        .decode(v.as_str().unwrap_or_default())
        .map_err(|_| BadHash)?;
    hash_from_slice(&bytes).map_err(|_| BadHash)
}

fn proof(v: &Value) -> Result<Vec<Hash>, BadHash> {
    match v {
        Value::Null => Ok(Vec::new()),
        Value::Array(items) => items.iter().map(hash).collect(),
        _ => Err(BadHash),
    }
}

fn num(v: &Value, key: &str) -> u64 {
    v[key]
        .as_u64()
        .unwrap_or_else(|| panic!("vector field {key} is a number"))
}

/// Runs one vector; `Ok(true)` means the proof verified.
fn verdict(kind: &str, v: &Value) -> Result<bool, BadHash> {
    Ok(match kind {
        "inclusion" => verify_inclusion(
            num(v, "leafIdx"),
            num(v, "treeSize"),
            &hash(&v["leafHash"])?,
            &proof(&v["proof"])?,
            &hash(&v["root"])?,
        )
        .is_ok(),
        "consistency" => verify_consistency(
            num(v, "size1"),
            num(v, "size2"),
            &hash(&v["root1"])?,
            &hash(&v["root2"])?,
            &proof(&v["proof"])?,
        )
        .is_ok(),
        "subtreeinclusion" => verify_subtree_inclusion(
            num(v, "leafIdx"),
            num(v, "start"),
            num(v, "end"),
            &hash(&v["leafHash"])?,
            &proof(&v["proof"])?,
            &hash(&v["root"])?,
        )
        .is_ok(),
        "subtreeconsistency" => verify_subtree_consistency(
            num(v, "start"),
            num(v, "end"),
            num(v, "size"),
            &hash(&v["root1"])?,
            &hash(&v["root2"])?,
            &proof(&v["proof"])?,
        )
        .is_ok(),
        other => panic!("unknown vector kind {other}"),
    })
}

#[test]
fn every_vector_gives_the_expected_verdict() {
    let Some(corpus) = common::tlog_corpus() else {
        return;
    };
    let root = corpus.join("testdata");
    let mut all = Vec::new();
    files(&root, &mut all);
    assert!(
        all.len() >= 500,
        "expected the full vector set, found {}",
        all.len()
    );

    let mut wrong = Vec::new();
    let mut stricter = Vec::new();
    let (mut valid, mut broken) = (0, 0);
    for path in &all {
        let rel = path
            .strip_prefix(&root)
            .expect("under root")
            .to_string_lossy()
            .into_owned();
        let kind = rel.split('/').next().expect("kind folder");
        let text = std::fs::read_to_string(path).expect("vector readable");
        let v: Value = serde_json::from_str(&text).expect("vector is JSON");
        let want_ok = !v["wantErr"].as_bool().expect("wantErr is a bool");
        let got_ok = verdict(kind, &v).unwrap_or(false);
        if want_ok {
            valid += 1;
        } else {
            broken += 1;
        }
        if got_ok != want_ok {
            if want_ok && STRICTER_ON_HASH_LENGTH.contains(&rel.as_str()) {
                assert!(
                    verdict(kind, &v).is_err(),
                    "{rel}: listed as a hash-length case but decodes"
                );
                stricter.push(rel);
            } else {
                wrong.push(format!("{rel}: want ok={want_ok}, got ok={got_ok}"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} wrong verdicts:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    assert_eq!(
        stricter.len(),
        STRICTER_ON_HASH_LENGTH.len(),
        "stale entries in the stricter list"
    );
    eprintln!(
        "{} vectors: {valid} valid verified, {broken} broken rejected",
        all.len()
    );
}
