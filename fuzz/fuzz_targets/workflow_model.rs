//! The workflow language on arbitrary text: a clear error or a compiled model, never a panic;
//! a model that compiles is also turned into its transition system.
#![no_main]

use ensuresec_prevention::workflow::{Machine, Workflow};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(wf) = Workflow::parse(text, "fuzz.yaml") {
        let machine = Machine::new(wf);
        let _ = machine.initial();
    }
});
