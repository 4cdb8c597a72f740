//! The signed baseline header parser on arbitrary text: a header or an error, never a panic;
//! what parses formats back to a text that parses to the same header.
#![no_main]

use ensuresec_integrity::header::Header;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(h) = Header::parse("fuzz", text) {
        let again = Header::parse("again", &h.to_text()).expect("round trip");
        assert_eq!(again.manifest, h.manifest);
        assert_eq!(again.ignore, h.ignore);
        assert_eq!(again.generation, h.generation);
    }
});
