//! The witness cosigns consistent growth and refuses forks, rollbacks and bad signatures; its
//! state survives a restart; the k-of-n policy counts valid cosignatures.

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

use std::sync::Arc;

use ensuresec_auditlog::checkpoint::Checkpoint;
use ensuresec_auditlog::merkle::{self, MemoryTree};
use ensuresec_auditlog::note::{Cosigner, Ed25519Signer, Note, NoteSigner, VerifierSet};
use ensuresec_auditlog::witness::{
    AddCheckpoint, PolicyError, Witness, WitnessError, WitnessPolicy,
};

const ORIGIN: &str = "example.com/auditlog";

fn log_key() -> Ed25519Signer {
    Ed25519Signer::from_seed(ORIGIN, &[1; 32]).expect("name")
}

fn tree(n: u64, salt: &str) -> MemoryTree {
    let mut t = MemoryTree::new();
    for i in 0..n {
        t.push_entry(format!("{salt}{i}").as_bytes());
    }
    t
}

fn signed(t: &MemoryTree, size: u64, key: &dyn NoteSigner) -> Vec<u8> {
    let root = merkle::tree_root(t, size).expect("root");
    Checkpoint::new(ORIGIN, size, root)
        .sign(&[key])
        .expect("signs")
        .to_string()
        .into_bytes()
}

fn request(t: &MemoryTree, old: u64, new: u64) -> AddCheckpoint {
    let proof = if old == 0 || old == new {
        Vec::new()
    } else {
        merkle::consistency_proof(t, old, new).expect("proof")
    };
    AddCheckpoint {
        old_size: old,
        proof,
        checkpoint: signed(t, new, &log_key()),
    }
}

fn witness(path: &std::path::Path) -> Witness {
    let cosigner = Cosigner::from_seed("witness.example/w1", &[9; 32]).expect("name");
    let keys = VerifierSet::new(vec![Arc::new(log_key().verifier())]);
    Witness::open(path, cosigner, vec![(ORIGIN.to_owned(), keys)]).expect("opens")
}

#[test]
fn cosigns_growth_and_refuses_fork_rollback_and_bad_signature() {
    let dir = tempfile::tempdir().expect("temp dir");
    let state = dir.path().join("witness.json");
    let honest = tree(40, "a");
    let w = witness(&state);

    let sig = w
        .add_checkpoint(&request(&honest, 0, 10), 1_700_000_000)
        .expect("first checkpoint");
    let cosigner = Cosigner::from_seed("witness.example/w1", &[9; 32]).expect("name");
    let mut note = Note::parse(&signed(&honest, 10, &log_key())).expect("note");
    note.add_signature(sig);
    let policy = WitnessPolicy::new(vec![Arc::new(cosigner.verifier())], 1).expect("policy");
    assert_eq!(
        policy.check(&note),
        Ok(vec!["witness.example/w1".to_owned()])
    );

    w.add_checkpoint(&request(&honest, 10, 25), 1_700_000_100)
        .expect("consistent growth");

    // Fork: a different history of the same length, with a proof from it.
    let forked = tree(40, "b");
    let fork = AddCheckpoint {
        old_size: 25,
        proof: merkle::consistency_proof(&forked, 25, 30).expect("proof"),
        checkpoint: signed(&forked, 30, &log_key()),
    };
    let err = w
        .add_checkpoint(&fork, 1_700_000_200)
        .expect_err("fork refused");
    assert!(
        matches!(
            err,
            WitnessError::Fork {
                latest: 25,
                size: 30,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(err.http_status(), 422);
    // Fork at the same size.
    let same_size = AddCheckpoint {
        old_size: 25,
        proof: vec![],
        checkpoint: signed(&forked, 25, &log_key()),
    };
    assert!(matches!(
        w.add_checkpoint(&same_size, 0),
        Err(WitnessError::Fork { .. })
    ));

    // Rollback to an earlier size.
    let err = w
        .add_checkpoint(&request(&honest, 10, 20), 0)
        .expect_err("rollback refused");
    assert!(
        matches!(
            err,
            WitnessError::Rollback {
                latest: 25,
                submitted: 20
            }
        ),
        "{err}"
    );
    assert_eq!(err.conflict_size(), Some(25));

    // Stale old size.
    let err = w
        .add_checkpoint(&request(&honest, 10, 30), 0)
        .expect_err("stale old size");
    assert!(matches!(
        err,
        WitnessError::OldSizeMismatch {
            latest: 25,
            old: 10
        }
    ));

    // Signed by a key the witness does not trust for this origin.
    let impostor = Ed25519Signer::from_seed(ORIGIN, &[2; 32]).expect("name");
    let forged = AddCheckpoint {
        old_size: 25,
        proof: merkle::consistency_proof(&honest, 25, 30).expect("proof"),
        checkpoint: signed(&honest, 30, &impostor),
    };
    let err = w
        .add_checkpoint(&forged, 0)
        .expect_err("untrusted signature refused");
    assert_eq!(err.http_status(), 403);
    // Trusted key name and id, but the checkpoint text was altered after signing.
    let mut altered = request(&honest, 25, 30);
    let text = String::from_utf8(altered.checkpoint)
        .expect("utf-8")
        .replacen("\n30\n", "\n31\n", 1);
    altered.checkpoint = text.into_bytes();
    assert!(matches!(
        w.add_checkpoint(&altered, 0),
        Err(WitnessError::Signature(_))
    ));

    // None of the refusals moved the state; a restarted witness remembers size 25.
    drop(w);
    let w = witness(&state);
    assert_eq!(w.latest(ORIGIN).expect("state").size, 25);
    w.add_checkpoint(&request(&honest, 25, 40), 0)
        .expect("growth after restart");
    assert!(matches!(
        w.add_checkpoint(&request(&honest, 0, 5), 0),
        Err(WitnessError::Rollback { .. })
    ));
}

#[test]
fn policy_counts_distinct_valid_witnesses() {
    let honest = tree(5, "a");
    let ws: Vec<Cosigner> = (0..3u8)
        .map(|i| Cosigner::from_seed(&format!("w{i}.example"), &[10 + i; 32]).expect("name"))
        .collect();
    let policy = WitnessPolicy::new(ws.iter().map(|w| Arc::new(w.verifier()) as _).collect(), 2)
        .expect("2 of 3");
    let mut note = Note::parse(&signed(&honest, 5, &log_key())).expect("note");
    note.add_signature(ws[0].cosign(&note.text, 1));
    assert_eq!(
        policy.check(&note),
        Err(PolicyError::NotEnough {
            valid: 1,
            needed: 2
        })
    );
    note.add_signature(ws[0].cosign(&note.text, 2)); // same witness twice does not count twice
    assert_eq!(
        policy.check(&note),
        Err(PolicyError::NotEnough {
            valid: 1,
            needed: 2
        })
    );
    note.add_signature(ws[1].cosign(&note.text, 3));
    assert_eq!(policy.check(&note).map(|v| v.len()), Ok(2));
    // A cosignature over another checkpoint does not verify here.
    let other = Note::parse(&signed(&honest, 4, &log_key())).expect("note");
    note.add_signature(ws[2].cosign(&other.text, 4));
    assert_eq!(
        policy.check(&note),
        Err(PolicyError::BadCosignature("w2.example".into()))
    );
    assert!(matches!(
        WitnessPolicy::new(vec![], 1),
        Err(PolicyError::BadThreshold { .. })
    ));
}

#[test]
fn a_second_witness_on_the_same_state_is_refused_while_the_first_runs() {
    let dir = tempfile::tempdir().expect("temp dir");
    let state = dir.path().join("witness.json");
    let first = witness(&state);
    let cosigner = Cosigner::from_seed("witness.example/w1", &[9; 32]).expect("name");
    let keys = VerifierSet::new(vec![Arc::new(log_key().verifier())]);
    let refused = Witness::open(&state, cosigner, vec![(ORIGIN.to_owned(), keys)])
        .expect_err("the state is in use");
    assert!(
        refused.to_string().contains("in use by another witness"),
        "{refused}"
    );
    first
        .add_checkpoint(&request(&tree(10, "a"), 0, 10), 0)
        .expect("the first goes on");
    drop(first);
    assert_eq!(witness(&state).latest(ORIGIN).expect("state").size, 10);
}
