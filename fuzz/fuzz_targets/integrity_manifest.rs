//! The integrity baseline's manifest parser on arbitrary bytes: a manifest or an error, never a
//! panic; what parses writes back to bytes that parse to the same manifest, and every path in it
//! stays under the root.
#![no_main]

use ensuresec_integrity::manifest;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = manifest::parse("fuzz.ndjson", data) {
        for path in m.keys() {
            assert!(manifest::check_path(path).is_ok());
        }
        let again = manifest::parse("again", &manifest::to_ndjson(&m)).expect("round trip");
        assert_eq!(again, m);
    }
});
