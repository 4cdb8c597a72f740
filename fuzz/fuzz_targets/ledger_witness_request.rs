//! tlog-witness `add-checkpoint` request bodies on arbitrary bytes: parse and round-trip.
#![no_main]

use ensuresec_auditlog::witness::AddCheckpoint;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(req) = AddCheckpoint::parse(data) {
        let again = AddCheckpoint::parse(&req.to_body()).expect("a formatted request parses");
        assert_eq!(again, req);
    }
});
