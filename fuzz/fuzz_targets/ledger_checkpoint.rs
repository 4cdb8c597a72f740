//! Checkpoint bodies (C2SP tlog-checkpoint) on arbitrary text: parse and round-trip.
#![no_main]

use ensuresec_auditlog::checkpoint::Checkpoint;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(cp) = Checkpoint::parse(text)
    {
        assert_eq!(cp.to_text(), text);
    }
});
