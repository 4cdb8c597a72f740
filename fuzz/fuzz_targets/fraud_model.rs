//! The fraud model file loader on arbitrary text: errors, never panics; and a model it accepts
//! scores rows of unknown, zero and extreme values without panicking or walking forever.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(model) = ensuresec_fraud::Model::from_json("fuzz.json", text) {
        let columns = model.features.len();
        for value in [f64::NAN, 0.0, f64::MAX, f64::MIN] {
            let row = vec![value; columns];
            let _ = model.predict(&row);
            let _ = model.margins(&row, 1);
        }
    }
});
