//! The playbook loader (and the message templates it validates) on arbitrary text: errors,
//! never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = ensuresec_respond::playbook::PlaybookSet::from_yaml("fuzz.yaml", text);
        let _ = ensuresec_respond::template::Template::parse(text);
    }
});
