//! Exchange rates into one reference currency, so that a provider serving many currencies
//! compares amounts in one unit: without them 10,000 yen (about 60 euros) counts as 10,000 in
//! the `amount` feature, the card's 24-hour total and every rule on them, and a Japanese
//! customer looks like a big spender to rules written in euros.
//!
//! The rates are a data file the operator keeps current: either a provider's own daily rates,
//!
//! ```yaml
//! reference: EUR      # the currency amounts are counted in
//! rates:              # what one unit of each currency is worth in it
//!   USD: 0.95
//!   JPY: 0.0062
//! ```
//!
//! or, in a file named `*.csv`, the European Central Bank's euro reference rates as it
//! publishes them ([`ecb`]), amounts then counted in euros.

mod ecb;

use std::collections::BTreeMap;
use std::path::Path;

use chrono::NaiveDate;
use ensuresec_model::event::Money;
use serde::Deserialize;

use crate::currency::{major_units, minor_exponent};
use crate::error::{FileError, InputError};

/// Largest YAML rates file read, in bytes: every currency in use takes a few kilobytes.
pub const MAX_FILE_BYTES: usize = 1 << 16;

pub use ecb::MAX_FILE_BYTES as MAX_ECB_FILE_BYTES;

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

/// What one unit of each currency is worth in the reference currency, per day when the file
/// gives days (the ECB's history), so that a payment is counted at the rates of its own day.
#[derive(Debug, Clone, PartialEq)]
pub struct ExchangeRates {
    reference: String,
    /// Oldest first, never empty; a file without days has one, from the beginning of time.
    days: Vec<Day>,
}

/// The rates of one day.
#[derive(Debug, Clone, PartialEq)]
struct Day {
    /// The day, when the file says (the ECB's do).
    date: Option<NaiveDate>,
    /// From when they apply, in Unix seconds: the day's midnight UTC; the earliest time for a
    /// file without days.
    from: i64,
    /// By currency code, sorted for the binary search; the reference currency among them at 1.
    rates: Vec<([u8; 3], f64)>,
}

impl Day {
    fn new(date: Option<NaiveDate>, mut rates: Vec<([u8; 3], f64)>) -> Day {
        rates.sort_by_key(|(c, _)| *c);
        let from = date.map_or(i64::MIN, |d| {
            d.and_time(chrono::NaiveTime::MIN).and_utc().timestamp()
        });
        Day { date, from, rates }
    }

    fn rate_of(&self, code: [u8; 3]) -> Option<f64> {
        self.rates
            .binary_search_by_key(&code, |(c, _)| *c)
            .ok()
            .map(|i| self.rates[i].1)
    }
}

impl ExchangeRates {
    /// Loads rates from YAML text; `file` names it in errors, which name the key at fault.
    pub fn from_yaml(file: &str, text: &str) -> Result<ExchangeRates, FileError> {
        let raw: RawFile = crate::parse_yaml(file, text, MAX_FILE_BYTES)?;
        let reference = currency_code(file, "`reference`", &raw.reference)?;
        let mut rates = vec![(reference, 1.0)];
        for (currency, rate) in &raw.rates {
            let key = format!("`rates.{currency}`");
            let c = currency_code(file, &key, currency)?;
            if !RATE_RANGE.contains(rate) {
                return Err(FileError::new(
                    file,
                    format!(
                        "{key}: {rate} is not a rate between {:e} and {:e}",
                        RATE_RANGE.start(),
                        RATE_RANGE.end()
                    ),
                ));
            }
            if c == reference {
                if *rate != 1.0 {
                    return Err(FileError::new(
                        file,
                        format!("{key}: the reference currency is worth 1, not {rate}"),
                    ));
                }
                continue;
            }
            rates.push((c, *rate));
        }
        Ok(ExchangeRates {
            reference: raw.reference,
            days: vec![Day::new(None, rates)],
        })
    }

    /// Loads the European Central Bank's reference rates file (its daily `eurofxref.csv` or
    /// its history `eurofxref-hist.csv`) into euros, every day of it; `file` names it in
    /// errors, which name the line and the column at fault. A currency the file quotes that
    /// is no longer in use (the Cypriot pound, say) is refused on the newest day and left out
    /// on older ones: no payment in it is accepted.
    pub fn from_ecb_csv(file: &str, text: &str) -> Result<ExchangeRates, FileError> {
        let ecb_days = ecb::days(file, text)?;
        let newest = ecb_days.len() - 1;
        let mut days = Vec::with_capacity(ecb_days.len());
        for (i, day) in ecb_days.iter().enumerate() {
            let mut rates = vec![(*b"EUR", 1.0)];
            for (currency, per_euro) in &day.per_euro {
                let code = if i == newest {
                    let key = format!("line {}, column `{currency}`", day.line);
                    currency_code(file, &key, currency)?
                } else {
                    let Some(code) = code_in_use(currency) else {
                        continue;
                    };
                    code
                };
                rates.push((code, 1.0 / per_euro));
            }
            days.push(Day::new(Some(day.date), rates));
        }
        Ok(ExchangeRates {
            reference: "EUR".into(),
            days,
        })
    }

    /// The same rates counted in `reference` instead, a currency the file prices on each of
    /// its days: what one unit of each currency is worth in it is its rate over
    /// `reference`'s. A provider whose rules are written in dollars can so use the ECB's
    /// rates, which are in euros. `file` names the file in errors: `reference` without a rate
    /// (on the day named), or a rate that would leave [`RATE_RANGE`].
    pub fn counted_in(self, file: &str, reference: &str) -> Result<ExchangeRates, FileError> {
        if reference == self.reference {
            return Ok(self);
        }
        let code = currency_code(file, "the reference asked for", reference)?;
        let mut days = Vec::with_capacity(self.days.len());
        for day in self.days {
            let on = day.date.map(|d| format!(" on {d}")).unwrap_or_default();
            let Some(base) = day.rate_of(code) else {
                return Err(FileError::new(
                    file,
                    format!(
                        "no rate for `{reference}`{on}, the reference asked for: amounts \
                         cannot be counted in it"
                    ),
                ));
            };
            let mut rates = Vec::with_capacity(day.rates.len());
            for (c, rate) in day.rates {
                let rebased = rate / base;
                if !RATE_RANGE.contains(&rebased) {
                    return Err(FileError::new(
                        file,
                        format!(
                            "`{}` would be worth {rebased:e} {reference}{on}, not between {:e} \
                             and {:e}",
                            String::from_utf8_lossy(&c),
                            RATE_RANGE.start(),
                            RATE_RANGE.end()
                        ),
                    ));
                }
                rates.push((c, rebased));
            }
            days.push(Day::new(day.date, rates));
        }
        Ok(ExchangeRates {
            reference: reference.into(),
            days,
        })
    }

    /// Reads and loads the file at `path`: the ECB's reference rates when its name ends in
    /// `.csv`, YAML otherwise; counted in `reference` when one is given ([`Self::counted_in`]).
    pub fn load(path: &Path, reference: Option<&str>) -> Result<ExchangeRates, FileError> {
        let name = path.display().to_string();
        let ecb = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
        let limit = if ecb {
            MAX_ECB_FILE_BYTES
        } else {
            MAX_FILE_BYTES
        };
        let text = crate::read_limited(path, limit).map_err(|m| FileError::new(&name, m))?;
        let rates = if ecb {
            ExchangeRates::from_ecb_csv(&name, &text)?
        } else {
            ExchangeRates::from_yaml(&name, &text)?
        };
        match reference {
            Some(r) => rates.counted_in(&name, r),
            None => Ok(rates),
        }
    }

    /// The currency amounts are counted in.
    pub fn reference(&self) -> &str {
        &self.reference
    }

    /// The newest day of the rates, when the file says: rates an operator forgot to fetch
    /// show their age.
    pub fn date(&self) -> Option<NaiveDate> {
        self.newest().date
    }

    /// How many currencies have a rate on the newest day, the reference among them.
    pub fn len(&self) -> usize {
        self.newest().rates.len()
    }

    /// Never true: the reference currency always has its rate.
    pub fn is_empty(&self) -> bool {
        self.newest().rates.is_empty()
    }

    fn newest(&self) -> &Day {
        self.days.last().expect("a file gives at least one day")
    }

    /// `amount` in major units of the reference currency, at the rates of the day of `time`
    /// (Unix seconds): the newest day not after it, or the oldest for a time before them
    /// all. A currency without a rate that day is an error naming `amount.currency`: scoring
    /// it unconverted would be the silent default this file exists to avoid.
    pub fn convert(&self, amount: &Money, time: i64) -> Result<f64, InputError> {
        let after = self.days.partition_point(|d| d.from <= time);
        let day = &self.days[after.saturating_sub(1)];
        let rate = amount
            .currency
            .as_bytes()
            .try_into()
            .ok()
            .and_then(|c: [u8; 3]| day.rate_of(c))
            .ok_or_else(|| {
                let on = day.date.map(|d| format!(" on {d}")).unwrap_or_default();
                InputError::new(
                    "amount.currency",
                    format!(
                        "no exchange rate into {} for `{}`{on}",
                        self.reference, amount.currency
                    ),
                )
            })?;
        Ok(major_units(amount) * rate)
    }
}

/// `value` as a currency code, refused naming `key` (where in the file) when it is not an
/// ISO 4217 currency in use.
fn currency_code(file: &str, key: &str, value: &str) -> Result<[u8; 3], FileError> {
    code_in_use(value).ok_or_else(|| {
        FileError::new(
            file,
            format!("{key}: `{value}` is not an ISO 4217 currency in use"),
        )
    })
}

/// `value`'s three letters, if it is an ISO 4217 currency in use.
fn code_in_use(value: &str) -> Option<[u8; 3]> {
    minor_exponent(value)?;
    value.as_bytes().try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// 2026-12-07 12:00 UTC: after every day of the files below.
    const NOW: i64 = 1_796_644_800;

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
        let eur = r.convert(&money(12_345, "EUR"), NOW).expect("eur");
        assert!((eur - 123.45).abs() < 1e-9, "{eur}");
        let jpy = r
            .convert(&money(10_000, "JPY"), NOW)
            .expect("jpy: no decimals");
        assert!((jpy - 62.0).abs() < 1e-9, "{jpy}");
        let kwd = r
            .convert(&money(1_500, "KWD"), NOW)
            .expect("kwd: three decimals");
        assert!((kwd - 4.65).abs() < 1e-9, "{kwd}");
        let e = r.convert(&money(100, "GBP"), NOW).expect_err("no rate");
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

    #[test]
    fn the_ecb_rates_of_the_newest_day_count_amounts_in_euros() {
        let text = "Date,USD,JPY,CYP,\n2026-12-04,1.25,160,N/A,\n2026-12-03,2,100,N/A,\n";
        let r = ExchangeRates::from_ecb_csv("eurofxref-hist.csv", text).expect("rates");
        assert_eq!((r.reference(), r.len()), ("EUR", 3));
        assert_eq!(r.date(), NaiveDate::from_ymd_opt(2026, 12, 4));
        let usd = r.convert(&money(10_000, "USD"), NOW).expect("usd");
        assert!((usd - 80.0).abs() < 1e-9, "{usd}");
        let jpy = r.convert(&money(10_000, "JPY"), NOW).expect("jpy");
        assert!((jpy - 62.5).abs() < 1e-9, "{jpy}");
        let eur = r.convert(&money(250, "EUR"), NOW).expect("eur");
        assert!((eur - 2.5).abs() < 1e-9, "{eur}");
        let e = r
            .convert(&money(100, "CYP"), NOW)
            .expect_err("not quoted that day");
        assert!(e.message.contains("into EUR for `CYP`"), "{e:?}");
        assert_eq!(
            ExchangeRates::from_yaml("r.yaml", FILE)
                .expect("yaml")
                .date(),
            None
        );
    }

    #[test]
    fn a_payment_is_counted_at_the_rates_of_its_own_day() {
        // Newest first, as the ECB's history; Cypriot pounds quoted only long ago.
        let text = "Date,USD,CYP,\n2026-12-04,1.25,N/A,\n2026-12-02,2,N/A,\n\
                    2007-12-31,1.6,0.5,\n";
        let r = ExchangeRates::from_ecb_csv("eurofxref-hist.csv", text).expect("rates");
        assert_eq!((r.days.len(), r.len()), (3, 2));
        let day = |y: i32, m: u32, d: u32, h: u32| {
            NaiveDate::from_ymd_opt(y, m, d)
                .and_then(|d| d.and_hms_opt(h, 0, 0))
                .expect("time")
                .and_utc()
                .timestamp()
        };
        let dollars = |time: i64| r.convert(&money(10_000, "USD"), time).expect("usd");
        // Each day's rates from its midnight UTC until the next published day.
        assert!((dollars(day(2026, 12, 4, 0)) - 80.0).abs() < 1e-9);
        assert!(
            (dollars(day(2026, 12, 3, 23)) - 50.0).abs() < 1e-9,
            "the 2nd's rates"
        );
        assert!((dollars(day(2026, 12, 2, 0)) - 50.0).abs() < 1e-9);
        assert!(
            (dollars(day(2026, 12, 1, 23)) - 62.5).abs() < 1e-9,
            "the 2007 rates"
        );
        assert!(
            (dollars(day(1999, 1, 4, 12)) - 62.5).abs() < 1e-9,
            "before all: the oldest"
        );
        assert!((dollars(NOW) - 80.0).abs() < 1e-9, "after all: the newest");
        // The pound had a rate in 2007, none since: not a currency in use, so left out.
        let e = r
            .convert(&money(100, "CYP"), day(2008, 1, 2, 0))
            .expect_err("out of use");
        assert!(e.message.contains("for `CYP` on 2007-12-31"), "{e:?}");

        // Counted in dollars, day by day; the dollar missing on a day names it.
        let in_dollars = r.clone().counted_in("h.csv", "USD").expect("usd");
        let eur = in_dollars
            .convert(&money(10_000, "EUR"), day(2026, 12, 3, 0))
            .expect("eur");
        assert!((eur - 200.0).abs() < 1e-9, "{eur}");
        let gap = "Date,USD,JPY,\n2026-12-04,1.25,160,\n2026-12-03,N/A,161,\n";
        let e = ExchangeRates::from_ecb_csv("h.csv", gap)
            .expect("rates")
            .counted_in("h.csv", "USD")
            .expect_err("no dollar on the 3rd");
        assert!(
            e.to_string().contains("no rate for `USD` on 2026-12-03"),
            "{e}"
        );
    }

    #[test]
    fn an_ecb_rate_for_a_currency_out_of_use_names_its_line_and_column() {
        let text = "Date,USD,CYP,\n2026-12-04,1.25,0.58,\n";
        let e = ExchangeRates::from_ecb_csv("eurofxref.csv", text).expect_err("CYP");
        let shown = e.to_string();
        assert!(
            shown.contains("line 2, column `CYP`: `CYP` is not an ISO 4217 currency in use"),
            "{shown}"
        );
    }

    #[test]
    fn a_file_named_csv_is_read_as_the_ecb_rates_and_any_other_as_yaml() {
        let dir = tempfile::tempdir().expect("dir");
        let csv = dir.path().join("eurofxref.csv");
        std::fs::write(&csv, "Date, USD, \n04 December 2026, 1.25, \n").expect("write");
        let r = ExchangeRates::load(&csv, None).expect("csv");
        assert_eq!(r.date(), NaiveDate::from_ymd_opt(2026, 12, 4));
        let yaml = dir.path().join("rates.yml");
        std::fs::write(&yaml, FILE).expect("write");
        assert_eq!(ExchangeRates::load(&yaml, None).expect("yaml").len(), 4);
        // The same YAML under a CSV name is refused as not the ECB's file, by its name.
        let misnamed = dir.path().join("rates.CSV");
        std::fs::write(&misnamed, FILE).expect("write");
        let e = ExchangeRates::load(&misnamed, None).expect_err("yaml as csv");
        assert!(e.to_string().contains("rates.CSV"), "{e}");
        assert!(e.to_string().contains("not `Date`"), "{e}");
    }

    #[test]
    fn rates_are_counted_in_another_reference_the_file_prices() {
        let ecb = "Date,USD,JPY,\n2026-12-04,1.25,160,\n";
        let r = ExchangeRates::from_ecb_csv("eurofxref.csv", ecb)
            .and_then(|r| r.counted_in("eurofxref.csv", "USD"))
            .expect("in dollars");
        assert_eq!((r.reference(), r.len()), ("USD", 3));
        assert_eq!(
            r.date(),
            NaiveDate::from_ymd_opt(2026, 12, 4),
            "the day is kept"
        );
        let eur = r.convert(&money(10_000, "EUR"), NOW).expect("eur");
        assert!(
            (eur - 125.0).abs() < 1e-9,
            "100 euros are 125 dollars: {eur}"
        );
        let jpy = r.convert(&money(16_000, "JPY"), NOW).expect("jpy");
        assert!(
            (jpy - 125.0).abs() < 1e-9,
            "16,000 yen are 100 euros: {jpy}"
        );
        let usd = r.convert(&money(4_999, "USD"), NOW).expect("usd");
        assert!((usd - 49.99).abs() < 1e-9, "{usd}");

        let yaml = ExchangeRates::from_yaml("r.yaml", FILE).expect("yaml");
        assert_eq!(
            yaml.clone().counted_in("r.yaml", "EUR").expect("same"),
            yaml
        );
        let e = yaml
            .clone()
            .counted_in("r.yaml", "GBP")
            .expect_err("no GBP rate");
        assert!(e.to_string().contains("no rate for `GBP`"), "{e}");
        let e = yaml
            .counted_in("r.yaml", "EURO")
            .expect_err("not a currency");
        assert!(e.to_string().contains("`EURO` is not an ISO 4217"), "{e}");
        let far = "reference: EUR\nrates: {USD: 1e-6, JPY: 1e6}\n";
        let e = ExchangeRates::from_yaml("r.yaml", far)
            .expect("each in range")
            .counted_in("r.yaml", "USD")
            .expect_err("yen at 1e12 dollars");
        assert!(e.to_string().contains("`JPY` would be worth"), "{e}");
        assert!(e.to_string().contains("USD, not between"), "{e}");
    }

    proptest! {
        #[test]
        fn a_converted_amount_is_the_major_amount_times_its_rate_from_either_file(
            minor in 1i64..=crate::request::MAX_AMOUNT_MINOR,
            rate in 1e-9f64..=1e9,
            currency in proptest::sample::select(vec!["USD", "JPY", "KWD", "CLF"]),
        ) {
            let yaml = format!("reference: EUR\nrates:\n  {currency}: {rate:e}\n");
            // The ECB's file gives what a euro buys: the inverse.
            let ecb = format!("Date,{currency},\n2026-12-04,{:e},\n", 1.0 / rate);
            let expected = major_units(&money(minor, currency)) * rate;
            for r in [
                ExchangeRates::from_yaml("rates.yaml", &yaml).expect("yaml"),
                ExchangeRates::from_ecb_csv("eurofxref.csv", &ecb).expect("ecb"),
            ] {
                let converted = r.convert(&money(minor, currency), NOW).expect("converted");
                prop_assert!(converted.is_finite() && converted > 0.0);
                prop_assert!(
                    (converted - expected).abs() <= expected * 1e-9,
                    "{converted} vs {expected}"
                );
            }
        }
    }
}
