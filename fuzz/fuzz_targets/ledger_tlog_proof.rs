//! C2SP tlog-proof texts on arbitrary bytes: parse (with a fixed entry) and re-format.
#![no_main]

use ensuresec_auditlog::receipt::Receipt;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(r) = Receipt::from_tlog_proof(text, b"entry") {
        let _ = r.to_tlog_proof();
    }
});
