//! Labelled training and evaluation data from CSV: a header row, one numeric column per
//! feature, a 0/1 label column and optionally a time column used only for ordering. Empty
//! feature cells are unknown values; every row needs its label and time. Every refusal names
//! the line and column.

use std::io::Read;

use crate::error::FileError;

/// Most rows read from one file.
pub const MAX_ROWS: usize = 20_000_000;
/// Most feature columns.
pub const MAX_COLUMNS: usize = 512;

/// Which columns play which part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Columns {
    /// The 0/1 label (1 = fraud).
    pub label: String,
    /// Event time, for the time-ordered split; not a feature.
    pub time: Option<String>,
}

impl Default for Columns {
    fn default() -> Self {
        Columns {
            label: "Class".into(),
            time: Some("Time".into()),
        }
    }
}

/// Rows sorted by time (file order when there is no time column), features column-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// Feature names, in column order.
    pub names: Vec<String>,
    /// Number of rows.
    pub rows: usize,
    /// Feature values, column after column (`x[c * rows + r]`).
    pub x: Vec<f64>,
    /// Labels.
    pub y: Vec<bool>,
}

impl Dataset {
    /// Reads CSV from `reader`; `file` names it in errors.
    pub fn read_csv(
        file: &str,
        reader: impl Read,
        columns: &Columns,
    ) -> Result<Dataset, FileError> {
        let err = |m: String| FileError::new(file, m);
        let mut csv = csv::ReaderBuilder::new()
            .has_headers(true)
            .from_reader(reader);
        let header = csv
            .headers()
            .map_err(|e| err(format!("header: {e}")))?
            .clone();
        // A second column of the same name would be read as a feature: the label itself,
        // leaked into training, or a feature the scorer cannot tell apart.
        for (i, h) in header.iter().enumerate() {
            if header.iter().take(i).any(|earlier| earlier == h) {
                return Err(err(format!("header: column `{h}` appears twice")));
            }
        }
        let find = |name: &str| header.iter().position(|h| h == name);
        let label = find(&columns.label)
            .ok_or_else(|| err(format!("header: no label column `{}`", columns.label)))?;
        let time = match &columns.time {
            Some(t) => Some(find(t).ok_or_else(|| err(format!("header: no time column `{t}`")))?),
            None => None,
        };
        let feature_cols: Vec<usize> = (0..header.len())
            .filter(|i| *i != label && Some(*i) != time)
            .collect();
        if feature_cols.is_empty() || feature_cols.len() > MAX_COLUMNS {
            return Err(err(format!(
                "header: need 1 to {MAX_COLUMNS} feature columns"
            )));
        }
        let names: Vec<String> = feature_cols
            .iter()
            .map(|i| header[*i].to_string())
            .collect();
        let mut rows_x: Vec<f64> = Vec::new();
        let mut y = Vec::new();
        let mut times = Vec::new();
        for (n, record) in csv.records().enumerate() {
            let line = n + 2;
            let record = record.map_err(|e| err(format!("line {line}: {e}")))?;
            if y.len() >= MAX_ROWS {
                return Err(err(format!("more than {MAX_ROWS} rows")));
            }
            let cell = |i: usize| -> Result<f64, FileError> {
                let text = record.get(i).unwrap_or("").trim();
                if text.is_empty() {
                    return Ok(f64::NAN);
                }
                text.parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite())
                    .ok_or_else(|| {
                        err(format!(
                            "line {line}, column `{}`: `{text}` is not a number",
                            &header[i]
                        ))
                    })
            };
            let l = cell(label)?;
            if l != 0.0 && l != 1.0 {
                return Err(err(format!(
                    "line {line}, column `{}`: label must be 0 or 1",
                    columns.label
                )));
            }
            y.push(l == 1.0);
            times.push(match time {
                Some(t) => Some(cell(t)?)
                    .filter(|v| !v.is_nan())
                    .ok_or_else(|| err(format!("line {line}, column `{}`: no time", &header[t])))?,
                None => n as f64,
            });
            for c in &feature_cols {
                rows_x.push(cell(*c)?);
            }
        }
        let rows = y.len();
        if rows == 0 {
            return Err(err("no data rows".into()));
        }
        // Stable: rows of the same time keep their file order.
        let mut order: Vec<usize> = (0..rows).collect();
        order.sort_by(|a, b| times[*a].total_cmp(&times[*b]));
        let cols = names.len();
        let mut x = vec![0.0; rows * cols];
        for (r, src) in order.iter().enumerate() {
            for c in 0..cols {
                x[c * rows + r] = rows_x[src * cols + c];
            }
        }
        let y = order.iter().map(|i| y[*i]).collect();
        Ok(Dataset { names, rows, x, y })
    }

    /// Rows `range` as a new dataset (keeps time order).
    pub fn slice(&self, range: std::ops::Range<usize>) -> Dataset {
        let rows = range.len();
        let mut x = Vec::with_capacity(rows * self.names.len());
        for c in 0..self.names.len() {
            let col = &self.x[c * self.rows..(c + 1) * self.rows];
            x.extend_from_slice(&col[range.clone()]);
        }
        Dataset {
            names: self.names.clone(),
            rows,
            x,
            y: self.y[range].to_vec(),
        }
    }

    /// Row `r`'s feature values.
    pub fn row(&self, r: usize) -> Vec<f64> {
        (0..self.names.len())
            .map(|c| self.x[c * self.rows + r])
            .collect()
    }

    /// Number of fraud rows.
    pub fn positives(&self) -> usize {
        self.y.iter().filter(|l| **l).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_sorts_by_time_and_splits() {
        let text = "Time,a,b,Class\n3,1.5,,1\n1,2,7,0\n2,3,8,\"0\"\n";
        let d = Dataset::read_csv("t.csv", text.as_bytes(), &Columns::default()).expect("valid");
        assert_eq!(d.names, ["a", "b"]);
        assert_eq!(d.y, [false, false, true]);
        assert_eq!(d.row(0), [2.0, 7.0]);
        assert!(d.row(2)[1].is_nan());
        let tail = d.slice(1..3);
        assert_eq!(tail.row(0), [3.0, 8.0]);
        assert_eq!(tail.positives(), 1);
    }

    /// The error reading `text` as `t.csv` with the default columns.
    fn refusal(text: &str) -> String {
        Dataset::read_csv("t.csv", text.as_bytes(), &Columns::default())
            .expect_err("refused")
            .to_string()
    }

    #[test]
    fn errors_name_line_and_column() {
        let e = refusal("Time,a,Class\n1,x,0\n");
        assert!(
            e.contains("t.csv") && e.contains("line 2") && e.contains("`a`"),
            "{e}"
        );
        let e = refusal("Time,a,Class\n1,1,2\n");
        assert!(e.contains("0 or 1"), "{e}");
        let e = refusal("Time,a\n1,1\n");
        assert!(e.contains("Class"), "{e}");
        let e = refusal("Time,a,Class\n1,1,0\n,2,1\n");
        assert!(
            e.contains("line 3") && e.contains("`Time`") && e.contains("no time"),
            "{e}"
        );
    }

    #[test]
    fn a_column_named_twice_is_refused() {
        // The second `Class` would otherwise be a feature: the label leaked into training.
        let e = refusal("Time,a,Class,Class\n1,1,0,0\n");
        assert!(e.contains("`Class` appears twice"), "{e}");
    }

    use proptest::prelude::*;

    /// One row: time, two features (either may be unknown) and the label.
    fn row() -> impl Strategy<Value = (u16, Option<i32>, Option<i32>, bool)> {
        (
            0u16..50,
            proptest::option::of(-1000i32..1000),
            proptest::option::of(-1000i32..1000),
            any::<bool>(),
        )
    }

    proptest! {
        /// Every row written is read back, in time order (file order among equal times), with
        /// its values, unknowns and label.
        #[test]
        fn rows_come_back_in_time_order(rows in proptest::collection::vec(row(), 1..60)) {
            let cell = |v: Option<i32>| v.map(|v| (f64::from(v) / 8.0).to_string()).unwrap_or_default();
            let mut text = String::from("Time,a,b,Class\n");
            for (t, a, b, label) in &rows {
                text += &format!("{t},{},{},{}\n", cell(*a), cell(*b), u8::from(*label));
            }
            let d = Dataset::read_csv("p.csv", text.as_bytes(), &Columns::default()).expect("valid");
            let mut expected = rows.clone();
            expected.sort_by_key(|r| r.0);
            prop_assert_eq!(d.rows, rows.len());
            for (r, (_, a, b, label)) in expected.iter().enumerate() {
                let got = d.row(r);
                for (value, want) in got.iter().zip([a, b]) {
                    match want {
                        Some(v) => prop_assert_eq!(*value, f64::from(*v) / 8.0),
                        None => prop_assert!(value.is_nan()),
                    }
                }
                prop_assert_eq!(d.y[r], *label);
            }
        }
    }
}
