//! The European Central Bank's euro reference rates as it publishes them: `eurofxref.csv` (the
//! day's rates) or `eurofxref-hist.csv` (every working day since 1999), the files inside the zip
//! archives on its site. An operator without rates of their own fetches one each working day
//! and reloads, with nothing to convert. The file gives what one euro buys of each currency,
//! per day. A currency not quoted on a day (`N/A`) has no rate that day.
//!
//! ```text
//! Date, USD, JPY, BGN, CZK,
//! 04 December 2026, 1.0845, 162.38, N/A, 24.311,
//! ```
//!
//! Every row is checked, not only the newest, so that a damaged file is refused rather than
//! read in part: each refusal names the line and the column.

use std::collections::HashSet;

use chrono::NaiveDate;

use crate::error::FileError;

/// Largest file read, in bytes: the whole history since 1999 is about 2 MB and grows by about
/// 80 kB a year.
pub const MAX_FILE_BYTES: usize = 8 << 20;

/// The rates of one day of the file.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct EcbDay {
    /// The day they were published for.
    pub date: NaiveDate,
    /// Its line in the file.
    pub line: u64,
    /// What one euro buys, by currency column as headed, in file order; the currencies not
    /// quoted that day left out.
    pub per_euro: Vec<(String, f64)>,
}

/// Every day's rates of the file's `text`, oldest first; `file` names it in errors.
pub(super) fn days(file: &str, text: &str) -> Result<Vec<EcbDay>, FileError> {
    let err = |m: String| FileError::new(file, m);
    if text.len() > MAX_FILE_BYTES {
        return Err(err(format!("file is over {MAX_FILE_BYTES} bytes")));
    }
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let header = csv
        .headers()
        .map_err(|e| err(format!("line 1: {e}")))?
        .clone();
    if header.get(0) != Some("Date") {
        return Err(err(format!(
            "line 1: the first column is `{}`, not `Date`: not the ECB's reference rates",
            header.get(0).unwrap_or_default()
        )));
    }
    let currencies: Vec<&str> = header.iter().skip(1).collect();
    for (i, c) in currencies.iter().enumerate() {
        if c.eq_ignore_ascii_case("EUR") {
            return Err(err(
                "line 1: column `EUR`: the euro is what the rates are of".into(),
            ));
        }
        if !c.is_empty() && currencies[..i].contains(c) {
            return Err(err(format!("line 1: column `{c}` appears twice")));
        }
    }

    let mut days = Vec::new();
    let mut dates = HashSet::new();
    for record in csv.records() {
        let record = record.map_err(|e| err(record_error(&e)))?;
        let line = record.position().map_or(0, |p| p.line());
        let date_text = record.get(0).unwrap_or_default();
        let date = parse_date(date_text)
            .ok_or_else(|| err(format!("line {line}: `{date_text}` is not a date")))?;
        if !dates.insert(date) {
            return Err(err(format!("line {line}: {date} appears a second time")));
        }
        let mut per_euro = Vec::with_capacity(currencies.len());
        for (currency, value) in currencies.iter().zip(record.iter().skip(1)) {
            if value.is_empty() || value == "N/A" {
                continue;
            }
            if currency.is_empty() {
                return Err(err(format!(
                    "line {line}: `{value}` is in a column without a currency"
                )));
            }
            let rate = value
                .parse::<f64>()
                .ok()
                .filter(|r| super::RATE_RANGE.contains(r))
                .ok_or_else(|| {
                    err(format!(
                        "line {line}, column `{currency}`: `{value}` is not a rate between \
                         {:e} and {:e}",
                        super::RATE_RANGE.start(),
                        super::RATE_RANGE.end()
                    ))
                })?;
            per_euro.push((currency.to_string(), rate));
        }
        days.push(EcbDay {
            date,
            line,
            per_euro,
        });
    }
    if days.is_empty() {
        return Err(err("no row of rates under the header".into()));
    }
    // The history is newest first, the day's file has one row: whatever the order, sorted.
    days.sort_by_key(|d| d.date);
    Ok(days)
}

/// A row the CSV reader refused, by its line.
fn record_error(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::UnequalLengths {
            pos: Some(pos),
            expected_len,
            len,
        } => format!(
            "line {}: {len} columns, the header has {expected_len}",
            pos.line()
        ),
        _ => e.to_string(),
    }
}

/// The day's file writes `04 December 2026`, the history `2026-12-04`.
fn parse_date(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text, "%d %B %Y")
        .or_else(|_| NaiveDate::parse_from_str(text, "%Y-%m-%d"))
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The layout of the ECB's daily file: spaces after commas, a comma at the end of rows.
    const DAILY: &str = "Date, USD, JPY, BGN, KWD, \n04 December 2026, 1.0845, 162.38, N/A, \
                         0.3321, \n";

    /// The layout of its history: newest first, ISO dates, currencies no longer quoted.
    const HISTORY: &str = "Date,USD,JPY,CYP,\n2026-12-04,1.0845,162.38,N/A,\n\
                           2026-12-03,1.0801,161.95,N/A,\n2007-12-31,1.4721,164.93,0.585274,\n";

    #[test]
    fn the_daily_file_gives_its_day_and_skips_what_was_not_quoted() {
        let days = days("eurofxref.csv", DAILY).expect("daily file");
        assert_eq!(days.len(), 1);
        let day = &days[0];
        assert_eq!(day.date, NaiveDate::from_ymd_opt(2026, 12, 4).unwrap());
        let codes: Vec<&str> = day.per_euro.iter().map(|(c, _)| c.as_str()).collect();
        assert_eq!(codes, ["USD", "JPY", "KWD"]);
        assert_eq!(day.per_euro[1].1, 162.38);
    }

    #[test]
    fn the_history_gives_every_day_oldest_first_wherever_they_stand() {
        let history = days("hist.csv", HISTORY).expect("history");
        let dates: Vec<String> = history.iter().map(|d| d.date.to_string()).collect();
        assert_eq!(dates, ["2007-12-31", "2026-12-03", "2026-12-04"]);
        assert_eq!(history[2].line, 2);
        assert_eq!(
            history[2].per_euro,
            [("USD".into(), 1.0845), ("JPY".into(), 162.38)]
        );
        assert_eq!(history[0].per_euro[2], ("CYP".into(), 0.585274));
        // The same rows oldest first.
        let reversed = "Date,USD,JPY,CYP,\n2007-12-31,1.4721,164.93,0.585274,\n\
                        2026-12-04,1.0845,162.38,N/A,\n";
        let oldest_first = days("hist.csv", reversed).expect("reversed");
        assert_eq!(
            (oldest_first[1].date, oldest_first[1].line),
            (history[2].date, 3)
        );
        assert_eq!(oldest_first[1].per_euro, history[2].per_euro);
    }

    #[test]
    fn bad_files_name_the_line_and_column() {
        let cases = [
            ("", "not the ECB"),
            ("Currency,Rate\nUSD,1.08\n", "`Currency`, not `Date`"),
            ("Date,USD,\n", "no row of rates"),
            ("Date,USD,EUR,\n2026-12-04,1.08,1,\n", "column `EUR`"),
            (
                "Date,USD,USD,\n2026-12-04,1.08,1.09,\n",
                "`USD` appears twice",
            ),
            (
                "Date,USD,\n2026-12-04,1.08,\n4 Dec,1.1,\n",
                "line 3: `4 Dec` is not a date",
            ),
            (
                "Date,USD,\n2026-12-04,1.08,\n2026-12-04,1.09,\n",
                "line 3: 2026-12-04",
            ),
            (
                "Date,USD,\n2026-12-04,one,\n",
                "line 2, column `USD`: `one`",
            ),
            ("Date,USD,\n2026-12-04,0,\n", "line 2, column `USD`: `0`"),
            ("Date,USD,\n2026-12-04,-1.08,\n", "column `USD`: `-1.08`"),
            ("Date,USD,\n2026-12-04,NaN,\n", "column `USD`: `NaN`"),
            (
                "Date,USD,\n2026-12-03,1.08,\n2026-12-04,1e10,\n",
                "line 3, column `USD`",
            ),
            ("Date,USD,\n2026-12-04,1.08,7,\n", "line 2"),
            (
                "Date,USD,,\n2026-12-04,1.08,7,\n",
                "line 2: `7` is in a column without",
            ),
        ];
        for (text, expected) in cases {
            let e = days("rates.csv", text).expect_err(text);
            let shown = e.to_string();
            assert!(shown.contains("rates.csv"), "{shown}");
            assert!(shown.contains(expected), "{text:?}: {shown}");
        }
        let big = format!(
            "Date,USD,\n{}",
            "2026-12-04,1.08,\n".repeat(MAX_FILE_BYTES / 10)
        );
        let e = days("rates.csv", &big).expect_err("too big");
        assert!(e.to_string().contains("over"), "{e}");
    }
}
