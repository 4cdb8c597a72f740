//! The fraud exchange rates loaders (the YAML file and the ECB's CSV) on arbitrary text:
//! errors, never panics; and rates they accept convert any valid amount to a finite positive
//! number or refuse its currency by name, also when counted in another reference currency.
#![no_main]

use ensuresec_fraud::rates::ExchangeRates;
use ensuresec_model::event::Money;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let parsed = [
        ExchangeRates::from_yaml("fuzz.yaml", text),
        ExchangeRates::from_ecb_csv("fuzz.csv", text),
    ];
    for rates in parsed.into_iter().flatten() {
        check(&rates);
        // Counted in another currency, when the file prices it: the same guarantees.
        if let Ok(in_dollars) = rates.counted_in("fuzz", "USD") {
            assert_eq!(in_dollars.reference(), "USD");
            check(&in_dollars);
        }
    }
});

fn check(rates: &ExchangeRates) {
    assert!(rates.len() >= 1, "the reference currency has its rate");
    for currency in ["EUR", "USD", "JPY", "KWD", "CLF", "GBP", rates.reference()] {
        for minor in [1, 99, 100_000_000_000] {
            let amount = Money {
                minor,
                currency: currency.to_string(),
            };
            // Before, inside and after the days any file can give.
            for time in [i64::MIN, 0, 1_796_342_400, i64::MAX] {
                match rates.convert(&amount, time) {
                    Ok(v) => assert!(v.is_finite() && v > 0.0, "{currency} {minor}: {v}"),
                    Err(e) => assert_eq!(e.field, "amount.currency"),
                }
            }
        }
    }
}
