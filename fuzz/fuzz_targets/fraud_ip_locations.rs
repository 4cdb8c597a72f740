//! An IP location database (MaxMind DB) of arbitrary bytes: refused or read, and lookups in it
//! answer or say unknown, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(locator) =
        ensuresec_fraud::ip_location::IpLocator::from_bytes("fuzz.mmdb", data.to_vec())
    {
        for ip in ["192.0.2.1", "0.0.0.0", "255.255.255.255", "2001:db8::1", "::"] {
            let _ = locator.locate(ip.parse().expect("address"));
        }
    }
});
