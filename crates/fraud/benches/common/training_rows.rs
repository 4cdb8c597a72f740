//! The labelled rows the fraud benchmarks train their model on: 20,000 payments over five
//! online features, the fraud label drawn from a known logistic risk. One generator, so that
//! the in-process benchmark and the HTTP one (through the `training_rows` example) score with
//! the same model.

/// The header and rows, as the CSV `fraud train` reads (`--label label --time time`).
pub fn csv() -> String {
    let mut csv = String::from(
        "time,amount,card_count_1h,card_devices,device_cards,bin_ip_country_mismatch,account_age_days,label\n",
    );
    let mut numbers = ensuresec_fraud::fixtures::Uniform::new(1);
    let mut next = || numbers.draw();
    for i in 0..20_000 {
        let count = (next() * 8.0).floor();
        let devices = (next() * 4.0).floor() + 1.0;
        let cards = (next() * 6.0).floor() + 1.0;
        let mismatch = f64::from(u8::from(next() < 0.1));
        let age = (next() * 900.0).floor();
        let risk = -6.0 + 0.7 * count + 0.5 * cards + 1.5 * mismatch;
        let fraud = next() < 1.0 / (1.0 + (-risk).exp());
        csv.push_str(&format!(
            "{i},{:.2},{count},{devices},{cards},{mismatch},{age},{}\n",
            next() * 300.0,
            u8::from(fraud)
        ));
    }
    csv
}
