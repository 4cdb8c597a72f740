//! The delivery rules loader on arbitrary text: errors naming file, line and key, never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = ensuresec_delivery::DeliveryRules::from_yaml("fuzz.yaml", text);
    }
});
