//! Exchange rates into one reference currency, so that a provider serving many currencies
//! compares amounts in one unit: without them 10,000 yen (about 60 euros) counts as 10,000 in
//! the `amount` feature, the card's 24-hour total and every rule on them, and a Japanese
//! customer looks like a big spender to rules written in euros.
//!
//! The rates are a data file the operator keeps current (a provider has its own daily rates):
//!
//! ```yaml
//! reference: EUR      # the currency amounts are counted in
//! rates:              # what one unit of each currency is worth in it
//!   USD: 0.95
//!   JPY: 0.0062
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use ensuresec_model::event::Money;
use serde::Deserialize;

use crate::currency::{major_units, minor_exponent};
use crate::error::{FileError, InputError};

/// Largest rates file read, in bytes: every currency in use takes a few kilobytes.
pub const MAX_FILE_BYTES: usize = 1 << 16;

/// Lowest and highest rate taken: wider than any pair of currencies in use, and narrow enough
/// that every amount accepted converts to a finite number above zero.
pub const RATE_RANGE: std::ops::RangeInclusive<f64> = 1e-9..=1e9;

/// The file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    reference: String,
    rates: BTreeMap<String, f64>,
}

/// What one unit of each currency is worth in the reference currency.
#[derive(Debug, Clone, PartialEq)]
pub struct ExchangeRates {
    reference: String,
    /// By currency code, sorted for the binary search; the reference currency among them at 1.
    rates: Vec<([u8; 3], f64)>,
}

impl ExchangeRates {
    /// Loads rates from YAML text; `file` names it in errors, which name the key at fault.
    pub fn from_yaml(file: &str, text: &str) -> Result<ExchangeRates, FileError> {
        let raw: RawFile = crate::parse_yaml(file, text, MAX_FILE_BYTES)?;
        let code = |key: &str, value: &str| {
            if minor_exponent(value).is_none() {
                return Err(FileError::new(
                    file,
                    format!("`{key}`: `{value}` is not an ISO 4217 currency in use"),
                ));
            }
            let b = value.as_bytes();
            Ok([b[0], b[1], b[2]])
        };
        let reference = code("reference", &raw.reference)?;
        let mut rates = vec![(reference, 1.0)];
        for (currency, rate) in &raw.rates {
            let key = format!("rates.{currency}");
            let c = code(&key, currency)?;
            if !RATE_RANGE.contains(rate) {
                return Err(FileError::new(
                    file,
                    format!(
                        "`{key}`: {rate} is not a rate between {:e} and {:e}",
                        RATE_RANGE.start(),
                        RATE_RANGE.end()
                    ),
                ));
            }
            if c == reference {
                if *rate != 1.0 {
                    return Err(FileError::new(
                        file,
                        format!("`{key}`: the reference currency is worth 1, not {rate}"),
                    ));
                }
                continue;
            }
            rates.push((c, *rate));
        }
        rates.sort_by_key(|(c, _)| *c);
        Ok(ExchangeRates {
            reference: raw.reference,
            rates,
        })
    }

    /// Reads and loads the file at `path`.
    pub fn load(path: &Path) -> Result<ExchangeRates, FileError> {
        let name = path.display().to_string();
        let text =
            crate::read_limited(path, MAX_FILE_BYTES).map_err(|m| FileError::new(&name, m))?;
        ExchangeRates::from_yaml(&name, &text)
    }

    /// The currency amounts are counted in.
    pub fn reference(&self) -> &str {
        &self.reference
    }

    /// How many currencies have a rate, the reference among them.
    pub fn len(&self) -> usize {
        self.rates.len()
    }

    /// Never true: the reference currency always has its rate.
    pub fn is_empty(&self) -> bool {
        self.rates.is_empty()
    }

    /// `amount` in major units of the reference currency. A currency without a rate is an
    /// error naming `amount.currency`: scoring it unconverted would be the silent default
    /// this file exists to avoid.
    pub fn convert(&self, amount: &Money) -> Result<f64, InputError> {
        let rate = amount
            .currency
            .as_bytes()
            .try_into()
            .ok()
            .and_then(|c: [u8; 3]| {
                self.rates
                    .binary_search_by_key(&c, |(code, _)| *code)
                    .ok()
                    .map(|i| self.rates[i].1)
            })
            .ok_or_else(|| {
                InputError::new(
                    "amount.currency",
                    format!(
                        "no exchange rate into {} for `{}`",
                        self.reference, amount.currency
                    ),
                )
            })?;
        Ok(major_units(amount) * rate)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const FILE: &str = "reference: EUR\nrates:\n  USD: 0.95\n  JPY: 0.0062\n  KWD: 3.1\n";

    fn money(minor: i64, currency: &str) -> Money {
        Money {
            minor,
            currency: currency.into(),
        }
    }

    #[test]
    fn amounts_are_counted_in_the_reference_currency() {
        let r = ExchangeRates::from_yaml("rates.yaml", FILE).expect("rates");
        assert_eq!((r.reference(), r.len()), ("EUR", 4));
        let eur = r.convert(&money(12_345, "EUR")).expect("eur");
        assert!((eur - 123.45).abs() < 1e-9, "{eur}");
        let jpy = r.convert(&money(10_000, "JPY")).expect("jpy: no decimals");
        assert!((jpy - 62.0).abs() < 1e-9, "{jpy}");
        let kwd = r
            .convert(&money(1_500, "KWD"))
            .expect("kwd: three decimals");
        assert!((kwd - 4.65).abs() < 1e-9, "{kwd}");
        let e = r.convert(&money(100, "GBP")).expect_err("no rate");
        assert_eq!(e.field, "amount.currency");
        assert!(e.message.contains("into EUR for `GBP`"), "{e:?}");
    }

    #[test]
    fn bad_files_name_the_key() {
        let cases = [
            ("reference: EURO\nrates: {}\n", "`reference`"),
            ("reference: EUR\nrates: {XYZ: 1.0}\n", "`rates.XYZ`"),
            ("reference: EUR\nrates: {USD: 0}\n", "`rates.USD`"),
            ("reference: EUR\nrates: {USD: -1.5}\n", "`rates.USD`"),
            ("reference: EUR\nrates: {USD: .nan}\n", "`rates.USD`"),
            ("reference: EUR\nrates: {USD: 1e10}\n", "`rates.USD`"),
            ("reference: EUR\nrates: {USD: 1e-10}\n", "`rates.USD`"),
            ("reference: EUR\nrates: {EUR: 2}\n", "`rates.EUR`"),
            ("reference: EUR\nrates: {USD: 0.9}\ncolour: red\n", "colour"),
            ("rates: {USD: 0.9}\n", "reference"),
        ];
        for (text, key) in cases {
            let e = ExchangeRates::from_yaml("rates.yaml", text).expect_err(text);
            let shown = e.to_string();
            assert!(shown.contains("rates.yaml"), "{shown}");
            assert!(shown.contains(key), "{text}: {shown}");
        }
        let big = format!(
            "reference: EUR\nrates: {{}}\n#{}\n",
            "x".repeat(MAX_FILE_BYTES)
        );
        let e = ExchangeRates::from_yaml("rates.yaml", &big).expect_err("too big");
        assert!(e.to_string().contains("over"), "{e}");
    }

    proptest! {
        #[test]
        fn a_converted_amount_is_the_major_amount_times_its_rate(
            minor in 1i64..=crate::request::MAX_AMOUNT_MINOR,
            rate in 1e-9f64..=1e9,
            currency in proptest::sample::select(vec!["USD", "JPY", "KWD", "CLF"]),
        ) {
            let text = format!("reference: EUR\nrates:\n  {currency}: {rate:e}\n");
            let r = ExchangeRates::from_yaml("rates.yaml", &text).expect("rates");
            let converted = r.convert(&money(minor, currency)).expect("converted");
            let expected = major_units(&money(minor, currency)) * rate;
            prop_assert!(converted.is_finite() && converted > 0.0);
            prop_assert!((converted - expected).abs() <= expected * 1e-9, "{converted} vs {expected}");
        }
    }
}
