//! The SD-JWT presentation parser and disclosure resolver on arbitrary text: a result or a
//! named error, never a panic; what parses serialises back to the same text.
#![no_main]

use ensuresec_identity::disclosure::Disclosure;
use ensuresec_identity::resolve::resolve;
use ensuresec_identity::{Limits, SdJwt, jws};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let limits = Limits::default();
    let Ok(sd) = SdJwt::parse(text, &limits) else {
        return;
    };
    assert_eq!(sd.serialize(), text);
    // Signatures are out of the fuzzer's reach; the structure behind them is not.
    let Ok(jwt) = jws::decode("issuer-signed JWT", &sd.jwt) else {
        return;
    };
    let disclosures: Result<Vec<_>, _> = sd
        .disclosures
        .iter()
        .enumerate()
        .map(|(i, d)| Disclosure::parse(i, d))
        .collect();
    if let Ok(disclosures) = disclosures {
        let _ = resolve(&jwt.payload, &disclosures, limits.max_depth);
    }
});
