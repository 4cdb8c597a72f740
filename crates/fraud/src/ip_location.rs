//! Where a client IP address is, from an offline MaxMind DB file the operator supplies
//! (GeoLite2-City, GeoIP2-City, DB-IP's City Lite, or any database in that format whose records
//! carry `location.latitude` and `location.longitude`). No lookup leaves the process: an
//! authorisation is scored before it goes to the issuer, with no time for a web service.
//! Read with the `maxminddb` crate, MaxMind's format reader for Rust.

use std::net::IpAddr;
use std::path::Path;

use ensuresec_model::event::GeoPoint;
use serde::Deserialize;

use crate::error::FileError;

/// Largest database file accepted (GeoLite2-City is about 60 MB, GeoIP2-City about 130 MB).
pub const MAX_DB_BYTES: u64 = 1 << 30;

/// The part of a City record this module reads.
#[derive(Deserialize)]
struct Record {
    location: Option<Location>,
}

/// `location` of a City record.
#[derive(Deserialize)]
struct Location {
    latitude: Option<f64>,
    longitude: Option<f64>,
}

/// An IP location database, held in memory.
pub struct IpLocator {
    file: String,
    reader: maxminddb::Reader<Vec<u8>>,
}

impl std::fmt::Debug for IpLocator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IpLocator")
            .field("file", &self.file)
            .field("database_type", &self.reader.metadata.database_type)
            .finish_non_exhaustive()
    }
}

impl IpLocator {
    /// Reads the database at `path`; an unreadable, oversized or malformed file is an error
    /// naming it.
    pub fn open(path: &Path) -> Result<IpLocator, FileError> {
        let name = path.display().to_string();
        let size = std::fs::metadata(path)
            .map_err(|e| FileError::new(&name, e.to_string()))?
            .len();
        if size > MAX_DB_BYTES {
            return Err(FileError::new(
                &name,
                format!("file is over {MAX_DB_BYTES} bytes"),
            ));
        }
        let bytes = std::fs::read(path).map_err(|e| FileError::new(&name, e.to_string()))?;
        IpLocator::from_bytes(&name, bytes)
    }

    /// A database from its bytes; `file` names it in errors.
    pub fn from_bytes(file: &str, bytes: Vec<u8>) -> Result<IpLocator, FileError> {
        let reader = maxminddb::Reader::from_source(bytes)
            .map_err(|e| FileError::new(file, format!("not a MaxMind DB file: {e}")))?;
        Ok(IpLocator {
            file: file.to_string(),
            reader,
        })
    }

    /// The file it was read from.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// Where `ip` is, when the database places it (a record without a location, an address it
    /// does not hold, or a record that cannot be decoded all give `None`: unknown, never a
    /// guess).
    pub fn locate(&self, ip: IpAddr) -> Option<GeoPoint> {
        let record: Record = self.reader.lookup(ip).ok()?.decode().ok()??;
        let location = record.location?;
        let at = GeoPoint {
            lat: location.latitude?,
            lon: location.longitude?,
        };
        crate::geo::validate("location", at).ok().map(|()| at)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use mmdb_writer::Writer;
    use mmdb_writer::ipnet::IpNet;

    /// A City-style database placing `network` at (`lat`, `lon`), and 198.51.100.0/24 with a
    /// record that has no location.
    pub(crate) fn database(network: &str, lat: f64, lon: f64) -> Vec<u8> {
        let mut writer = Writer::new("Test-City");
        let net: IpNet = network.parse().expect("network");
        writer
            .insert(
                net,
                &serde_json::json!({"location": {"latitude": lat, "longitude": lon}}),
            )
            .expect("insert");
        let other: IpNet = "198.51.100.0/24".parse().expect("network");
        writer
            .insert(other, &serde_json::json!({"country": {"iso_code": "FR"}}))
            .expect("insert");
        writer.to_bytes().expect("bytes")
    }

    #[test]
    fn places_addresses_it_holds_and_only_those() {
        let locator = IpLocator::from_bytes("test.mmdb", database("192.0.2.0/24", -33.87, 151.21))
            .expect("database");
        let at = locator
            .locate("192.0.2.77".parse().expect("ip"))
            .expect("placed");
        assert_eq!((at.lat, at.lon), (-33.87, 151.21));
        assert_eq!(locator.locate("198.51.100.1".parse().expect("ip")), None);
        assert_eq!(locator.locate("203.0.113.1".parse().expect("ip")), None);
        assert_eq!(locator.locate("2001:db8::1".parse().expect("ip")), None);
    }

    #[test]
    fn files_are_read_and_bad_ones_named() {
        let dir = tempfile::tempdir().expect("dir");
        let good = dir.path().join("city.mmdb");
        std::fs::write(&good, database("192.0.2.0/24", 1.0, 2.0)).expect("write");
        let locator = IpLocator::open(&good).expect("open");
        assert!(locator.locate("192.0.2.1".parse().expect("ip")).is_some());
        let bad = dir.path().join("bad.mmdb");
        std::fs::write(&bad, b"not a database").expect("write");
        let e = IpLocator::open(&bad).expect_err("not a database");
        assert!(e.to_string().contains("bad.mmdb"), "{e}");
        assert!(e.to_string().contains("MaxMind DB"), "{e}");
        let e = IpLocator::open(&dir.path().join("absent.mmdb")).expect_err("absent");
        assert!(e.to_string().contains("absent.mmdb"), "{e}");
    }
}
