//! Every transform on arbitrary bytes: no panic, and never longer than its input (the invariant
//! behind the engine's time bound).
#![no_main]

use ensuresec_webattack::transform::Transform;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for t in Transform::ALL {
        let out = t.apply(data);
        assert!(out.len() <= data.len(), "{} grew its input", t.name());
    }
});
