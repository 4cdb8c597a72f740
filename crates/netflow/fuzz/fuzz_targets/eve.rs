//! Suricata EVE JSON lines.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        for line in text.lines() {
            let _ = ensuresec_netflow::eve::parse_line(line);
        }
    }
});
