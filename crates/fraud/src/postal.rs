//! Where an address is when the request gives no coordinates: the centroid of its postal code,
//! from a GeoNames postal-code file the operator supplies (`allCountries.txt` or one country's
//! file, tab-separated: country code, postal code, place name, three administrative levels,
//! latitude, longitude, accuracy). Like the IP locations, no lookup leaves the process.
//!
//! Written here because no maintained crate reads that format; it is one tab-separated line per
//! place, and reading it ourselves lets every bad line be named.

use std::collections::HashMap;
use std::io::BufRead;
use std::path::Path;

use ensuresec_model::event::GeoPoint;

use crate::error::FileError;

/// Largest file accepted (GeoNames' `allCountries.txt` is about 150 MB).
pub const MAX_FILE_BYTES: u64 = 1 << 30;
/// Longest line accepted, in bytes.
pub const MAX_LINE_BYTES: usize = 4096;
/// Longest postal code accepted, in a file or a request, in bytes.
pub const MAX_POSTAL_CODE_BYTES: usize = 16;

/// Column of the country code, the postal code, the latitude and the longitude.
const COUNTRY: usize = 0;
const POSTAL_CODE: usize = 1;
const LATITUDE: usize = 9;
const LONGITUDE: usize = 10;

/// Postal-code centroids, held in memory.
#[derive(Debug, Default)]
pub struct PostalCentroids {
    /// (country, normalised postal code) → centroid.
    places: HashMap<(String, String), GeoPoint>,
}

/// The postal code as it is looked up: capitals, without spaces or hyphens.
fn normalise(code: &str) -> String {
    code.chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

impl PostalCentroids {
    /// Reads the file at `path`; an unreadable or oversized file, or a bad line, is an error
    /// naming the file (and the line and field).
    pub fn open(path: &Path) -> Result<PostalCentroids, FileError> {
        let name = path.display().to_string();
        let file = std::fs::File::open(path).map_err(|e| FileError::new(&name, e.to_string()))?;
        PostalCentroids::from_reader(&name, std::io::BufReader::new(file))
    }

    /// Reads GeoNames postal-code lines from `reader`; `file` names it in errors, and input
    /// beyond [`MAX_FILE_BYTES`] is refused, not cut off. A postal code listed for several
    /// places gets the mean of their coordinates.
    pub fn from_reader(file: &str, mut reader: impl BufRead) -> Result<PostalCentroids, FileError> {
        // (sum of latitudes, sum of longitudes, places) per code.
        let mut sums: HashMap<(String, String), (f64, f64, u32)> = HashMap::new();
        let mut line = Vec::new();
        let mut number = 0usize;
        let mut total = 0u64;
        loop {
            line.clear();
            let read = std::io::Read::take(&mut reader, MAX_LINE_BYTES as u64 + 1)
                .read_until(b'\n', &mut line)
                .map_err(|e| FileError::new(file, e.to_string()))?;
            if read == 0 {
                break;
            }
            total += read as u64;
            if total > MAX_FILE_BYTES {
                return Err(FileError::new(file, format!("over {MAX_FILE_BYTES} bytes")));
            }
            number += 1;
            let at = |message: String| FileError::new(file, format!("line {number}: {message}"));
            if line.len() > MAX_LINE_BYTES {
                return Err(at(format!("over {MAX_LINE_BYTES} bytes")));
            }
            let text = std::str::from_utf8(&line).map_err(|_| at("not UTF-8".into()))?;
            let text = text.trim_end_matches(['\n', '\r']);
            if text.is_empty() {
                continue;
            }
            let fields: Vec<&str> = text.split('\t').collect();
            if fields.len() <= LONGITUDE {
                return Err(at(format!(
                    "{} tab-separated fields, need at least {}",
                    fields.len(),
                    LONGITUDE + 1
                )));
            }
            let country = fields[COUNTRY];
            if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_uppercase()) {
                return Err(at(format!(
                    "field 1 (country code): `{country}` is not two capitals"
                )));
            }
            let code = normalise(fields[POSTAL_CODE]);
            if code.is_empty() || code.len() > MAX_POSTAL_CODE_BYTES {
                return Err(at(format!(
                    "field 2 (postal code): empty or over {MAX_POSTAL_CODE_BYTES} bytes"
                )));
            }
            let degrees = |index: usize, what: &str, limit: f64| {
                fields[index]
                    .trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|v| v.abs() <= limit)
                    .ok_or_else(|| {
                        at(format!(
                            "field {} ({what}): `{}` is not a number within ±{limit}",
                            index + 1,
                            fields[index]
                        ))
                    })
            };
            let lat = degrees(LATITUDE, "latitude", 90.0)?;
            let lon = degrees(LONGITUDE, "longitude", 180.0)?;
            let sum = sums
                .entry((country.to_string(), code))
                .or_insert((0.0, 0.0, 0));
            sum.0 += lat;
            sum.1 += lon;
            sum.2 += 1;
        }
        let places = sums
            .into_iter()
            .map(|(key, (lat, lon, n))| {
                let n = f64::from(n);
                (
                    key,
                    GeoPoint {
                        lat: lat / n,
                        lon: lon / n,
                    },
                )
            })
            .collect();
        Ok(PostalCentroids { places })
    }

    /// Postal codes held.
    pub fn len(&self) -> usize {
        self.places.len()
    }

    /// Whether no postal code is held.
    pub fn is_empty(&self) -> bool {
        self.places.is_empty()
    }

    /// The centroid of `postal_code` in `country`. Codes are compared in capitals without
    /// spaces or hyphens; when the whole code is not listed, its first part is tried (the
    /// free files list only the outward code in some countries, `SW1A` for `SW1A 1AA`).
    pub fn locate(&self, country: &str, postal_code: &str) -> Option<GeoPoint> {
        let find = |code: &str| {
            self.places
                .get(&(country.to_string(), normalise(code)))
                .copied()
        };
        find(postal_code).or_else(|| {
            let first = postal_code.split_whitespace().next()?;
            (first != postal_code.trim()).then(|| find(first)).flatten()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Lines in the GeoNames layout, with made-up places.
    const FILE: &str = "DE\t10115\tBerlin Mitte\tBerlin\tBE\t\t\t\t\t52.53\t13.38\t4\n\
        DE\t10115\tBerlin Nord\tBerlin\tBE\t\t\t\t\t52.55\t13.40\t4\n\
        GB\tSW1A\tLondon\tEngland\tENG\t\t\t\t\t51.50\t-0.14\t4\n\
        \n\
        NL\t1012 AB\tAmsterdam\tNoord-Holland\tNH\t\t\t\t\t52.37\t4.89\t6\r\n";

    fn centroids() -> PostalCentroids {
        PostalCentroids::from_reader("postal.txt", FILE.as_bytes()).expect("valid file")
    }

    #[test]
    fn codes_are_found_by_country_and_normalised_code() {
        let c = centroids();
        assert_eq!(c.len(), 3);
        let berlin = c.locate("DE", "10115").expect("listed");
        // Two places share the code: their mean.
        assert!((berlin.lat - 52.54).abs() < 1e-9 && (berlin.lon - 13.39).abs() < 1e-9);
        assert_eq!(c.locate("NL", "1012ab").map(|p| p.lon), Some(4.89));
        assert_eq!(c.locate("NL", "1012-AB").map(|p| p.lon), Some(4.89));
        // Only the outward code is listed: the first part of the code is tried.
        assert_eq!(c.locate("GB", "SW1A 1AA").map(|p| p.lat), Some(51.50));
        assert_eq!(c.locate("FR", "10115"), None, "another country");
        assert_eq!(c.locate("DE", "99999"), None);
    }

    #[test]
    fn bad_lines_are_named() {
        let cases = [
            ("DE\t10115\tBerlin\n", "line 1: 3 tab-separated fields"),
            (
                "DE\t10115\tB\t\t\t\t\t\t\tnorth\t13.38\t4\n",
                "line 1: field 10 (latitude): `north`",
            ),
            (
                "DE\t10115\tB\t\t\t\t\t\t\t52.5\t13.38\t4\nDE\t10117\tB\t\t\t\t\t\t\t52.5\t190\t4\n",
                "line 2: field 11 (longitude): `190`",
            ),
            (
                "Germany\t10115\tB\t\t\t\t\t\t\t52.5\t13.38\t4\n",
                "field 1 (country code)",
            ),
            (
                "DE\t\tB\t\t\t\t\t\t\t52.5\t13.38\t4\n",
                "field 2 (postal code)",
            ),
        ];
        for (text, want) in cases {
            let e = PostalCentroids::from_reader("postal.txt", text.as_bytes())
                .expect_err(want)
                .to_string();
            assert!(e.starts_with("postal.txt: ") && e.contains(want), "{e}");
        }
        let long = format!("DE\t{}\n", "x".repeat(MAX_LINE_BYTES));
        let e = PostalCentroids::from_reader("postal.txt", long.as_bytes())
            .expect_err("long line")
            .to_string();
        assert!(e.contains("line 1: over 4096 bytes"), "{e}");
    }

    #[test]
    fn a_missing_file_is_named() {
        let e = PostalCentroids::open(Path::new("/nonexistent/postal.txt"))
            .expect_err("missing")
            .to_string();
        assert!(e.contains("/nonexistent/postal.txt"), "{e}");
    }

    proptest! {
        /// Any text is read or refused with a line number, never a panic.
        #[test]
        fn any_text_is_read_or_refused_by_line(text in "[A-Z0-9\t\n .-]{0,200}") {
            match PostalCentroids::from_reader("p.txt", text.as_bytes()) {
                Ok(c) => prop_assert!(c.len() <= text.lines().count()),
                Err(e) => prop_assert!(e.to_string().contains("line "), "{}", e),
            }
        }
    }
}
