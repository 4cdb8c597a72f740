//! The training-data CSV reader on arbitrary bytes: errors, never panics; a data set it accepts
//! is consistent (one label per row, one value per row and column) and slices without panicking.
#![no_main]

use ensuresec_fraud::{Columns, Dataset};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for columns in [
        Columns::default(),
        Columns {
            label: "Class".into(),
            time: None,
        },
    ] {
        if let Ok(d) = Dataset::read_csv("fuzz.csv", data, &columns) {
            assert_eq!(d.y.len(), d.rows);
            assert_eq!(d.x.len(), d.rows * d.names.len());
            let half = d.slice(d.rows / 2..d.rows);
            assert_eq!(half.rows + d.rows / 2, d.rows);
        }
    }
});
