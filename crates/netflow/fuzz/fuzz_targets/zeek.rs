//! Zeek conn.log, TSV (header first) and JSON lines.
#![no_main]

use ensuresec_netflow::zeek::ConnLogReader;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let mut r = ConnLogReader::new();
        for line in text.lines() {
            let _ = r.line(line);
        }
    }
});
