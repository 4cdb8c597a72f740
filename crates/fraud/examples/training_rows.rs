//! Prints the labelled rows the in-process scoring benchmark trains its model on, as CSV, so
//! that `bench/fraud_http.sh` trains and serves the same model over HTTP.

use std::io::Write;

#[path = "../benches/common/training_rows.rs"]
mod training_rows;

fn main() -> std::io::Result<()> {
    std::io::stdout()
        .lock()
        .write_all(training_rows::csv().as_bytes())
}
