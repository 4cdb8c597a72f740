//! Query-string parameters, parsed one by one so that every error names the parameter, and
//! unknown parameters are refused rather than silently ignored.

use std::collections::HashMap;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use ensuresec_model::{EntityKey, EntityKind};

use crate::error::ApiError;

/// The largest id, and the largest cursor, a request may give: the store keeps ids as SQLite
/// integers (signed, 64 bits), so none is above it, and a larger value is a mistake to name
/// rather than a search that finds nothing.
pub(crate) const MAX_ID: u64 = i64::MAX.unsigned_abs();

/// `raw` as the id of parameter `param` (a path segment or a query value): a 400 naming it when
/// `raw` is not a number from 0 to [`MAX_ID`]; `what` says what the id is of ("an incident id").
pub(crate) fn id(param: &str, raw: &str, what: &str) -> Result<u64, ApiError> {
    match raw.parse::<u64>() {
        Ok(id) if id <= MAX_ID => Ok(id),
        Ok(_) => Err(bad(
            param,
            format!("`{raw}` is above {MAX_ID}, the largest id"),
        )),
        Err(_) => Err(bad(param, format!("`{raw}` is not {what}"))),
    }
}

/// The parameters of one request.
pub(crate) struct Params {
    values: HashMap<String, String>,
}

fn bad(param: &str, message: impl Into<String>) -> ApiError {
    ApiError::BadParam {
        param: param.to_string(),
        message: message.into(),
    }
}

impl Params {
    /// Parses a raw query string, refusing parameters not in `allowed` and repeated ones.
    pub(crate) fn parse(raw: Option<&str>, allowed: &[&str]) -> Result<Params, ApiError> {
        let mut values = HashMap::new();
        for pair in raw.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let key = decode(k).map_err(|m| bad(k, m))?;
            let value = decode(v).map_err(|m| bad(&key, m))?;
            if !allowed.contains(&key.as_str()) {
                return Err(bad(
                    &key,
                    format!("unknown parameter; known: {}", allowed.join(", ")),
                ));
            }
            if values.insert(key.clone(), value).is_some() {
                return Err(bad(&key, "given twice"));
            }
        }
        Ok(Params { values })
    }

    pub(crate) fn text(&self, name: &str) -> Option<String> {
        self.values.get(name).cloned()
    }

    pub(crate) fn parsed<T: FromStr>(&self, name: &str) -> Result<Option<T>, ApiError>
    where
        T::Err: std::fmt::Display,
    {
        self.values
            .get(name)
            .map(|v| v.parse::<T>().map_err(|e| bad(name, e.to_string())))
            .transpose()
    }

    /// Parameter `name` as an id or cursor (see [`id`]), when given.
    pub(crate) fn id(&self, name: &str, what: &str) -> Result<Option<u64>, ApiError> {
        self.values.get(name).map(|v| id(name, v, what)).transpose()
    }

    pub(crate) fn time(&self, name: &str) -> Result<Option<DateTime<Utc>>, ApiError> {
        self.values
            .get(name)
            .map(|v| {
                DateTime::parse_from_rfc3339(v)
                    .map(|t| t.with_timezone(&Utc))
                    .map_err(|e| bad(name, format!("`{v}` is not an RFC 3339 time: {e}")))
            })
            .transpose()
    }

    /// `kind:value`, e.g. `ip:203.0.113.7`.
    pub(crate) fn entity(&self, name: &str) -> Result<Option<EntityKey>, ApiError> {
        self.values
            .get(name)
            .map(|v| {
                let (kind, value) = v
                    .split_once(':')
                    .ok_or_else(|| bad(name, "expected `kind:value`, e.g. `ip:203.0.113.7`"))?;
                let kind: EntityKind = kind.parse().map_err(|e: String| bad(name, e))?;
                Ok(EntityKey::new(kind, value))
            })
            .transpose()
    }
}

/// Percent-decoding of one query component (`+` is a space).
fn decode(text: &str) -> Result<String, String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or("bad percent-encoding")?;
                out.push(hex);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| "not UTF-8 after decoding".to_string())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn field(e: ApiError) -> (String, String) {
        match e {
            ApiError::BadParam { param, message } => (param, message),
            other => panic!("not a parameter error: {other:?}"),
        }
    }

    #[test]
    fn an_id_is_a_number_up_to_the_largest_the_store_holds() {
        assert_eq!(id("id", "0", "an incident id").unwrap(), 0);
        assert_eq!(
            id("id", "9223372036854775807", "an incident id").unwrap(),
            MAX_ID
        );
        let (param, message) =
            field(id("id", "9223372036854775808", "an incident id").unwrap_err());
        assert_eq!(param, "id");
        assert!(message.contains("the largest id"), "{message}");
        let (param, message) = field(id("before", "-1", "a cursor").unwrap_err());
        assert_eq!(param, "before");
        assert!(message.contains("is not a cursor"), "{message}");
        let p = Params::parse(Some("incident=18446744073709551616"), &["incident"]).unwrap();
        assert_eq!(
            field(p.id("incident", "an incident id").unwrap_err()).0,
            "incident"
        );
        let p = Params::parse(Some("incident=7"), &["incident"]).unwrap();
        assert_eq!(p.id("incident", "an incident id").unwrap(), Some(7));
        assert_eq!(p.id("before", "a cursor").unwrap(), None);
    }
}
