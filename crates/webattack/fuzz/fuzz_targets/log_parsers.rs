//! Every log parser and the format detector on arbitrary bytes: no panic, and a parsed record's
//! request is always marked partial.
#![no_main]

use ensuresec_webattack::logs::{LogFormat, detect, parse_line};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = detect(data);
    for f in [LogFormat::Combined, LogFormat::Common, LogFormat::NginxJson, LogFormat::CaddyJson, LogFormat::JsonLines] {
        if let Ok(r) = parse_line(f, data) {
            assert!(r.request.partial);
        }
    }
});
