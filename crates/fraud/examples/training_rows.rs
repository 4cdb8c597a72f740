//! Prints the labelled rows the in-process scoring benchmark trains its model on, as CSV, so
//! that `bench/fraud_http.sh` trains and serves the same model over HTTP.

#[path = "../benches/common/training_rows.rs"]
mod training_rows;

fn main() {
    print!("{}", training_rows::csv());
}
