//! The GeoNames postal-code reader on arbitrary bytes: errors naming the line, never panics;
//! and what it reads answers look-ups of any code.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(centroids) = ensuresec_fraud::postal::PostalCentroids::from_reader("fuzz.txt", data)
    {
        let _ = centroids.locate("DE", "10115");
        if let Ok(text) = std::str::from_utf8(data) {
            let _ = centroids.locate("GB", text.get(..16).unwrap_or(text));
        }
    }
});
