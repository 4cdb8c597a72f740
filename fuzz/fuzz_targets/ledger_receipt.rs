//! JSON receipts on arbitrary text: parse and verify against a fixed key; never panics.
#![no_main]

use ensuresec_auditlog::note::{Ed25519Signer, VerifierSet};
use ensuresec_auditlog::receipt::Receipt;
use libfuzzer_sys::fuzz_target;
use std::sync::Arc;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(r) = Receipt::from_json(text) {
        let signer = Ed25519Signer::from_seed("fuzz.example/log", &[7; 32]).expect("valid name");
        let keys = VerifierSet::new(vec![Arc::new(signer.verifier())]);
        let _ = r.verify(&keys, None, None);
    }
});
