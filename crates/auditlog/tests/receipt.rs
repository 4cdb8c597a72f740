//! Receipts verify offline against the log key (and a witness policy), in JSON and tlog-proof
//! form, and any change to them is caught.

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

use std::sync::Arc;
use std::time::Duration;

use ensuresec_auditlog::note::{Cosigner, Ed25519Signer, VerifierSet};
use ensuresec_auditlog::receipt::{Receipt, ReceiptError};
use ensuresec_auditlog::witness::WitnessPolicy;
use ensuresec_auditlog::{Log, LogConfig};

#[test]
fn receipts_verify_offline_and_detect_changes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let log = Log::open(
        dir.path(),
        LogConfig {
            batch_linger: Duration::ZERO,
            ..LogConfig::default()
        },
    )
    .expect("opens");
    for i in 0..77u32 {
        log.append_blocking(format!("incident {i}").into_bytes())
            .expect("durable");
    }
    let key = Ed25519Signer::from_seed("example.com/auditlog", &[5; 32]).expect("name");
    log.publish_checkpoint("example.com/auditlog", &key)
        .expect("checkpoint");
    let w = Cosigner::from_seed("witness.example/w1", &[6; 32]).expect("name");
    let latest = log.latest_checkpoint().expect("checkpoint");
    let note = log
        .add_cosignatures(vec![w.cosign(&latest.text, 1_700_000_000)])
        .expect("cosigned");

    let keys = VerifierSet::new(vec![Arc::new(key.verifier())]);
    let policy = WitnessPolicy::new(vec![Arc::new(w.verifier())], 1).expect("policy");
    let receipt = Receipt::build(&log.reader(), 42, &note).expect("receipt");
    let json = receipt.to_json();
    let back = Receipt::from_json(&json).expect("parses");
    let ok = back
        .verify(&keys, Some("example.com/auditlog"), Some(&policy))
        .expect("verifies");
    assert_eq!(
        (ok.index, ok.entry.as_slice(), ok.checkpoint.size),
        (42, &b"incident 42"[..], 77)
    );
    assert_eq!(ok.witnesses, vec!["witness.example/w1".to_owned()]);

    // The tlog-proof form carries the same proof.
    let text = receipt.to_tlog_proof();
    let from_text = Receipt::from_tlog_proof(&text, b"incident 42").expect("parses");
    from_text
        .verify(&keys, None, Some(&policy))
        .expect("tlog-proof verifies");

    // Another entry at that index, another index, a changed proof, another origin, a missing witness.
    let mut r = back.clone();
    r.entry = base64_of(b"incident 43");
    assert!(matches!(
        r.verify(&keys, None, None),
        Err(ReceiptError::Proof(_))
    ));
    let mut r = back.clone();
    r.index = 43;
    assert!(matches!(
        r.verify(&keys, None, None),
        Err(ReceiptError::Proof(_))
    ));
    let mut r = back.clone();
    r.inclusion_proof.swap(0, 1);
    assert!(matches!(
        r.verify(&keys, None, None),
        Err(ReceiptError::Proof(_))
    ));
    assert!(matches!(
        back.verify(&keys, Some("example.com/other"), None),
        Err(ReceiptError::Checkpoint(_))
    ));
    let other = Cosigner::from_seed("witness.example/w2", &[7; 32]).expect("name");
    let strict = WitnessPolicy::new(vec![Arc::new(w.verifier()), Arc::new(other.verifier())], 2)
        .expect("policy");
    assert!(matches!(
        back.verify(&keys, None, Some(&strict)),
        Err(ReceiptError::Policy(_))
    ));
    let stranger = Ed25519Signer::from_seed("example.com/auditlog", &[8; 32]).expect("name");
    let wrong_keys = VerifierSet::new(vec![Arc::new(stranger.verifier())]);
    assert!(matches!(
        back.verify(&wrong_keys, None, None),
        Err(ReceiptError::Checkpoint(_))
    ));
}

fn base64_of(b: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(b)
}
