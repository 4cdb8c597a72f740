//! The payment fraud rules loader and the payment request decoder on arbitrary text: errors,
//! never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = ensuresec_fraud::RuleSet::from_yaml("fuzz.yaml", text);
    }
    let _ = ensuresec_fraud::PaymentRequest::from_json(data);
});
