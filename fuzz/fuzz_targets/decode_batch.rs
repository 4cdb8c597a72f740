//! The event decoder on arbitrary bytes: it must never panic, whatever a client sends.
#![no_main]

use chrono::{TimeZone, Utc};
use ensuresec_model::{Limits, decode_batch};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let now = Utc
        .with_ymd_and_hms(2026, 11, 21, 12, 0, 0)
        .single()
        .expect("valid time");
    let _ = decode_batch(data, &Limits::default(), now);
});
