//! Query-string parameters, parsed one by one so that every error names the parameter, and
//! unknown parameters are refused rather than silently ignored.

use std::collections::HashMap;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use ensuresec_model::{EntityKey, EntityKind};

use crate::error::ApiError;

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
